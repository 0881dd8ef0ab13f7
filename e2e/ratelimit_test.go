package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rateLimitConfig is issue 10's rate limit: track the source, answer 429 above 100
// requests over 10 s.
func rateLimitConfig(sock, bind string) string {
	return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
frontend fe
    bind %s
    stick-table type ip size 1m expire 10s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }
    http-request return status 200 content-type text/plain string ok
`, sock, bind)
}

// blast sends n requests to addr, one every `every`, on keep-alive connections
// (reopened when the proxy closes one), and counts the statuses.
func blast(addr string, n int, every time.Duration) (map[int]int, error) {
	counts := map[int]int{}
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	req := "GET / HTTP/1.1\r\nHost: rl\r\n\r\n"
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
			time.Sleep(d)
		}
		for try := 0; try < 2; try++ {
			if c == nil {
				var err error
				if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
					return counts, err
				}
				br = bufio.NewReader(c)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err := io.WriteString(c, req)
			var resp *http.Response
			if err == nil {
				resp, err = http.ReadResponse(br, nil)
			}
			if err != nil {
				c.Close()
				c = nil
				if try == 1 {
					return counts, fmt.Errorf("request %d: %v", i, err)
				}
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			counts[resp.StatusCode]++
			if resp.Close {
				c.Close()
				c = nil
			}
			break
		}
	}
	return counts, nil
}

var tableHeadRE = regexp.MustCompile(`used:(\d+)`)

// tableUsed reads the `used:` count of `show table fe`.
func tableUsed(t *testing.T, sock string) int {
	out := ask(t, sock, "show table fe")
	m := tableHeadRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("show table fe: %q", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestRateLimitMatchesHAProxy is issue 10's rate-limit acceptance: 200 requests/s from
// one source for 10 s through Debian's haproxy and through tandem with the same
// configuration; tandem's count of 429 answers is within ±5 % of haproxy's. Then the
// table entry expires on time in both: still there (with the same expiry, to the
// second) right after the load, gone once `expire 10s` has passed without requests.
func TestRateLimitMatchesHAProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s differential test")
	}
	dir := t.TempDir()
	hSock, tSock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hAddr, tAddr := freeAddr(t), freeAddr(t)
	startHAProxy(t, rateLimitConfig(hSock, hAddr), hSock)
	startTandem(t, rateLimitConfig(tSock, tAddr), tAddr)

	const n, every = 2000, 5 * time.Millisecond
	var wg sync.WaitGroup
	var hc, tc map[int]int
	var herr, terr error
	wg.Add(2)
	go func() { defer wg.Done(); hc, herr = blast(hAddr, n, every) }()
	go func() { defer wg.Done(); tc, terr = blast(tAddr, n, every) }()
	wg.Wait()
	end := time.Now()
	if herr != nil || terr != nil {
		t.Fatalf("haproxy: %v, tandem: %v", herr, terr)
	}
	t.Logf("haproxy %v, tandem %v", hc, tc)
	for name, c := range map[string]map[int]int{"haproxy": hc, "tandem": tc} {
		if c[200]+c[429] != n {
			t.Errorf("%s answered %v, want only 200 and 429", name, c)
		}
	}
	h429, t429 := hc[429], tc[429]
	if h429 < n/2 {
		t.Fatalf("haproxy answered only %d 429s: the load did not exceed the limit", h429)
	}
	if diff := t429 - h429; diff*20 > h429 || -diff*20 > h429 {
		t.Errorf("429s: tandem %d, haproxy %d: more than 5%% apart", t429, h429)
	}

	// Expiry: the entry is there right after the load, gone after 10 s without requests.
	for name, sock := range map[string]string{"haproxy": hSock, "tandem": tSock} {
		if u := tableUsed(t, sock); u != 1 {
			t.Errorf("%s: %d entries right after the load, want 1", name, u)
		}
	}
	time.Sleep(time.Until(end.Add(8 * time.Second)))
	for name, sock := range map[string]string{"haproxy": hSock, "tandem": tSock} {
		if u := tableUsed(t, sock); u != 1 {
			t.Errorf("%s: %d entries 8 s after the last request, want 1 (expire 10s)", name, u)
		}
	}
	time.Sleep(time.Until(end.Add(11500 * time.Millisecond)))
	for name, sock := range map[string]string{"haproxy": hSock, "tandem": tSock} {
		out := ask(t, sock, "show table fe")
		if u := tableUsed(t, sock); u != 0 || strings.Contains(out, "key=") {
			t.Errorf("%s: entry still there 11.5 s after the last request (expire 10s): %q", name, out)
		}
	}
}

// stickFetchConfig tracks the source at connection level (sc1) and per request (sc0)
// and answers with what the stick-counter fetches, converters and actions read; some
// requests also track sc2 from tcp-request content, and http-request track-sc1 finds
// its slot taken by the connection.
func stickFetchConfig(bind string) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s
    stick-table type ip size 100 expire 30s store http_req_rate(10s),http_req_cnt,http_err_cnt,http_err_rate(10s),gpc0,gpc0_rate(10s),conn_cur,conn_cnt,gpt0,sess_cnt,sess_rate(10s)
    tcp-request connection track-sc1 src
    tcp-request content track-sc2 src if { path /t2 }
    http-request track-sc0 src
    http-request track-sc1 src
    http-request sc-inc-gpc0(0) if { path /inc }
    http-request sc-set-gpt0(1) 7 if { path /gpt }
    http-request deny deny_status 403 if { path /deny }
    http-request set-var(txn.untracked) sc2_http_req_rate
    http-request return status 200 content-type text/plain lf-string "rate=%%[sc0_http_req_rate] cnt=%%[sc_http_req_cnt(1)] err=%%[sc0_http_err_cnt] errrate=%%[sc1_http_err_rate] gpc0=%%[sc0_get_gpc0] gpc0rate=%%[sc_gpc0_rate(0)] gpt0=%%[sc1_get_gpt0] cur=%%[sc1_conn_cur] conncnt=%%[sc0_conn_cnt] sesscnt=%%[sc1_sess_cnt] sessrate=%%[sc1_sess_rate] trackers=%%[sc0_trackers] tracked=%%[sc2_tracked] untracked=[%%[var(txn.untracked)]] src=%%[src_http_req_cnt] srcgpc=%%[src_get_gpc0] tab=%%[src,table_http_req_cnt(fe)] tabcur=%%[src,table_conn_cur(fe)] miss=%%[str(10.9.9.9),table_http_req_cnt(fe)]\n"
`, bind)
}

