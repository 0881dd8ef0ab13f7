package halog

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// genLog writes n log lines as rsyslog stores them: httplog lines (with and without
// captured headers, bad requests, -1 timers, every status class and termination
// code), tcplog lines, single-digit days (two spaces) and a few broken lines.
func genLog(n int, seed int64) string {
	rnd := rand.New(rand.NewSource(seed))
	pick := func(s ...string) string { return s[rnd.Intn(len(s))] }
	timer := func(vals ...int) int { return vals[rnd.Intn(len(vals))] }
	var b strings.Builder
	for i := 0; i < n; i++ {
		sec := i / 40
		day := 1 + (i*7/n)%3*10 // 1, 11, 21: a padded day too
		h, m, s := 9+sec/3600, sec/60%60, sec%60
		ms := rnd.Intn(1000)
		if rnd.Intn(50) == 0 { // accept holes for -ad
			ms = 0
		}
		fmt.Fprintf(&b, "Nov %2d %02d:%02d:%02d lb1 haproxy[1234]: 10.0.%d.%d:%d [%02d/Nov/2026:%02d:%02d:%02d.%03d] ",
			day, h, m, s, rnd.Intn(4), 1+rnd.Intn(250), 1024+rnd.Intn(60000), day, h, m, s, ms)
		switch k := rnd.Intn(40); {
		case k < 4:
			fmt.Fprintf(&b, "tcp-in tcp/%s %d/%d/%d %d %s 1/1/0/0/0 0/0\n", pick("t1", "t2", "<NOSRV>"),
				timer(0, 1, -1), timer(0, 2, -1), rnd.Intn(90000), rnd.Intn(100000), pick("--", "CD", "SD", "sD", "SC"))
		case k == 4:
			b.WriteString("fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 \"<BADREQ>\"\n")
		case k == 5 && rnd.Intn(4) == 0:
			b.WriteString("fe be/s1 1/2/3\n") // cut short
		default:
			TR, Tw, Tc := timer(0, 0, 1, 3, -1), timer(0, 0, 0, 2, -1), timer(0, 0, 1, 4, -1)
			Tr := timer(0, 2, 7, 30, 250, 1800, -1)
			Ta := max(TR, 0) + max(Tw, 0) + max(Tc, 0) + max(Tr, 0) + rnd.Intn(40)
			if rnd.Intn(30) == 0 {
				Ta = -1
			}
			caps := pick("", "", " {www.example.com|Mozilla}", " {a|b} {c}")
			fmt.Fprintf(&b, "fe %s %d/%d/%d/%d/%d %s %d %s %s %s %d/%d/%d/%d/%s %d/%d%s \"%s %s HTTP/1.1\"\n",
				pick("app/web1", "app/web2", "app/web3", "api/a1", "api/<NOSRV>", "static/s1"),
				TR, Tw, Tc, Tr, Ta, pick("200", "200", "200", "200", "304", "302", "404", "403", "500", "502", "503", "504", "101", "-1"),
				rnd.Intn(200000), pick("-", "-", "SRV=web1"), pick("-", "-"), pick("----", "----", "----", "--NI", "--VN", "CD--", "SH--", "sH--", "cR--", "CH--", "SC--"),
				1+rnd.Intn(50), 1+rnd.Intn(20), rnd.Intn(10), rnd.Intn(5), pick("0", "0", "1", "+1"), rnd.Intn(3), rnd.Intn(3), caps,
				pick("GET", "GET", "POST", "HEAD"), pick("/", "/index.html", "/api/v1/users?id=3", "/img/logo.png", "/a/b;jsessionid=1", "/login", "/x?y=z&w=1", "http://h/abs"))
		}
	}
	return b.String()
}

var diffModes = [][]string{
	{"-srv"}, {"-srv", "-H"}, {"-st"}, {"-tc"}, {"-u"}, {"-uc"}, {"-ue"}, {"-ua"}, {"-ut"}, {"-uao"}, {"-uto"},
	{"-uba"}, {"-ubt"}, {"-u", "-query"}, {"-pct"}, {"-c"}, {"-H", "-c"}, {"-e"}, {"-E", "-c"}, {"-e", "-srv"},
	{"-hs", "500:503", "-srv"}, {"-hs", "404"}, {"-HS", "200:299", "-c"}, {"-hs", ":299", "-st"},
	{"-time", "1795338000:1795338010", "-st"}, {"-time", "1795338005:", "-c"}, {"-ad", "100"}, {"-ad", "50", "-ac", "2"},
	{"-cc"}, {"-tcn", "SD", "-c"}, {"-TCN", "--", "-srv"}, {"-tcn", "S"}, {"-rt", "250", "-c"}, {"-RT", "30", "-u"},
	{"-rt", "0", "-H", "-st"}, {"-Q", "-c"}, {"-QS", "-srv"}, {"-Q", "-v", "-tc"},
	{"-e", "-rt", "10", "-st"}, {"-tcn", "SD", "-Q", "-st"}, {"-hs", "500:", "-H", "-time", "1795338000:", "-st"},
	{"-v", "-RT", "7", "-srv"}, {"-rt", "10", "-hs", "200", "-st"}, {"-hs", "200", "-rt", "10", "-Q", "-tc"},
	{"-time", ":1795338003", "-tcn", "--", "-H", "-st"}, {"-v", "-e", "-c"}, {"-q", "-srv"}, {"-m", "5", "-u"}, {"-m", "3", "-H"}, {"-H", "-u", "-q"}, {"-tc", "-e"},
}

// TestSameAsHalog runs every mode over a generated log through tandem's halog and
// Debian's, and compares their stdout and stderr byte for byte.
func TestSameAsHalog(t *testing.T) {
	bin, err := exec.LookPath("halog")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("halog is not installed (Debian package haproxy): cannot compare")
		}
		t.Skip("halog is not installed (Debian package haproxy)")
	}
	for seed := int64(1); seed <= 3; seed++ {
		log := genLog(3000, seed)
		for _, args := range diffModes {
			cmd := exec.Command(bin, args...)
			cmd.Stdin = strings.NewReader(log)
			var wo, we bytes.Buffer
			cmd.Stdout, cmd.Stderr = &wo, &we
			cmd.Run()
			var go_, ge bytes.Buffer
			Main(args, strings.NewReader(log), &go_, &ge)
			if wo.String() != go_.String() {
				t.Errorf("seed %d, halog %v: stdout differs\nhalog:\n%s\ntandem:\n%s", seed, args, head(wo.String()), head(go_.String()))
			}
			if we.String() != ge.String() {
				t.Errorf("seed %d, halog %v: stderr differs\nhalog:\n%s\ntandem:\n%s", seed, args, head(we.String()), head(ge.String()))
			}
		}
	}
}

func head(s string) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 15 {
		lines = append(lines[:15], "...\n")
	}
	return strings.Join(lines, "")
}

func BenchmarkSrvH(b *testing.B) {
	log := genLog(100000, 7)
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Main([]string{"-srv", "-H", "-q"}, strings.NewReader(log), io.Discard, io.Discard)
	}
}
