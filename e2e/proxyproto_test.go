package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/certgen"
	"tandem/internal/proxyproto"
)

var (
	clientPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	logDate    = regexp.MustCompile(`\[\d+/\w+/\d+:[\d:.]+\]`)
	netipZero  netip.AddrPort
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// headerServer reads each connection's PROXY header and answers with what it said
// (version, addresses, TLVs in hex): after an HTTP request head as an HTTP response,
// else as a line. Connections that send only a header (health checks) are recorded.
type headerServer struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func startHeaderServer(t *testing.T) *headerServer {
	t.Helper()
	hs := &headerServer{}
	hs.addr = serveTCP(t, hs.serve)
	return hs
}

func describe(h proxyproto.Header) string {
	if h.Local {
		return fmt.Sprintf("v%d LOCAL tlv=%x", h.Version, h.TLVs)
	}
	return fmt.Sprintf("v%d %s → %s tlv=%x", h.Version, h.Src.Addr(), h.Dst, h.TLVs)
}

func (hs *headerServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		h, hn, perr := proxyproto.Parse(buf)
		if perr == nil {
			d := describe(h)
			rest := buf[hn:]
			for !bytes.Contains(rest, []byte("\r\n\r\n")) && len(rest) > 0 {
				n, err := c.Read(tmp)
				if err != nil {
					break
				}
				rest = append(rest, tmp[:n]...)
			}
			if len(rest) == 0 { // nothing after the header yet: a check, or a TCP client
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				n, _ := c.Read(tmp)
				rest = tmp[:n]
			}
			switch {
			case bytes.HasPrefix(rest, []byte("GET ")):
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(d), d)
			case len(rest) > 0:
				fmt.Fprintf(c, "%s\n", d)
			default:
				hs.mu.Lock()
				hs.seen = append(hs.seen, d)
				hs.mu.Unlock()
			}
			return
		}
		if !errors.Is(perr, proxyproto.ErrShort) || err != nil {
			fmt.Fprintf(c, "HTTP/1.1 400 Bad\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno header")
			return
		}
	}
}

func (hs *headerServer) checks() []string {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return append([]string(nil), hs.seen...)
}

