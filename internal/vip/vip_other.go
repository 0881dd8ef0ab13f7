//go:build !linux

package vip

import "errors"

// Manager is only implemented on Linux.
type Manager struct{}

// New fails outside Linux.
func New() (*Manager, error) {
	return nil, errors.New("vip: managing addresses is implemented on Linux only")
}

// Close does nothing outside Linux.
func (*Manager) Close() {}

// Set fails outside Linux.
func (*Manager) Set(managed, desired []Addr) error {
	return errors.New("vip: managing addresses is implemented on Linux only")
}
