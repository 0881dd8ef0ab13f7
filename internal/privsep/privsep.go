// Package privsep lets tandem serve traffic chrooted and without root (global `chroot`,
// `user`, `group`) while reloads stay in process: a small helper process keeps root
// outside the chroot and does the two privileged things a reload needs, on request over
// a unix socket pair:
//
//   - load: read the configuration files (and the files they name, such as errorfiles
//     and certificates, and the directories of `crt DIR`) and resolve server host
//     names, returning exactly those bytes, listings and addresses, so the
//     unprivileged side parses the same configuration without touching the filesystem;
//   - bind: open a listening socket for an address the last load declared, passing the
//     descriptor back (SCM_RIGHTS), so new ports below 1024 still work after a reload.
//
// The helper answers nothing else: it never reads a path or binds an address that the
// configuration it loaded itself does not name.
//
// When tandem also runs VRRP (-k), the VRRP node lives in the helper too: it needs
// CAP_NET_ADMIN/CAP_NET_RAW for the VIPs and adverts, and notify scripts expect root
// and the real filesystem. The serving process drives it with four more requests:
//
//   - vrrp-start: load keepalived.conf (cross-checked against haproxy.cfg) and run it;
//   - vrrp-reload: reload keepalived.conf (SIGHUP or SIGUSR2), the running one stays on errors;
//   - vrrp-stop: masters send priority 0 and remove their VIPs (SIGTERM, before the drain);
//   - vrrp-status: the instances, for the stats page, `show vrrp` and the metrics.
//
// Errors come back as lines (one per configuration problem, "file:line: message").
//
// # Wire format
//
// Each message is one JSON object on one line. Requests carry an "id" that the answer
// echoes; a caller that gave up waiting (timeouts bound every VRRP request) skips the
// late answer by its id. A bind answer carries the listening descriptor (SCM_RIGHTS).
//
// With VRRP, a second socket pair carries upcalls the other way (helper → serving
// process), see Upcalls: "check" evaluates an in-process tracker (vrrp_script
// "tandem:backend NAME …") against the proxy's live state, and "vrrp-exit" says the
// VRRP node stopped (an error, or the helper was told to stop by a signal).
//
// # Failures
//
// If the serving process dies, the helper's socket closes: the helper stops VRRP as a
// SIGTERM would (priority-0 adverts, VIPs removed, the backup takes over at once) and
// exits; until then every tracker fails (the upcall cannot be answered), as a failing
// script does. With -k, if the helper dies, the serving process sees it exit and stops
// with an error rather than serve under a VIP that nobody manages. A helper told to stop
// (SIGTERM, SIGINT: systemd signals the whole group) stops VRRP, sends vrrp-exit
// without an error, and the serving process stops as on SIGTERM.
package privsep

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"tandem/internal/config"
	"tandem/internal/listener"
	"tandem/internal/stats"
	"tandem/internal/tlsconf"
)

// Sources is where a configuration load reads files and resolves host names.
type Sources struct {
	ReadFile func(path string) ([]byte, error)
	Resolve  func(host string) ([]netip.Addr, error)
	// ReadDir lists a directory (`crt DIR`); nil: none can be listed.
	ReadDir func(path string) ([]tlsconf.DirEntry, error)
}

// LoadFunc loads the configuration through src.
type LoadFunc func(src Sources) (*config.Config, error)

// Bundle is what one load read: every file's bytes and every host name's addresses.
type Bundle struct {
	Files map[string][]byte
	Hosts map[string][]netip.Addr
	// Errors of the files or names that failed, so a replay fails the same way.
	FileErrs map[string]string
	HostErrs map[string]string
	// Missing are the paths that did not exist (a replay says so as fs.ErrNotExist:
	// certificate loading tries companions and bundles then).
	Missing map[string]bool
	// Dirs are the directories listed (`crt DIR`), DirErrs those that could not be.
	Dirs    map[string][]tlsconf.DirEntry
	DirErrs map[string]string
}

// Record runs load against the real filesystem and resolver and returns what it read.
func Record(load LoadFunc, real Sources) (*config.Config, *Bundle, error) {
	b := &Bundle{Files: map[string][]byte{}, Hosts: map[string][]netip.Addr{}, FileErrs: map[string]string{}, HostErrs: map[string]string{},
		Missing: map[string]bool{}, Dirs: map[string][]tlsconf.DirEntry{}, DirErrs: map[string]string{}}
	var mu sync.Mutex
	cfg, err := load(Sources{
		ReadFile: func(p string) ([]byte, error) {
			data, err := real.ReadFile(p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				b.FileErrs[p] = err.Error()
				if errors.Is(err, fs.ErrNotExist) {
					b.Missing[p] = true
				}
			} else {
				b.Files[p] = data
			}
			return data, err
		},
		ReadDir: func(p string) ([]tlsconf.DirEntry, error) {
			if real.ReadDir == nil {
				return nil, fmt.Errorf("read directory %s: not supported", p)
			}
			ents, err := real.ReadDir(p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				b.DirErrs[p] = err.Error()
			} else {
				b.Dirs[p] = ents
			}
			return ents, err
		},
		Resolve: func(h string) ([]netip.Addr, error) {
			addrs, err := real.Resolve(h)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				b.HostErrs[h] = err.Error()
			} else {
				b.Hosts[h] = addrs
			}
			return addrs, err
		},
	})
	return cfg, b, err
}