// TestProxyProtocolMatchesHAProxy runs Debian's haproxy and tandem on the same
// configuration: binds with accept-proxy (plain, TLS, mode tcp) fed v1 and v2 headers
// and a connection without one; servers with send-proxy, send-proxy-v2 and
// send-proxy-v2-ssl (whose headers a server decodes), their health checks; and the
// chains haproxy → tandem and tandem → haproxy. What the client gets, what the server
// saw and the logged client address must be the same.
func TestProxyProtocolMatchesHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	dir := t.TempDir()
	site, err := certgen.New(certgen.Spec{CN: "site.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "site.pem"), site.PEM(), 0o600)
	echo := startHeaderEcho(t)
	startHAP := func(cfg, addr string) {
		cmd := exec.Command(hap, "-db", "-f", writeConfig(t, cfg))
		var herr syncBuffer
		cmd.Stderr = &herr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if c, err := waitConn(addr); err != nil {
			t.Fatalf("haproxy: %v\n%s", err, herr.String())
		} else {
			c.Close()
		}
	}
	startTND := func(cfg, addr string) { startTandem(t, cfg, addr) }

	run := func(start func(cfg, addr string), other func(cfg, addr string)) (out []string, logs []string, checks []string) {
		sl := startSyslog(t)
		hs, chk := startHeaderServer(t), startHeaderServer(t)
		hp, tp, tcpp, sp1, sp2, sps, chain := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
		otherIn, otherOut := freeAddr(t), freeAddr(t)
		cfg := fmt.Sprintf(`global
    log 127.0.0.1:%d local0
defaults
    mode http
    log global
    log-format "%%ci %%fi:%%fp %%b"
    option forwardfor
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s accept-proxy
    bind %s accept-proxy ssl crt %s/site.pem
    http-request set-header X-Src %%[src]:%%[src_port]
    http-request set-header X-Dst %%[dst]:%%[dst_port]
    http-request set-header X-Fc %%[ssl_fc]
    default_backend echo
backend echo
    balance source
    server s %s
listen tcpin
    mode tcp
    bind %s accept-proxy
    server h %s send-proxy
listen sp1
    bind %s
    server h %s send-proxy
listen sp2
    bind %s
    server h %s send-proxy-v2
listen sps
    bind %s ssl crt %s/site.pem
    server h %s send-proxy-v2-ssl
backend checked
    server c %s send-proxy-v2-ssl check inter 300ms
listen chain
    bind %s
    server next %s send-proxy-v2
`, sl.port(), hp, tp, dir, echo, tcpp, hs.addr, sp1, hs.addr, sp2, hs.addr, sps, dir, hs.addr, chk.addr, chain, otherIn)
		start(cfg, hp)
		// The other proxy of the chain: accept-proxy in, to the echo server.
		other(fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend in
    bind %s accept-proxy
    http-request set-header X-Src %%[src]
    default_backend echo
backend echo
    server s %s
frontend unused
    bind %s
`, otherIn, echo, otherOut), otherOut)

		send := func(label, addr, pre string, useTLS bool, req string) {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, pre)
			var rw io.ReadWriter = c
			if useTLS {
				tc := tls.Client(c, &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
				if err := tc.Handshake(); err != nil {
					out = append(out, label+": handshake: "+err.Error())
					return
				}
				rw = tc
			}
			io.WriteString(rw, req)
			b, _ := io.ReadAll(bufio.NewReader(rw))
			s := string(b)
			if i := strings.Index(s, "\r\n\r\n"); i >= 0 && strings.HasPrefix(s, "HTTP/") {
				s = s[:strings.IndexByte(s, '\r')] + " | " + s[i+4:]
			}
			out = append(out, label+": "+s)
		}
		get := "GET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		_, fport, _ := net.SplitHostPort(hp)
		_, tport, _ := net.SplitHostPort(tp)
		send("v1", hp, "PROXY TCP4 192.0.2.7 198.51.100.1 4444 "+fport+"\r\n", false, get)
		send("v1 tcp6", hp, "PROXY TCP6 2001:db8::7 2001:db8::1 4445 443\r\n", false, get)
		send("v1 unknown", hp, "PROXY UNKNOWN\r\n", false, get)
		v2 := proxyproto.AppendV2(nil, ap("203.0.113.9:5555"), ap("198.51.100.2:"+tport), nil)
		send("v2 then TLS", tp, string(v2), true, get)
		send("v2 local", hp, string(proxyproto.AppendV2(nil, netipZero, netipZero, nil)), false, get)
		send("no header", hp, "", false, get)
		send("bad header", hp, "PROXY TCP4 1.2.3.4\r\n", false, get)
		send("v1 split", hp, "PROXY TCP4 192.0.2.8 198.51.100.1 4446 "+fport+"\r\nGET /p HT", false, "TP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		send("tcp accept-proxy → send-proxy", tcpp, "PROXY TCP4 192.0.2.9 198.51.100.3 4447 80\r\n", false, "hello\r\n\r\n")
		send("send-proxy", sp1, "", false, get)
		send("send-proxy-v2", sp2, "", false, get)
		send("send-proxy-v2-ssl", sps, "", true, get)
		send("chain", chain, "", false, get)
		deadline := time.Now().Add(5 * time.Second)
		for len(chk.checks()) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if c := chk.checks(); len(c) > 0 {
			checks = c[:1]
		}
		var lines []string
		for quiet := false; !quiet; {
			select {
			case l := <-sl.lines:
				lines = append(lines, l)
			case <-time.After(time.Second):
				quiet = true
			}
		}
		for _, l := range lines {
			pri, _, _ := strings.Cut(l, ">")
			if pri != "<134" { // tandem's own events (local0 notice, warning) are not traffic
				continue
			}
			if i := strings.Index(l, "]: "); i >= 0 {
				l = pri + "> " + l[i+3:]
			}
			logs = append(logs, strings.TrimSpace(l))
		}
		sort.Strings(logs)
		r := strings.NewReplacer(hp, "HP", tp, "TP", tcpp, "TCPP", sp1, "SP1", sp2, "SP2", sps, "SPS", chain, "CHAIN", otherIn, "OTHERIN",
			":"+fport, ":FPORT", ":"+tport, ":TPORT")
		for i := range out {
			out[i] = clientPort.ReplaceAllString(r.Replace(out[i]), "127.0.0.1:PORT")
		}
		for i := range logs {
			logs[i] = logDate.ReplaceAllString(clientPort.ReplaceAllString(r.Replace(logs[i]), "127.0.0.1:PORT"), "[DATE]")
		}
		sort.Strings(logs)
		for i := range checks {
			checks[i] = r.Replace(checks[i])
		}
		return out, logs, checks
	}
	wantOut, wantLogs, wantChecks := run(startHAP, startTND) // haproxy first, tandem behind it in the chain
	gotOut, gotLogs, gotChecks := run(startTND, startHAP)
	all := strings.Join(wantOut, "\n")
	for _, s := range []string{"X-Src: 192.0.2.7:4444", "X-Forwarded-For: 203.0.113.9", "v2 127.0.0.1", "tlv=20", "v1 192.0.2.9 → 198.51.100.3:80"} {
		if !strings.Contains(all, s) {
			t.Errorf("haproxy's answers lack %q: the test does not exercise it", s)
		}
	}
	cmp := func(what string, want, got []string) {
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s differ\nhaproxy:\n%s\ntandem:\n%s", what, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
	cmp("answers", wantOut, gotOut)
	cmp("logs", wantLogs, gotLogs)
	cmp("check headers", wantChecks, gotChecks)
	if len(wantChecks) != 1 || !strings.HasPrefix(wantChecks[0], "v2 LOCAL tlv=20") {
		t.Errorf("haproxy's health check sent %q: the test does not exercise send-proxy-v2-ssl on checks", wantChecks)
	}
	if l := strings.Join(wantLogs, "\n"); !strings.Contains(l, "Received an invalid PROXY protocol header") {
		t.Errorf("haproxy logged no refused header:\n%s", l)
	}
}
