package tlsconf

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"tandem/internal/certgen"
)

func keyLines(sizes ...int) []string {
	var out []string
	for _, n := range sizes {
		k := make([]byte, n)
		rand.Read(k)
		out = append(out, base64.StdEncoding.EncodeToString(k))
	}
	return out
}

func TestParseTicketKeys(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		wantErr string
	}{
		{"three aes256 keys", keyLines(80, 80, 80), ""},
		{"three aes128 keys and blank lines", append(keyLines(48, 48), "", keyLines(48)[0], ""), ""},
		{"two keys", keyLines(80, 80), "k: please supply at least 3 keys in the tls-tickets-file"},
		{"mixed sizes", keyLines(48, 80, 80), "k: wrong sized key on line 2"},
		{"bad size first", keyLines(32, 32, 32), "k: wrong sized key on line 1"},
		{"not base64", []string{"bad!!"}, "k: unable to decode base64 key on line 1"},
	}
	for _, tt := range tests {
		keys, err := ParseTicketKeys("k", []byte(strings.Join(tt.lines, "\n")))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(keys) != 3 {
			t.Errorf("%s: %d keys, %v", tt.name, len(keys), err)
		}
	}
	// The penultimate key encrypts: appending a key (rotation) makes the old
	// penultimate one a decrypting key, still there.
	lines := keyLines(80, 80, 80)
	before, _ := ParseTicketKeys("k", []byte(strings.Join(lines, "\n")))
	after, _ := ParseTicketKeys("k", []byte(strings.Join(append(lines, keyLines(80)...), "\n")))
	if after[0] != before[1] || after[2] != before[0] {
		t.Errorf("rotation: the old encrypting key is not the new first decrypting one")
	}
}

// TestTicketKeysShared: two nodes with the same tls-ticket-keys resume each other's
// sessions (a failover keeps TLS sessions); nodes with keys of their own do not; and
// after a rotation (a key appended), sessions of before still resume.
func TestTicketKeysShared(t *testing.T) {
	a := entry(t, gen(t, "tk", certgen.ECDSA, "t.test"))
	set, _ := Resolve(CAs{})
	lines := keyLines(80, 80, 80)
	keys, err := ParseTicketKeys("k", []byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		master := NewLive(&Bind{Entries: []*Entry{a}, Settings: set, TicketKeys: keys})
		backup := NewLive(&Bind{Entries: []*Entry{a}, Settings: set, TicketKeys: keys})
		stranger := NewLive(&Bind{Entries: []*Entry{a}, Settings: set})
		client := func() *tls.Config {
			return &tls.Config{ServerName: "t.test", InsecureSkipVerify: true, MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(2)}
		}
		c := client()
		if r, err := handshake(master, c); err != nil || r {
			t.Fatalf("first: %v %v", r, err)
		}
		if r, _ := handshake(backup, c); !r {
			t.Errorf("version %x: a session of the master did not resume on the backup", version)
		}
		c = client()
		handshake(master, c)
		if r, _ := handshake(stranger, c); r {
			t.Errorf("version %x: resumed on a node with other keys", version)
		}
		c = client()
		handshake(master, c)
		rotated, _ := ParseTicketKeys("k", []byte(strings.Join(append(lines, keyLines(80)...), "\n")))
		backup.Swap(&Bind{Entries: []*Entry{a}, Settings: set, TicketKeys: rotated})
		if r, _ := handshake(backup, c); !r {
			t.Errorf("version %x: a session of before the rotation did not resume", version)
		}
	}
}

func FuzzParseTicketKeys(f *testing.F) {
	f.Add([]byte(strings.Join(keyLines(80, 80, 80), "\n")))
	f.Add([]byte("a\nb\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if keys, err := ParseTicketKeys("f", b); err == nil && len(keys) != 3 {
			t.Fatalf("%d keys", len(keys))
		}
	})
}

func TestCheckDHParams(t *testing.T) {
	good, _ := asn1.Marshal(struct{ P, G *big.Int }{big.NewInt(23), big.NewInt(5)})
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"dh parameters", pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: good}), true},
		{"after other blocks", append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: good})...), true},
		{"x9.42 parameters", pem.EncodeToMemory(&pem.Block{Type: "X9.42 DH PARAMETERS", Bytes: good}), false},
		{"garbage in the block", pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: []byte{1, 2, 3}}), false},
		{"no pem", []byte("not a pem\n"), false},
	}
	for _, tt := range tests {
		if err := CheckDHParams(tt.data); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func FuzzCheckDHParams(f *testing.F) {
	good, _ := asn1.Marshal(struct{ P, G *big.Int }{big.NewInt(23), big.NewInt(5)})
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: good}))
	f.Fuzz(func(t *testing.T, b []byte) { CheckDHParams(b) })
}
