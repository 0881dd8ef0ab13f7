package httpproxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"tandem/internal/config"
)

// cookieServer answers its name and the Cookie header it received.
func cookieServer(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s", name, r.Header.Get("Cookie"))
	}
}

// TestCookieInsertIndirectNocache is seed 003's `cookie SERVERUSED insert indirect nocache`.
func TestCookieInsertIndirectNocache(t *testing.T) {
	cacheable := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Last-Modified", "Thu, 01 Dec 2020 16:00:00 GMT")
			h(w, r)
		}
	}
	a1, _ := httpServer(t, cacheable(cookieServer("web1")))
	a2, _ := httpServer(t, cacheable(cookieServer("web2")))
	be := newBackend(a1, a2)
	be.Cookie = &config.Cookie{Name: "SERVERUSED", Mode: config.CookieInsert, Indirect: true, NoCache: true}
	f := newFixture(t, be, nil)
	c := f.client()

	resp, body := mustGet(t, c, f.url("/"))
	sc := resp.Header.Values("Set-Cookie")
	if len(sc) != 1 || !strings.HasPrefix(sc[0], "SERVERUSED=s") || !strings.Contains(sc[0], "path=/") {
		t.Fatalf("first response Set-Cookie %q", sc)
	}
	if resp.Header.Get("Cache-Control") != "private" {
		t.Fatalf("nocache: Cache-Control %q, want private", resp.Header.Get("Cache-Control"))
	}
	cookie := strings.SplitN(sc[0], ";", 2)[0] // SERVERUSED=s1
	first := strings.SplitN(body, "|", 2)[0]
	wantServer := map[string]string{"SERVERUSED=s1": "web1", "SERVERUSED=s2": "web2"}[cookie]
	if first != wantServer {
		t.Fatalf("cookie %s set by %s", cookie, first)
	}
	for i := 0; i < 20; i++ {
		resp, body := mustGet(t, c, f.url("/"), "Cookie", "a=1; "+cookie+"; b=2")
		parts := strings.SplitN(body, "|", 2)
		if parts[0] != wantServer {
			t.Fatalf("request %d went to %s, want %s", i, parts[0], wantServer)
		}
		if strings.Contains(parts[1], "SERVERUSED") || parts[1] != "a=1; b=2" {
			t.Fatalf("request %d: server saw Cookie %q", i, parts[1])
		}
		if v := resp.Header.Values("Set-Cookie"); len(v) != 0 {
			t.Fatalf("request %d: Set-Cookie %q for a client with a valid cookie", i, v)
		}
	}
	// only the persistence cookie: the header disappears
	_, body = mustGet(t, c, f.url("/"), "Cookie", cookie)
	if parts := strings.SplitN(body, "|", 2); parts[1] != "" {
		t.Fatalf("server saw Cookie %q", parts[1])
	}
	// a cookie naming no server: balanced and a new cookie inserted
	resp, _ = mustGet(t, c, f.url("/"), "Cookie", "SERVERUSED=nosuch")
	if v := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(v, "SERVERUSED=s") {
		t.Fatalf("invalid cookie: Set-Cookie %q", v)
	}
}

func TestCookieInsertAttributes(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "SRV=fromapp")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "x")
	})
	be := newBackend(a1)
	be.Cookie = &config.Cookie{Name: "SRV", Mode: config.CookieInsert, NoCache: true, HTTPOnly: true, Secure: true, Domains: []string{".example.com"}}
	f := newFixture(t, be, nil)
	resp, _ := mustGet(t, f.client(), f.url("/"))
	sc := resp.Header.Values("Set-Cookie")
	if len(sc) != 1 || sc[0] != "SRV=s1; path=/; domain=.example.com; HttpOnly; Secure" {
		t.Fatalf("Set-Cookie %q (the server's own SRV cookie must be removed)", sc)
	}
	if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Fatalf("Cache-Control %q: an uncacheable response needs no private", cc)
	}
}

// TestCookiePrefix is seed 003's `cookie JSESSIONID prefix indirect nocache`.
func TestCookiePrefix(t *testing.T) {
	var seq atomic.Int64
	app := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got := ""
			if ck, err := r.Cookie("JSESSIONID"); err == nil {
				got = ck.Value
			} else {
				w.Header().Add("Set-Cookie", fmt.Sprintf("JSESSIONID=abc%d; Path=/; HttpOnly", seq.Add(1)))
			}
			fmt.Fprintf(w, "%s|%s", name, got)
		}
	}
	a1, _ := httpServer(t, app("web1"))
	a2, _ := httpServer(t, app("web2"))
	be := newBackend(a1, a2)
	be.Cookie = &config.Cookie{Name: "JSESSIONID", Mode: config.CookiePrefix, Indirect: true, NoCache: true}
	f := newFixture(t, be, nil)
	c := f.client()
	resp, body := mustGet(t, c, f.url("/"))
	sc := resp.Header.Get("Set-Cookie")
	server := strings.SplitN(body, "|", 2)[0]
	wantPrefix := map[string]string{"web1": "s1", "web2": "s2"}[server]
	if !strings.HasPrefix(sc, "JSESSIONID="+wantPrefix+"~abc1;") || !strings.Contains(sc, "Path=/; HttpOnly") {
		t.Fatalf("Set-Cookie %q from %s", sc, server)
	}
	value := strings.SplitN(strings.SplitN(sc, ";", 2)[0], "=", 2)[1] // s1~abc1
	for i := 0; i < 20; i++ {
		_, body := mustGet(t, c, f.url("/"), "Cookie", "JSESSIONID="+value+"; other=1")
		parts := strings.SplitN(body, "|", 2)
		if parts[0] != server || parts[1] != "abc1" {
			t.Fatalf("request %d: %q, want %s seeing abc1", i, body, server)
		}
	}
}

