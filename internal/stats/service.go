package stats

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/proxystats"
)

// Service serves what a frontend answers itself: its stats page (stats enable/uri)
// and its Prometheus metrics (http-request use-service prometheus-exporter). It
// implements httpproxy.Service: the data path hands it a connection once a request
// matches.
type Service struct {
	src     *Source
	fe      *config.Frontend
	counter *proxystats.Frontend
	uri     []byte // stats prefix, nil: no stats page
	metrics []byte // metrics path, nil: none
	// metricsH serves the metrics for requests a use-service rule hands over
	// (ServeMetricsConn), nil: the frontend has no such rule
	metricsH http.Handler
	srv      *http.Server
}

type keepKey struct{}

// connKey finds the handed connection of a request (ServeMetricsConn).
type connKey struct{}

// NewService returns the service of frontend fe. metrics serves fe.MetricsPath (nil: no
// metrics); counter, when set, counts the requests answered.
func NewService(src *Source, fe *config.Frontend, metrics http.Handler, counter *proxystats.Frontend) *Service {
	s := &Service{src: src, fe: fe, counter: counter}
	mux := http.NewServeMux()
	if fe.Stats != nil {
		s.uri = []byte(fe.Stats.URI)
	}
	if fe.MetricsPath != "" && metrics != nil {
		s.metrics = []byte(fe.MetricsPath)
	}
	if fe.MetricsRule {
		s.metricsH = metrics
	}
	idle := fe.Timeouts.HTTPKeepAlive
	if idle <= 0 {
		idle = fe.Timeouts.Client
	}
	if idle <= 0 {
		idle = 10 * time.Second
	}
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		if keep, _ := r.Context().Value(keepKey{}).(bool); !keep {
			rw.Header().Set("Connection", "close")
		}
		w := &recorder{ResponseWriter: rw}
		defer func() {
			if w.code == 0 {
				w.code = http.StatusOK
			}
			s.counter.Response(w.code)
			s.counter.Bytes(0, w.n)
		}()
		s.counter.Intercepted()
		hc, _ := r.Context().Value(connKey{}).(*handedConn)
		switch {
		case hc != nil && hc.metricsFirst && s.metricsH != nil:
			// The request a use-service prometheus-exporter rule handed over.
			hc.metricsFirst = false
			s.metricsH.ServeHTTP(w, r)
		case s.metrics != nil && r.URL.Path == string(s.metrics):
			metrics.ServeHTTP(w, r)
		case s.uri != nil && strings.HasPrefix(r.URL.RequestURI(), string(s.uri)):
			s.serveStats(w, r)
		default:
			// A later request on a connection handed over, for a frontend without a
			// backend: as HAProxy, no server is available for it.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n")
		}
	})
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idle,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if hc, ok := c.(*handedConn); ok {
				return context.WithValue(context.WithValue(ctx, keepKey{}, hc.keep), connKey{}, hc)
			}
			return ctx
		},
		ErrorLog: nil,
	}
	return s
}