// Replay returns Sources that answer from b only.
func (b *Bundle) Replay() Sources {
	return Sources{
		ReadFile: func(p string) ([]byte, error) {
			if d, ok := b.Files[p]; ok {
				return d, nil
			}
			if e, ok := b.FileErrs[p]; ok {
				if b.Missing[p] {
					return nil, notExist(e)
				}
				return nil, errors.New(e)
			}
			return nil, fmt.Errorf("open %s: not read by the privileged helper", p)
		},
		Resolve: func(h string) ([]netip.Addr, error) {
			if a, ok := b.Hosts[h]; ok {
				return a, nil
			}
			if e, ok := b.HostErrs[h]; ok {
				return nil, errors.New(e)
			}
			return nil, fmt.Errorf("lookup %s: not resolved by the privileged helper", h)
		},
		ReadDir: func(p string) ([]tlsconf.DirEntry, error) {
			if d, ok := b.Dirs[p]; ok {
				return d, nil
			}
			if e, ok := b.DirErrs[p]; ok {
				return nil, errors.New(e)
			}
			return nil, fmt.Errorf("read directory %s: not listed by the privileged helper", p)
		},
	}
}

// notExist is a recorded "no such file" error: its text, and fs.ErrNotExist for errors.Is.
type notExist string

func (e notExist) Error() string        { return string(e) }
func (e notExist) Is(target error) bool { return target == fs.ErrNotExist }

// request and response are the wire messages, one JSON line each.
type request struct {
	ID       uint64           `json:"id,omitempty"`
	Op       string           `json:"op"` // "load", "bind", "vrrp-start", "vrrp-reload", "vrrp-stop", "vrrp-status", "vrrp-switchover"
	Network  string           `json:"network,omitempty"`
	Addr     string           `json:"addr,omitempty"`
	Instance string           `json:"instance,omitempty"` // vrrp-switchover: "" every MASTER instance
	Sock     *config.BindSock `json:"sock,omitempty"`     // bind: fd@ and socket options
}

type response struct {
	ID     uint64               `json:"id,omitempty"`
	Err    string               `json:"err,omitempty"`
	Errs   config.ErrorList     `json:"errs,omitempty"` // vrrp-start, vrrp-reload: the configuration problems
	VRRP   []stats.VRRPInstance `json:"vrrp,omitempty"` // vrrp-status
	Bundle *Bundle              `json:"bundle,omitempty"`
	Warn   string               `json:"warn,omitempty"` // bind: bound with IP_FREEBIND
}

// Serve is the helper's side: it answers requests on conn until conn closes.
func Serve(conn *net.UnixConn, load LoadFunc, real Sources, bind func(listener.Key) (net.Listener, bool, error)) error {
	return ServeVRRP(conn, load, real, bind, nil)
}

// ServeVRRP is Serve that also answers the vrrp-* requests with v (nil: refused).
func ServeVRRP(conn *net.UnixConn, load LoadFunc, real Sources, bind func(listener.Key) (net.Listener, bool, error), v VRRPControl) error {
	r := bufio.NewReader(conn)
	var allowed map[listener.Key]bool
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil // the serving process went away
		}
		var req request
		var resp response
		var fd *os.File
		req, err = parseRequest(line)
		resp.ID = req.ID // a refused request is answered too: its caller waits for its id
		if err != nil {
			resp.Err = err.Error()
		} else {
			switch req.Op { // parseRequest let only known requests through
			case "load":
				cfg, b, err := Record(load, real)
				resp.Bundle = b
				if err == nil {
					allowed = bindsOf(cfg)
				}
			case "bind":
				fd, resp.Warn, resp.Err = serveBind(req, allowed, bind)
			default: // vrrp-*
				serveVRRP(req, v, &resp)
			}
		}
		out, _ := json.Marshal(resp)
		out = append(out, '\n')
		var oob []byte
		if fd != nil {
			oob = rights(int(fd.Fd()))
		}
		_, _, err = conn.WriteMsgUnix(out, oob, nil)
		if fd != nil {
			fd.Close()
		}
		if err != nil {
			return fmt.Errorf("privsep helper: writing answer: %w", err)
		}
	}
}

