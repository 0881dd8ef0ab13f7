// Package httpproxy: TEMPORARY STUB until the HTTP engine lands. Delete on merge.
package httpproxy

import (
	"log/slog"
	"net"

	"tandem/internal/backend"
	"tandem/internal/config"
)

type Route struct {
	Frontend *config.Frontend
	Backends map[string]*backend.Pool
	Default  *backend.Pool
	Global   *config.Global
}

type Handler struct{}

func NewHandler(r *Route, log *slog.Logger) *Handler { return &Handler{} }
func (h *Handler) Swap(r *Route)                     {}
func (h *Handler) ServeConn(c net.Conn)              { c.Close() }
func (h *Handler) Drain()                            {}
func (h *Handler) Close()                            {}
func (h *Handler) Active() int                       { return 0 }