// recorder notes a response's status and size for the frontend's counters.
type recorder struct {
	http.ResponseWriter
	code int
	n    int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

// Match reports whether target is for the stats page or the metrics path. It does not
// allocate.
func (s *Service) Match(target []byte) bool {
	if s.metrics != nil {
		path := target
		if i := bytes.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if bytes.Equal(path, s.metrics) {
			return true
		}
	}
	return s.uri != nil && bytes.HasPrefix(target, s.uri)
}

// ServeConn serves c with net/http until c is done.
func (s *Service) ServeConn(c net.Conn, buffered []byte, keepAlive bool) {
	s.serve(c, buffered, keepAlive, false)
}

// ServeMetricsConn serves c as ServeConn, but answers its first request (the one an
// `http-request use-service prometheus-exporter` rule chose) with the metrics, whatever
// its path.
func (s *Service) ServeMetricsConn(c net.Conn, buffered []byte, keepAlive bool) {
	s.serve(c, buffered, keepAlive, true)
}

func (s *Service) serve(c net.Conn, buffered []byte, keepAlive, metricsFirst bool) {
	hc := &handedConn{Conn: c, buf: buffered, keep: keepAlive, done: make(chan struct{}), metricsFirst: metricsFirst}
	s.srv.Serve(&oneConnListener{c: hc})
	<-hc.done
}

// Handler returns the stats page as an http.Handler (tests, demo).
func (s *Service) Handler() http.Handler { return s.srv.Handler }

// handedConn is a client connection whose first bytes were already read.
type handedConn struct {
	net.Conn
	buf  []byte
	keep bool
	once sync.Once
	done chan struct{}
	// metricsFirst: the next request is answered with the metrics (one request at a
	// time on a connection: only the handler reads and writes it)
	metricsFirst bool
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *handedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// oneConnListener accepts one connection, then reports closed once it is done.
type oneConnListener struct {
	c    *handedConn
	used bool
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.used {
		l.used = true
		return l.c, nil
	}
	<-l.c.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.c.LocalAddr() }

// authorized checks HTTP basic credentials against `stats auth` lines, in constant time
// with respect to the secrets.
func authorized(r *http.Request, auth []string) bool {
	h := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	match := 0
	for _, a := range auth {
		match |= subtle.ConstantTimeCompare(raw, []byte(a))
	}
	return match == 1
}

func isLoopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// serveStats answers the stats page: HTML, or CSV with ;csv.
func (s *Service) serveStats(w http.ResponseWriter, r *http.Request) {
	st := s.fe.Stats
	if len(st.Auth) > 0 && !authorized(r, st.Auth) {
		realm := st.Realm
		if realm == "" {
			realm = "HAProxy Statistics"
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n")
		return
	}
	admin := st.Admin == "TRUE" || st.Admin == "LOCALHOST" && isLoopback(r.RemoteAddr)
	rest := strings.TrimPrefix(r.URL.RequestURI(), string(s.uri))
	o := pageOpts{st: st, uri: string(s.uri), refresh: st.Refresh > 0, admin: admin}
	csv := false
	for _, opt := range strings.Split(rest, ";")[1:] {
		opt, _, _ = strings.Cut(opt, "?")
		switch {
		case opt == "csv":
			csv = true
		case opt == "norefresh":
			o.refresh = false
		case opt == "up":
			o.upOnly = true
		case strings.HasPrefix(opt, "st="):
			o.actionSt = strings.TrimPrefix(opt, "st=")
		}
	}
	if r.Method == http.MethodPost {
		code := "DENY"
		if admin {
			code = s.adminAction(r)
		}
		w.Header().Set("Location", o.uri+";st="+code)
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	if o.refresh {
		w.Header().Set("Refresh", itoa(int(st.Refresh/time.Second)))
	}
	if csv {
		w.Header().Set("Content-Type", "text/plain")
		WriteCSV(w, s.src.Rows())
		return
	}
	w.Header().Set("Content-Type", "text/html")
	s.src.writeHTML(w, o)
}

// adminAction applies the page's form (b=backend, s=server..., action=...) and returns
// HAProxy's result code: DONE, PART, NONE, ERRP.
func (s *Service) adminAction(r *http.Request) string {
	if err := r.ParseForm(); err != nil {
		return "ERRP"
	}
	bk, action, servers := r.PostForm.Get("b"), r.PostForm.Get("action"), r.PostForm["s"]
	if inst := r.PostForm.Get("vrrp"); inst != "" && action == "switchover" {
		// tandem's VRRP section: hand a MASTER instance's addresses over
		if s.src.VRRPSwitchover == nil || s.src.VRRPSwitchover(inst) != nil {
			return "ERRP"
		}
		return "DONE"
	}
	if bk == "" || action == "" {
		return "ERRP"
	}
	if len(servers) == 0 {
		return "NONE"
	}
	done, failed := 0, 0
	for _, name := range servers {
		if err := s.src.Apply(bk, name, action); err != nil {
			failed++
		} else {
			done++
		}
	}
	switch {
	case failed == 0:
		return "DONE"
	case done > 0:
		return "PART"
	}
	return "ERRP"
}

// Errors of server lookups and actions; the runtime API turns them into HAProxy's texts.
var (
	ErrNoBackend = errors.New("no such backend")
	ErrNoServer  = errors.New("no such server")
	ErrNoHealth  = errors.New("health checks are not available for this server")
	ErrBadAction = errors.New("unknown action")
)

// Server finds server name of backend bk in the running configuration.
func (s *Source) Server(bk, name string) (*backend.Pool, *backend.Server, error) {
	pool := s.Pools()[bk]
	if pool == nil {
		return nil, nil, ErrNoBackend
	}
	for _, sv := range pool.Servers {
		if sv.Cfg.Name == name {
			return pool, sv, nil
		}
	}
	return pool, nil, ErrNoServer
}

// Apply carries out an admin action on a server: ready, drain, maint (and HAProxy's
// older names enable/disable), dhlth/ehlth (health checks off/on).
func (s *Source) Apply(bk, name, action string) error {
	_, sv, err := s.Server(bk, name)
	if err != nil {
		return err
	}
	switch action {
	case "ready", "enable":
		sv.SetAdmin(backend.AdminReady)
	case "drain":
		sv.SetAdmin(backend.AdminDrain)
	case "maint", "disable":
		sv.SetAdmin(backend.AdminMaint)
	case "dhlth", "ehlth":
		if s.SetHealth == nil {
			return ErrNoHealth
		}
		return s.SetHealth(bk, name, action == "ehlth")
	default:
		return ErrBadAction
	}
	return nil
}