func bindsOf(cfg *config.Config) map[listener.Key]bool {
	m := map[listener.Key]bool{}
	for _, f := range cfg.Frontends {
		for _, b := range f.Binds {
			m[listener.KeyOf(b)] = true
		}
	}
	return m
}

func serveBind(req request, allowed map[listener.Key]bool, bind func(listener.Key) (net.Listener, bool, error)) (*os.File, string, string) {
	var ap netip.AddrPort
	if req.Addr != "" {
		var err error
		if ap, err = netip.ParseAddrPort(req.Addr); err != nil {
			return nil, "", "bad address: " + err.Error()
		}
	}
	k := listener.Key{Network: req.Network, Addr: ap}
	if req.Sock != nil {
		k.Sock = *req.Sock
	}
	if !allowed[k] {
		return nil, "", fmt.Sprintf("%s is not a bind address of the loaded configuration", k)
	}
	ln, freebind, err := bind(k)
	if err != nil {
		return nil, "", err.Error()
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", err.Error()
	}
	warn := ""
	if freebind {
		warn = "freebind"
	}
	return f, warn, ""
}

// Client is the serving side's handle on the helper.
type Client struct {
	sem  chan struct{} // one request on the wire at a time
	conn *net.UnixConn
	r    *msgReader
	next uint64 // last request id, under sem
	// statusTimeout bounds VRRPStatus (vrrpStatusTimeout; tests shorten it).
	statusTimeout time.Duration
}

// NewClient talks to a helper over conn.
func NewClient(conn *net.UnixConn) *Client {
	return &Client{sem: make(chan struct{}, 1), conn: conn, r: &msgReader{conn: conn}, statusTimeout: vrrpStatusTimeout}
}

// call sends req and waits for its answer, until ctx ends. Answers to earlier requests
// whose callers gave up are skipped (and their descriptors closed).
func (c *Client) call(ctx context.Context, req request) (response, []int, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return response{}, nil, fmt.Errorf("privileged helper: %s: %w", req.Op, ctx.Err())
	}
	defer func() { <-c.sem }()
	c.next++
	req.ID = c.next
	dl, _ := ctx.Deadline() // zero: no deadline
	c.conn.SetDeadline(dl)
	defer c.conn.SetDeadline(time.Time{})
	out, _ := json.Marshal(req)
	if _, err := c.conn.Write(append(out, '\n')); err != nil {
		return response{}, nil, fmt.Errorf("privileged helper: %s: %w", req.Op, err)
	}
	for {
		line, fds, err := c.r.readLine()
		if err != nil {
			return response{}, nil, fmt.Errorf("privileged helper: %s: %w", req.Op, err)
		}
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			for _, fd := range fds {
				closeFD(fd)
			}
			return response{}, nil, fmt.Errorf("privileged helper: bad answer: %w", err)
		}
		if resp.ID != req.ID {
			for _, fd := range fds {
				closeFD(fd)
			}
			continue
		}
		return resp, fds, nil
	}
}

// Load asks the helper to read the configuration and returns what it read.
func (c *Client) Load() (*Bundle, error) {
	resp, fds, err := c.call(context.Background(), request{Op: "load"})
	for _, fd := range fds { // a load answer carries none
		closeFD(fd)
	}
	if err != nil {
		return nil, err
	}
	if resp.Err != "" {
		return nil, errors.New(resp.Err)
	}
	if resp.Bundle == nil {
		return nil, errors.New("privileged helper: empty answer to load")
	}
	return resp.Bundle, nil
}

// Listen asks the helper to bind k and returns the listener; freebind reports that the
// address was not local and was bound with IP_FREEBIND.
func (c *Client) Listen(k listener.Key) (ln net.Listener, freebind bool, err error) {
	resp, fds, err := c.call(context.Background(), bindRequest(k))
	if err != nil {
		return nil, false, err
	}
	if resp.Err != "" {
		for _, fd := range fds {
			closeFD(fd)
		}
		return nil, false, errors.New(resp.Err)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			closeFD(fd)
		}
		return nil, false, fmt.Errorf("privileged helper: bind answer carried %d descriptors, want 1", len(fds))
	}
	f := os.NewFile(uintptr(fds[0]), "listener "+k.String())
	defer f.Close()
	ln, err = net.FileListener(f)
	return ln, resp.Warn == "freebind", err
}

// bindRequest asks the helper for k's socket.
func bindRequest(k listener.Key) request {
	r := request{Op: "bind", Network: k.Network}
	if k.Addr.IsValid() {
		r.Addr = k.Addr.String()
	}
	if k.Sock != (config.BindSock{}) {
		s := k.Sock
		r.Sock = &s
	}
	return r
}