func TestCookieRewrite(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "SRV=placeholder; Path=/")
		fmt.Fprint(w, r.Header.Get("Cookie"))
	})
	be := newBackend(a1)
	be.Cookie = &config.Cookie{Name: "SRV", Mode: config.CookieRewrite}
	f := newFixture(t, be, nil)
	resp, body := mustGet(t, f.client(), f.url("/"), "Cookie", "SRV=s1")
	if v := resp.Header.Get("Set-Cookie"); v != "SRV=s1; Path=/" || body != "SRV=s1" {
		t.Fatalf("Set-Cookie %q, server saw %q", v, body)
	}
}

// TestCookieNocacheLikeHAProxy checks when `nocache` adds Cache-Control: private to a
// response carrying an inserted cookie; each case was observed on HAProxy 2.6.
func TestCookieNocacheLikeHAProxy(t *testing.T) {
	type tc struct {
		method string
		status int
		hdr    string
		want   bool
	}
	cases := []tc{
		{"GET", 200, "", false},
		{"GET", 200, "Cache-Control: public", false},
		{"GET", 200, "Cache-Control: max-age=60", true},
		{"POST", 200, "Cache-Control: max-age=60", false},
		{"GET", 200, "Expires: Thu, 01 Dec 2030 16:00:00 GMT", true},
		{"GET", 200, "Last-Modified: Thu, 01 Dec 2020 16:00:00 GMT", true},
		{"HEAD", 200, "Last-Modified: Thu, 01 Dec 2020 16:00:00 GMT", true},
		{"GET", 200, "Cache-Control: private", false},
		{"GET", 200, "Cache-Control: public, max-age=60", true},
		{"GET", 200, "Cache-Control: max-age=0", false},
		{"GET", 200, "Cache-Control: s-maxage=60", true},
		{"GET", 200, "Pragma: no-cache|Cache-Control: max-age=60", false},
		{"GET", 404, "Cache-Control: max-age=60", true},
		{"GET", 302, "Cache-Control: max-age=60", false},
		{"GET", 500, "Cache-Control: max-age=60", false},
		{"GET", 200, `Cache-Control: no-cache="set-cookie", max-age=60`, true},
		{"GET", 200, "Cache-Control: must-revalidate", false},
	}
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		c := cases[atoi(r.URL.Query().Get("i"))]
		for _, h := range strings.Split(c.hdr, "|") {
			if kv := strings.SplitN(h, ": ", 2); len(kv) == 2 {
				w.Header().Set(kv[0], kv[1])
			}
		}
		w.WriteHeader(c.status)
	})
	be := newBackend(a1)
	be.Cookie = &config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true, NoCache: true}
	f := newFixture(t, be, nil)
	c := f.client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i, tc := range cases {
		req, _ := http.NewRequest(tc.method, f.url(fmt.Sprintf("/?i=%d", i)), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// added by the proxy: one Cache-Control more than the server sent, saying private
		vals := resp.Header.Values("Cache-Control")
		private := len(vals) == strings.Count(tc.hdr, "Cache-Control:")+1 && vals[len(vals)-1] == "private"
		if resp.Header.Get("Set-Cookie") == "" || private != tc.want {
			t.Errorf("%s %d %q: Set-Cookie %q, private %v, want %v", tc.method, tc.status, tc.hdr, resp.Header.Get("Set-Cookie"), private, tc.want)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestCookiePrefixLikeHAProxy replays exchanges observed on HAProxy 2.6 with seed 003's
// `cookie JSESSIONID prefix indirect nocache`, the server always setting a new session.
func TestCookiePrefixLikeHAProxy(t *testing.T) {
	seen := make(chan string, 10)
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Cookie")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Add("Set-Cookie", "JSESSIONID=def; Path=/")
		w.Header().Add("Set-Cookie", "other=1")
	})
	be := newBackend(a1)
	be.Cookie = &config.Cookie{Name: "JSESSIONID", Mode: config.CookiePrefix, Indirect: true, NoCache: true}
	f := newFixture(t, be, nil)
	for _, tc := range []struct {
		cookie, serverSees string
		setCookie          []string
	}{
		{"", "", []string{"JSESSIONID=s1~def; Path=/", "other=1"}},
		{"JSESSIONID=s1~abc; x=1", "JSESSIONID=abc; x=1", []string{"other=1"}},
		{"JSESSIONID=zz~abc", "JSESSIONID=abc", []string{"JSESSIONID=s1~def; Path=/", "other=1"}},
		{"JSESSIONID=abc", "JSESSIONID=abc", []string{"JSESSIONID=s1~def; Path=/", "other=1"}},
	} {
		var hdr []string
		if tc.cookie != "" {
			hdr = []string{"Cookie", tc.cookie}
		}
		resp, _ := mustGet(t, f.client(), f.url("/"), hdr...)
		if got := <-seen; got != tc.serverSees {
			t.Errorf("cookie %q: server saw %q, want %q", tc.cookie, got, tc.serverSees)
		}
		if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "|") != strings.Join(tc.setCookie, "|") {
			t.Errorf("cookie %q: Set-Cookie %q, want %q", tc.cookie, got, tc.setCookie)
		}
		if got := resp.Header.Values("Cache-Control"); len(got) != 1 {
			t.Errorf("cookie %q: Cache-Control %q: prefix mode adds none", tc.cookie, got)
		}
	}
}
