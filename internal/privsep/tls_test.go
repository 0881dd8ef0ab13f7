package privsep

import (
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"testing"

	"tandem/internal/config"
	"tandem/internal/tlsconf"
)

// TestReplayDirectoriesAndMissingFiles: a `crt DIR` listing recorded by the helper is
// replayed (over the wire's JSON too), a file that did not exist replays as
// fs.ErrNotExist with its text, and nothing unrecorded is listed.
func TestReplayDirectoriesAndMissingFiles(t *testing.T) {
	real := Sources{
		ReadFile: func(p string) ([]byte, error) {
			if p == "certs/a.pem" {
				return []byte("pem"), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		ReadDir: func(p string) ([]tlsconf.DirEntry, error) {
			if p == "certs" {
				return []tlsconf.DirEntry{{Name: "a.pem"}, {Name: "sub", IsDir: true}}, nil
			}
			return nil, errors.New("not a directory")
		},
	}
	load := func(src Sources) (*config.Config, error) {
		if _, err := src.ReadDir("certs"); err != nil {
			return nil, err
		}
		src.ReadDir("other")
		src.ReadFile("certs/a.pem")
		src.ReadFile("certs/a.pem.key")
		return &config.Config{}, nil
	}
	_, b, err := Record(load, real)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got Bundle
	if err := json.Unmarshal(wire, &got); err != nil {
		t.Fatal(err)
	}
	rp := got.Replay()
	ents, err := rp.ReadDir("certs")
	if err != nil || !slices.Equal(ents, []tlsconf.DirEntry{{Name: "a.pem"}, {Name: "sub", IsDir: true}}) {
		t.Errorf("ReadDir(certs) = %v, %v", ents, err)
	}
	if _, err := rp.ReadDir("other"); err == nil || err.Error() != "not a directory" {
		t.Errorf("ReadDir(other) = %v", err)
	}
	if _, err := rp.ReadDir("/etc"); err == nil {
		t.Error("replay listed a directory the load never listed")
	}
	_, err = rp.ReadFile("certs/a.pem.key")
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "open certs/a.pem.key: file does not exist" {
		t.Errorf("missing file replays as %v", err)
	}
}
