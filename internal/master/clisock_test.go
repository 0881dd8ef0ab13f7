package master

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestListenCLI opens -S sockets: a unix path with its mode and owner, a stale socket
// file replaced, a live one refused, a TCP address on loopback, and the option errors.
func TestListenCLI(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.sock")
	ln, err := ListenCLI("unix@" + path + ",mode,600,user,0,group,0")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want a socket 0600", fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
		t.Errorf("owner %d:%d, want 0:0", st.Uid, st.Gid)
	}
	if _, err := ListenCLI(path); err == nil || !strings.Contains(err.Error(), "another process is listening") {
		t.Errorf("a second master on a live socket: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays: a stale socket
	ln, err = ListenCLI(path)
	if err != nil {
		t.Fatalf("a stale socket is not replaced: %v", err)
	}
	ln.Close()

	tcp, err := ListenCLI("ipv4@127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if a := tcp.Addr().(*net.TCPAddr); !a.IP.IsLoopback() || a.Port == 0 {
		t.Errorf("ipv4@127.0.0.1:0 listens on %v", a)
	}
	tcp.Close()

	for _, tc := range []struct{ spec, want string }{
		{path + ",mode", `option "mode" needs a value`},
		{path + ",mode,9", `mode "9"`},
		{path + ",level,admin", `unknown option "level"`},
		{path + ",user,no-such-user-tandem", `user "no-such-user-tandem"`},
		{path + ",group,no-such-group-tandem", `group "no-such-group-tandem"`},
	} {
		if ln, err := ListenCLI(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "-S "+tc.spec+": ") {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("ListenCLI(%q): %v, want -S SPEC: ...%s", tc.spec, err, tc.want)
		}
	}
}
