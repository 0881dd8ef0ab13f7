package haproxy

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"tandem/internal/config"
)

func TestKeywordTable(t *testing.T) {
	kws := Keywords()
	if len(kws) != len(registry) {
		t.Fatalf("Keywords() has %d entries, registry %d", len(kws), len(registry))
	}
	if !sort.SliceIsSorted(kws, func(i, j int) bool {
		return kws[i].Name < kws[j].Name || kws[i].Name == kws[j].Name && kws[i].Sections < kws[j].Sections
	}) {
		t.Errorf("Keywords() is not sorted")
	}
	statuses := map[Status]bool{StatusImplemented: true, StatusNoEffect: true}
	for _, e := range registry {
		if e.fn == nil || e.Doc == "" || e.Sections == 0 || !statuses[e.Status] {
			t.Errorf("incomplete entry %+v", e.Keyword)
		}
		// every entry is reachable from every section it claims
		for _, sn := range sectionNames {
			if e.Sections&sn.s == 0 {
				continue
			}
			got, _, _ := lookup(sn.s, strings.Fields(e.Name))
			if got == nil || got.Name != e.Name || got.Sections&sn.s == 0 {
				t.Errorf("%q not found in section %s", e.Name, sn.name)
			}
		}
		// two entries of one name never share a section
		for _, o := range registry {
			if o.Name == e.Name && &o != &e && o.Sections&e.Sections != 0 && o.Sections != e.Sections {
				t.Errorf("%q has overlapping entries", e.Name)
			}
		}
	}
	for _, must := range []string{"maxconn", "bind", "server", "cookie", "timeout connect", "option httpchk", "stats socket", "errorfile"} {
		if allowedIn(must) == 0 {
			t.Errorf("keyword %q missing from the table", must)
		}
	}
}

func TestKeywordTableMarkdown(t *testing.T) {
	md := KeywordTableMarkdown()
	if md != KeywordTableMarkdown() {
		t.Fatal("KeywordTableMarkdown is not stable")
	}
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if lines[0] != "| keyword | arguments | sections | status | what it does |" || len(lines) != len(registry)+2 {
		t.Fatalf("table header or size: %q, %d lines", lines[0], len(lines))
	}
	if !strings.Contains(md, "| `timeout connect` | `<time>` | defaults, listen, backend | implemented | connecting to a server (default 5s, warns) |\n") {
		t.Errorf("timeout connect row missing:\n%s", md)
	}
	if !strings.Contains(md, "| `option httpchk` | `[<method>] [<uri>] [<version>]` | defaults, listen, backend | "+string(StatusImplemented)+" |") {
		t.Errorf("option httpchk row missing")
	}
}

func TestEditDistanceAndSuggestions(t *testing.T) {
	tests := []struct {
		sec        Section
		name, want string
	}{
		{SecBackend, "sever", "server"},
		{SecBackend, "default-servr", "default-server"},
		{SecFrontend, "default-backend", "default_backend"},
		{SecGlobal, "nbthreads", "nbthread"},
		{SecGlobal, "xx", ""},
		{SecBackend, "option redispach", "option redispatch"},
	}
	for _, tt := range tests {
		if got := suggest(tt.sec, tt.name); got != tt.want {
			t.Errorf("suggest(%v, %q) = %q, want %q", tt.sec, tt.name, got, tt.want)
		}
	}
}

// fuzzOptions never touches DNS or the file system.
func fuzzOptions() Options {
	return Options{
		Resolve: func(host string) ([]netip.Addr, error) {
			if host == "web1.example" {
				return []netip.Addr{netip.MustParseAddr("127.0.0.11")}, nil
			}
			return nil, errors.New("no such host")
		},
		LookupEnv: func(k string) (string, bool) {
			if k == "PORT" {
				return "8080", true
			}
			return "", false
		},
		ReadFile: func(path string) ([]byte, error) {
			if path == "503.http" {
				return []byte("HTTP/1.0 503 Service Unavailable\r\n\r\n"), nil
			}
			return nil, os.ErrNotExist
		},
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.cfg")
	compat, _ := filepath.Glob("testdata/compat/*.cfg")
	files = append(files, compat...)
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(base + "    server s1 127.0.0.1:80 wieght 3\n"))
	f.Add([]byte(base + "    default-server maxconn 250 maxqueue 256\n    server s1 127.0.0.1:80 maxqueue 3\n"))
	f.Add([]byte("global\n  pidfile \"${PORT}\" '$x' \\x41\\\n  log \"${A[*]}\" local0\n"))
	f.Add([]byte("defaults d\n mode http\nfrontend f from d\n bind :::80,*:81\n use_backend b\nbackend b\n errorfile 503 503.http\n server a web1.example:80 check\n"))
	f.Add([]byte("userlist L\n group G users u\n user u insecure-password p\nhttp-errors e\n errorfile 503 503.http\n" +
		"defaults d\n mode http\n http-request set-header X-D 1\nfrontend f from d\n bind :80\n monitor-uri /h\n monitor fail if { nbsrv(b) lt 1 }\n" +
		" http-request auth realm R unless { http_auth_group(L) G }\n http-request redirect scheme https code 301 if { path_beg /s }\n" +
		" http-response set-header X-S %[status]\n http-after-response del-header server\n errorfiles e\n errorloc303 403 /f\n" +
		" redirect prefix /p drop-query if { path /x }\n default_backend b\ndefaults p\n mode http\nbackend b\n http-request deny if { path /d }\n server a 127.0.0.1:80\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.cfg", data, fuzzOptions())
		if err != nil {
			var list config.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
			}
			for _, e := range list {
				if e.Pos.File != "f.cfg" || e.Pos.Line < 1 {
					t.Fatalf("error without a position: %q", e.Error())
				}
			}
			if cfg != nil {
				t.Fatal("config returned with errors")
			}
			return
		}
		for _, w := range cfg.Warnings {
			if w.Pos.File != "f.cfg" || w.Pos.Line < 1 {
				t.Fatalf("warning without a position: %q", w.Error())
			}
		}
		for _, fe := range cfg.Frontends {
			if len(fe.Binds) == 0 && !fe.Listen {
				t.Fatalf("frontend %q without bind accepted", fe.Name)
			}
			for _, ub := range fe.UseBackends {
				if ub.Backend == nil && ub.Name == nil {
					t.Fatalf("unlinked use_backend")
				}
			}
		}
		for _, b := range cfg.Backends {
			if b.FullConn < 1 {
				t.Fatalf("backend %q: fullconn %d", b.Name, b.FullConn)
			}
			for _, s := range b.Servers {
				if s.Weight < 0 || s.Weight > config.MaxWeight || !s.Addr.IsValid() || s.MaxConn < s.MinConn {
					t.Fatalf("bad server %+v", s)
				}
			}
		}
	})
}
