package clienthello

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// goHello returns the first flight of Go's TLS client with this configuration: one
// record holding the whole ClientHello.
func goHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		c := tls.Client(a, cfg)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Handshake() // fails once b closes
	}()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	out = append(append(out, hdr...), body...)
	return out
}

// resplit cuts the handshake message of one record into records of at most n bytes.
func resplit(rec []byte, n int) []byte {
	msg := rec[5:]
	var out []byte
	for len(msg) > 0 {
		k := min(n, len(msg))
		out = append(out, 22, rec[1], rec[2], byte(k>>8), byte(k))
		out = append(out, msg[:k]...)
		msg = msg[k:]
	}
	return out
}

func TestParseGoClientHello(t *testing.T) {
	tests := []struct {
		name     string
		cfg      *tls.Config
		sni      string
		alpn     []string
		maxVer   uint16
		versions bool
	}{
		{"sni and alpn, TLS 1.3", &tls.Config{ServerName: "WWW.Example.com", NextProtos: []string{"h2", "http/1.1"}}, "WWW.Example.com", []string{"h2", "http/1.1"}, tls.VersionTLS13, true},
		{"no sni (an address)", &tls.Config{ServerName: "127.0.0.1", InsecureSkipVerify: true}, "", nil, tls.VersionTLS13, true},
		{"TLS 1.2 only", &tls.Config{ServerName: "a.test", MaxVersion: tls.VersionTLS12}, "a.test", nil, tls.VersionTLS12, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := goHello(t, tt.cfg)
			for _, input := range [][]byte{rec, resplit(rec, 100), resplit(rec, 1), append(slices.Clip(rec), 23, 3, 3, 0, 1, 0)} {
				h, err := Parse(input)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if h.Type != TypeClientHello || h.SNI != tt.sni || h.HasSNI != (tt.sni != "") || !slices.Equal(h.ALPN, tt.alpn) {
					t.Errorf("got type %d sni %q (%v) alpn %q", h.Type, h.SNI, h.HasSNI, h.ALPN)
				}
				if got := h.MaxVersion(); got != tt.maxVer {
					t.Errorf("MaxVersion = %#x, want %#x", got, tt.maxVer)
				}
				if (len(h.SupportedVersions) > 0) != tt.versions {
					t.Errorf("supported_versions = %x", h.SupportedVersions)
				}
				if want := len(input); input[len(input)-6] == 23 {
					if h.Consumed != want-6 {
						t.Errorf("Consumed = %d, want %d (the records of the hello only)", h.Consumed, want-6)
					}
				} else if h.Consumed != want {
					t.Errorf("Consumed = %d, want %d", h.Consumed, want)
				}
			}
		})
	}
}

// Every proper prefix of a hello, however it is cut into records, needs more bytes.
func TestParsePrefixesNeedMore(t *testing.T) {
	rec := goHello(t, &tls.Config{ServerName: "split.test"})
	for _, input := range [][]byte{rec, resplit(rec, 300)} {
		for i := 0; i < len(input); i++ {
			if _, err := Parse(input[:i]); !errors.Is(err, ErrNeedMore) {
				t.Fatalf("prefix %d of %d: err %v, want ErrNeedMore", i, len(input), err)
			}
		}
		if _, err := Parse(input); err != nil {
			t.Fatalf("whole: %v", err)
		}
	}
}

