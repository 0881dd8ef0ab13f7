package keepalived

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks the parser never panics or hangs, and that whatever it accepts
// has a position on every instance.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.conf"))
	more, _ := filepath.Glob(filepath.Join("testdata", "inc", "conf.d", "*.conf"))
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("vrrp_instance a { interface e\nvirtual_router_id 1\nvirtual_ipaddress { 1.2.3.4/8 }}\n"))
	f.Add([]byte("}}}{{{\n\"\ninclude x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parse("f.conf", data, memSource{"x": "include x\n"})
		if err != nil {
			return
		}
		for _, in := range v.Instances {
			if in.Pos.Line == 0 || in.Pos.File == "" {
				t.Errorf("instance %q without position", in.Name)
			}
			if in.Version != 2 && in.Version != 3 {
				t.Errorf("instance %q version %d", in.Name, in.Version)
			}
		}
	})
}
