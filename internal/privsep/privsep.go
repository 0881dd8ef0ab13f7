// Package privsep lets tandem serve traffic chrooted and without root (global `chroot`,
// `user`, `group`) while reloads stay in process: a small helper process keeps root
// outside the chroot and does the two privileged things a reload needs, on request over
// a unix socket pair:
//
//   - load: read the configuration files (and the files they name, such as errorfiles)
//     and resolve server host names, returning exactly those bytes and addresses, so the
//     unprivileged side parses the same configuration without touching the filesystem;
//   - bind: open a listening socket for an address the last load declared, passing the
//     descriptor back (SCM_RIGHTS), so new ports below 1024 still work after a reload.
//
// The helper answers nothing else: it never reads a path or binds an address that the
// configuration it loaded itself does not name.
package privsep

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"

	"tandem/internal/config"
	"tandem/internal/listener"
)

// Sources is where a configuration load reads files and resolves host names.
type Sources struct {
	ReadFile func(path string) ([]byte, error)
	Resolve  func(host string) ([]netip.Addr, error)
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
}

// Record runs load against the real filesystem and resolver and returns what it read.
func Record(load LoadFunc, real Sources) (*config.Config, *Bundle, error) {
	b := &Bundle{Files: map[string][]byte{}, Hosts: map[string][]netip.Addr{}, FileErrs: map[string]string{}, HostErrs: map[string]string{}}
	var mu sync.Mutex
	cfg, err := load(Sources{
		ReadFile: func(p string) ([]byte, error) {
			data, err := real.ReadFile(p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				b.FileErrs[p] = err.Error()
			} else {
				b.Files[p] = data
			}
			return data, err
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
	}
}

// request and response are the wire messages, one JSON line each.
type request struct {
	Op      string `json:"op"` // "load" or "bind"
	Network string `json:"network,omitempty"`
	Addr    string `json:"addr,omitempty"`
}

type response struct {
	Err    string  `json:"err,omitempty"`
	Bundle *Bundle `json:"bundle,omitempty"`
	Warn   string  `json:"warn,omitempty"` // bind: bound with IP_FREEBIND
}

// Serve is the helper's side: it answers requests on conn until conn closes.
func Serve(conn *net.UnixConn, load LoadFunc, real Sources, bind func(listener.Key) (net.Listener, bool, error)) error {
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
		if err := json.Unmarshal(line, &req); err != nil {
			resp.Err = "bad request: " + err.Error()
		} else {
			switch req.Op {
			case "load":
				cfg, b, err := Record(load, real)
				resp.Bundle = b
				if err == nil {
					allowed = bindsOf(cfg)
				}
			case "bind":
				fd, resp.Warn, resp.Err = serveBind(req, allowed, bind)
			default:
				resp.Err = fmt.Sprintf("unknown request %q", req.Op)
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
	ap, err := netip.ParseAddrPort(req.Addr)
	if err != nil {
		return nil, "", "bad address: " + err.Error()
	}
	k := listener.Key{Network: req.Network, Addr: ap}
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
	mu   sync.Mutex
	conn *net.UnixConn
	r    *msgReader
}

// NewClient talks to a helper over conn.
func NewClient(conn *net.UnixConn) *Client {
	return &Client{conn: conn, r: &msgReader{conn: conn}}
}

func (c *Client) call(req request) (response, []int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, _ := json.Marshal(req)
	if _, err := c.conn.Write(append(out, '\n')); err != nil {
		return response{}, nil, fmt.Errorf("privileged helper: %w", err)
	}
	line, fds, err := c.r.readLine()
	if err != nil {
		return response{}, nil, fmt.Errorf("privileged helper: %w", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fds, fmt.Errorf("privileged helper: bad answer: %w", err)
	}
	return resp, fds, nil
}

// Load asks the helper to read the configuration and returns what it read.
func (c *Client) Load() (*Bundle, error) {
	resp, _, err := c.call(request{Op: "load"})
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
	resp, fds, err := c.call(request{Op: "bind", Network: k.Network, Addr: k.Addr.String()})
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
		return nil, false, fmt.Errorf("privileged helper: bind answer carried %d descriptors, want 1", len(fds))
	}
	f := os.NewFile(uintptr(fds[0]), "listener "+k.String())
	defer f.Close()
	ln, err = net.FileListener(f)
	return ln, resp.Warn == "freebind", err
}