// TestStickFetchesMatchHAProxy: the same requests through Debian's haproxy and tandem
// give the same values of sc_*, sc0_*/sc1_*/sc2_*, src_* fetches, table_* converters
// and the sc-inc-gpc0/sc-set-gpt0 actions, for a source tracked per connection (sc1,
// tcp-request connection) and per request (sc0, http-request).
func TestStickFetchesMatchHAProxy(t *testing.T) {
	hAddr, tAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "h.sock")
	startHAProxy(t, "global\n    stats socket "+sock+" mode 600 level admin\n"+stickFetchConfig(hAddr), sock)
	startTandem(t, stickFetchConfig(tAddr), tAddr)
	// startTandem's readiness probe was a connection (conn_cnt 1): haproxy gets one too.
	if c, err := net.DialTimeout("tcp", hAddr, 2*time.Second); err == nil {
		c.Close()
	}
	time.Sleep(20 * time.Millisecond)
	paths := []string{"/", "/inc", "/deny", "/gpt", "/inc", "/t2", "/deny", "/", "/t2", "/t2"}
	run := func(addr string) []string {
		var out []string
		// Two requests per connection: the second sees the connection's tracker.
		for i := 0; i < len(paths); i += 2 {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			for _, p := range paths[i : i+2] {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("%s %s: %v", addr, p, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				line := fmt.Sprintf("%s %d", p, resp.StatusCode)
				if resp.StatusCode == 200 {
					line += " " + strings.TrimSpace(string(b))
				}
				out = append(out, line)
				if resp.Close {
					c.Close()
					c, _ = net.DialTimeout("tcp", addr, 2*time.Second)
					br = bufio.NewReader(c)
				}
			}
			c.Close()
			time.Sleep(100 * time.Millisecond) // the connection's end reaches conn_cur
		}
		return out
	}
	h, tn := run(hAddr), run(tAddr)
	for i := range h {
		if h[i] != tn[i] {
			t.Errorf("request %d:\n haproxy %s\n tandem  %s", i, h[i], tn[i])
		}
	}
	t.Logf("%s", strings.Join(h, "\n"))
}

// TestStickArraysMatchHAProxy: the general purpose counter and tag arrays (gpc(N),
// gpc_rate(N,P), gpt(N)) through sc-inc-gpc, sc-set-gpt and the sc_*/src_*/table_*
// fetches that take an index read the same through Debian's haproxy and tandem.
func TestStickArraysMatchHAProxy(t *testing.T) {
	conf := func(bind string) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind %s
    stick-table type ip size 10 expire 10s store gpc(3),gpc_rate(3,10s),gpt(2)
    http-request track-sc0 src
    http-request sc-inc-gpc(1,0)
    http-request sc-set-gpt(1,0) 9 if { path /g }
    http-request return status 200 content-type text/plain lf-string "a=%%[sc_get_gpc(1,0)] b=%%[sc_gpc_rate(1,0)] c=%%[src_get_gpc(1,web)] d=%%[src,table_gpc(1,web)] e=%%[sc_get_gpt(1,0)] f=%%[sc_inc_gpc(2,0)] g=%%[src,table_gpc_rate(1,web)] h=%%[src,table_gpt(1,web)] i=%%[src_gpc_rate(1,web)] j=%%[sc_get_gpc(5,0)] k=%%[sc_clr_gpc(2,0)]"
`, bind)
	}
	hAddr, tAddr := freeAddr(t), freeAddr(t)
	sock := filepath.Join(t.TempDir(), "h.sock")
	startHAProxy(t, "global\n    stats socket "+sock+"\n"+conf(hAddr), sock)
	startTandem(t, conf(tAddr), tAddr)
	if c, err := net.DialTimeout("tcp", hAddr, time.Second); err == nil {
		c.Close() // as startTandem's readiness probe
	}
	cl := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []string{"/", "/g", "/", "/x"} {
		var got [2]string
		for i, a := range []string{hAddr, tAddr} {
			resp, err := cl.Get("http://" + a + p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[i] = string(b)
		}
		if got[0] != got[1] {
			t.Errorf("%s:\n haproxy %s\n tandem  %s", p, got[0], got[1])
		}
	}
}