func TestParseNotTLSAndMalformed(t *testing.T) {
	rec := goHello(t, &tls.Config{ServerName: "x.test"})
	bad := slices.Clone(rec)
	bad[5+4+2+32] = 0xff // session id length runs past the message
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"http request", []byte("GET / HTTP/1.1\r\n\r\n"), ErrNotTLS},
		{"one byte of http", []byte("G"), ErrNotTLS},
		{"ssh banner", []byte("SSH-2.0-x\r\n"), ErrNotTLS},
		{"alert record", []byte{21, 3, 3, 0, 2, 2, 40}, ErrNotTLS},
		{"bad record version", []byte{22, 9, 1, 0, 4, 1, 0, 0, 0}, ErrNotTLS},
		{"empty record", []byte{22, 3, 1, 0, 0}, ErrMalformed},
		{"bad session id length", bad, ErrMalformed},
		{"huge message length", []byte{22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff}, ErrMalformed},
		{"alert after first fragment", append(resplit(rec, 50)[:55], 21, 3, 3, 0, 2, 2, 40), ErrMalformed},
		{"nothing yet", nil, ErrNeedMore},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestParseServerHelloType(t *testing.T) {
	// A handshake record holding a server hello: req.ssl_hello_type is 2.
	msg := []byte{2, 0, 0, 2, 3, 3}
	in := append([]byte{22, 3, 3, 0, byte(len(msg))}, msg...)
	h, err := Parse(in)
	if err != nil || h.Type != TypeServerHello {
		t.Fatalf("got %+v, %v", h, err)
	}
}

func TestMaxVersionSkipsGrease(t *testing.T) {
	h := &Hello{Version: 0x0303, SupportedVersions: []uint16{0x7a7a, 0x0304, 0x0303}}
	if h.MaxVersion() != 0x0304 {
		t.Errorf("MaxVersion = %#x", h.MaxVersion())
	}
	h = &Hello{Version: 0x0301}
	if h.MaxVersion() != 0x0301 {
		t.Errorf("MaxVersion without the extension = %#x", h.MaxVersion())
	}
}

func FuzzParse(f *testing.F) {
	rec := goHello(f, &tls.Config{ServerName: "fuzz.test", NextProtos: []string{"h2"}})
	f.Add(rec)
	f.Add(resplit(rec, 7))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			if h != nil {
				t.Fatal("a hello with an error")
			}
			return
		}
		if h.Consumed > len(b) || h.Consumed < 9 {
			t.Fatalf("Consumed %d of %d", h.Consumed, len(b))
		}
		// More bytes after the hello change nothing.
		h2, err := Parse(append(slices.Clip(b), 0xff, 0xff))
		if err != nil || h2.SNI != h.SNI || h2.Consumed != h.Consumed {
			t.Fatalf("trailing bytes changed the result: %v", err)
		}
	})
}

// TestParseAllocations: req.ssl_sni and its kin parse the hello again at each rule that
// reads it, so a parse allocates only what it returns (the Hello, its strings and
// slices), not a copy of the message nor the readers it walks it with.
func TestParseAllocations(t *testing.T) {
	rec := goHello(t, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	n := testing.AllocsPerRun(200, func() {
		if h, err := Parse(rec); err != nil || h.SNI != "www.example.com" {
			t.Fatalf("Parse: %v %v", h, err)
		}
	})
	if n > 8 && !raceEnabled {
		t.Errorf("Parse allocates %v times per hello, want at most 8", n)
	}
}

func BenchmarkParse(b *testing.B) {
	rec := goHello(b, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse(rec)
	}
}

// helloWith builds a one-record ClientHello whose extensions are empty ones of types.
func helloWith(types ...uint16) []byte {
	var exts []byte
	for _, t := range types {
		exts = append(exts, byte(t>>8), byte(t), 0, 0)
	}
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)    // random
	body = append(body, 0, 0, 2, 0x13, 1, 1, 0) // session id, one suite, null compression
	body = append(body, byte(len(exts)>>8), byte(len(exts)))
	body = append(body, exts...)
	msg := append([]byte{TypeClientHello, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// TestDuplicateExtensions: an extension type sent twice makes the hello malformed (RFC
// 8446 §4.2), among the first extensions and among many.
func TestDuplicateExtensions(t *testing.T) {
	seq := func(n int) []uint16 {
		var out []uint16
		for i := 0; i < n; i++ {
			out = append(out, uint16(100+i))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		types []uint16
		ok    bool
	}{
		{"distinct", seq(5), true},
		{"forty distinct", seq(40), true},
		{"twice among the first", append(seq(5), 102), false},
		{"twice, both after the 32nd", append(seq(40), 135), false},
		{"an early one again after the 32nd", append(seq(40), 103), false},
	} {
		_, err := Parse(helloWith(tc.types...))
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
