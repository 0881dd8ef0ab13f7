package runtimeapi

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/certgen"
	"tandem/internal/config"
	"tandem/internal/tlsconf"
)

// TestSetSSLCertPayload: a command line ending with "<<" takes the lines that follow,
// up to an empty line, as its payload (how `set ssl cert` receives a PEM over socat),
// and the ssl commands need their levels.
func TestSetSSLCertPayload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	_, src := serve(t, config.StatsSocket{Address: path, Level: "admin"})
	c0, err := certgen.New(certgen.Spec{CN: "old.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := certgen.New(certgen.Spec{CN: "new.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tlsconf.ParsePEM(nil, "/c.pem", c0.PEM())
	if err != nil {
		t.Fatal(err)
	}
	set, _ := tlsconf.Resolve(tlsconf.CAs{})
	live := tlsconf.NewLive(&tlsconf.Bind{Entries: []*tlsconf.Entry{{Cert: cert}}, Settings: set})
	src.Certs = &tlsconf.Registry{}
	src.Certs.Reset([]*tlsconf.Live{live})

	c := dial(t, "unix", path)
	io.WriteString(c, "set ssl cert /c.pem <<\n"+string(c1.PEM())+"\n")
	out, _ := io.ReadAll(c)
	if string(out) != "Transaction created for certificate /c.pem!\n\n" {
		t.Fatalf("set: %q", out)
	}
	if got := Do(src, LevelOperator, "commit ssl cert /c.pem"); got != "Permission denied\n\n" {
		t.Errorf("operator commit: %q", got)
	}
	if got := Do(src, LevelUser, "show ssl cert"); got != "Permission denied\n\n" {
		t.Errorf("user show: %q", got)
	}
	if got := Do(src, LevelOperator, "show ssl cert"); got != "# transaction\n*/c.pem\n# filename\n/c.pem\n\n" {
		t.Errorf("operator show: %q", got)
	}
	if got := Do(src, LevelAdmin, "commit ssl cert /c.pem"); got != "Committing /c.pem.\nSuccess!\n\n" {
		t.Errorf("commit: %q", got)
	}
	if got := live.Store().Entries()[0].Cert.TLS.Leaf.Subject.CommonName; got != "new.test" {
		t.Errorf("served after commit: %s", got)
	}
	if got := Do(src, LevelAdmin, "set ssl cert /c.pem <<\n"+string(c0.PEM())); !strings.HasPrefix(got, "Transaction created") {
		t.Errorf("Do with a payload: %q", got)
	}
}
