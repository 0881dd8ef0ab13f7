package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestBindInheritedFD is `bind fd@3`: the test opens the listening socket and passes it
// to tandem as its descriptor 3 (as a parent process or systemd's LISTEN_FDS would), run
// directly and as a master-worker (the master holds it, the worker serves it).
func TestBindInheritedFD(t *testing.T) {
	for _, mode := range [][]string{nil, {"-W"}} {
		t.Run(map[bool]string{true: "master-worker", false: "plain"}[mode != nil], func(t *testing.T) {
			web := startWeb(t, "web1")
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			f, err := ln.(*net.TCPListener).File()
			ln.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
			os.WriteFile(cfg, []byte(proxyConfig("fd@3", "server web1 "+web.addr)), 0o644)
			cmd := exec.Command(tandemBin, append(mode, "-f", cfg)...)
			cmd.ExtraFiles = []*os.File{f}
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			f.Close() // only tandem holds the socket now
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(15 * time.Second):
					cmd.Process.Kill()
					t.Errorf("tandem did not stop\n%s", out)
				}
			}()
			// The socket listens from the start: the first request may wait for tandem
			// in the accept queue, but is never refused.
			code, got := body(t, client(false), "http://"+addr+"/")
			if code != 200 || got != "web1" {
				t.Fatalf("through fd@3: %d %q\n%s", code, got, out)
			}
		})
	}
}

// TestBindUnixSocketServesHTTP: `bind /path mode 600` serves HTTP over a unix socket,
// plain and as a master-worker (the master makes the socket, the worker serves it).
func TestBindUnixSocketServesHTTP(t *testing.T) {
	for _, mode := range [][]string{nil, {"-W"}} {
		t.Run(map[bool]string{true: "master-worker", false: "plain"}[mode != nil], func(t *testing.T) {
			web := startWeb(t, "web1")
			sock := filepath.Join(t.TempDir(), "web.sock")
			probe := freeAddr(t) // a TCP frontend too, to know when tandem serves
			cfg := proxyConfig(sock+" mode 600", "server web1 "+web.addr) + "frontend probe\n    bind " + probe + "\n    default_backend app\n"
			startTandem(t, cfg, probe, mode...)
			fi, err := os.Stat(sock)
			if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v %v, want a socket with mode 0600", sock, fi, err)
			}
			c := client(true)
			c.Transport.(*http.Transport).DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}
			for i := 0; i < 3; i++ { // keep-alive on the unix connection
				code, got := body(t, c, "http://tandem/")
				if code != 200 || got != "web1" {
					t.Fatalf("over the unix socket: %d %q", code, got)
				}
			}
		})
	}
}
