// Command halog measures `tandem halog` against Debian's halog on a generated
// HAProxy-format log: both read the same file with the same flags, their outputs must
// be identical, and the median CPU time of each gives the throughput ratio.
//
//	go run ./bench/halog                        # 1 GB log, -srv -H, 3 rounds
//	go run ./bench/halog -size 100MB -modes "-srv -H,-u,-pct"
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	size := flag.String("size", "1GB", "size of the generated log (KB, MB, GB suffixes)")
	modes := flag.String("modes", "-srv -H", "comma-separated flag sets to run")
	rounds := flag.Int("rounds", 3, "rounds per flag set (medians are reported)")
	halog := flag.String("halog", "halog", "Debian's halog")
	tandem := flag.String("tandem", "", "tandem binary (default: go build ./cmd/tandem)")
	keep := flag.Bool("keep", false, "keep the generated log")
	timeout := flag.Duration("timeout", 30*time.Minute, "bound on the whole run")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *size, *modes, *rounds, *halog, *tandem, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/halog:", err)
		os.Exit(2)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func run(ctx context.Context, sizeText, modes string, rounds int, halog, tandem string, keep bool) error {
	size, err := parseSize(sizeText)
	if err != nil {
		return fmt.Errorf("-size: %w", err)
	}
	dir, err := os.MkdirTemp("", "halog-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	if tandem == "" {
		tandem = filepath.Join(dir, "tandem")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", tandem, "./cmd/tandem").CombinedOutput(); err != nil {
			return fmt.Errorf("building tandem: %v: %s", err, out)
		}
	}
	logPath := filepath.Join(dir, "haproxy.log")
	start := time.Now()
	lines, err := generate(logPath, size)
	if err != nil {
		return err
	}
	fmt.Printf("generated %s: %d lines, %.0f MB in %v\n", logPath, lines, float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
	fmt.Println("| flags | halog CPU s | tandem halog CPU s | halog MB/s | tandem MB/s | tandem/halog CPU | same output |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, m := range strings.Split(modes, ",") {
		args := strings.Fields(m)
		var hc, tc []float64
		same := true
		for i := 0; i < rounds; i++ {
			hout, hcpu, err := measure(ctx, logPath, halog, args...)
			if err != nil {
				return err
			}
			tout, tcpu, err := measure(ctx, logPath, tandem, append([]string{"halog"}, args...)...)
			if err != nil {
				return err
			}
			same = same && bytes.Equal(hout, tout)
			hc, tc = append(hc, hcpu), append(tc, tcpu)
		}
		h, t := median(hc), median(tc)
		mb := float64(size) / (1 << 20)
		fmt.Printf("| `%s` | %.2f | %.2f | %.0f | %.0f | %.2f× | %v |\n", m, h, t, mb/h, mb/t, t/h, same)
	}
	return nil
}

// measure runs bin with the log on stdin and returns stdout, then stderr, and user+system
// CPU seconds.
func measure(ctx context.Context, logPath, bin string, args ...string) ([]byte, float64, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = f
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("%s %v: %w: %s", bin, args, err, errOut.Bytes())
	}
	ps := cmd.ProcessState
	return append(out.Bytes(), errOut.Bytes()...), (ps.UserTime() + ps.SystemTime()).Seconds(), nil
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// generate writes realistic httplog and tcplog lines up to size bytes.
func generate(path string, size int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rnd := rand.New(rand.NewSource(1))
	servers := []string{"app/web1", "app/web2", "app/web3", "api/a1", "api/a2", "api/<NOSRV>", "static/s1"}
	urls := []string{"/", "/index.html", "/api/v1/users?id=3", "/img/logo.png", "/login", "/x?y=z", "/a/b/c", "/search?q=tandem"}
	statuses := []int{200, 200, 200, 200, 200, 304, 302, 404, 500, 502, 503}
	var written, lines int64
	buf := make([]byte, 0, 512)
	for written < size {
		sec := lines / 5000
		h, m, s := 10+sec/3600%14, sec/60%60, sec%60
		buf = buf[:0]
		buf = fmt.Appendf(buf, "Nov 22 %02d:%02d:%02d lb1 haproxy[1234]: 10.0.%d.%d:%d [22/Nov/2026:%02d:%02d:%02d.%03d] ",
			h, m, s, rnd.Intn(4), 1+rnd.Intn(250), 1024+rnd.Intn(60000), h, m, s, rnd.Intn(1000))
		if rnd.Intn(20) == 0 {
			buf = fmt.Appendf(buf, "tcp-in tcp/t1 0/0/%d %d -- 1/1/0/0/0 0/0\n", rnd.Intn(5000), rnd.Intn(100000))
		} else {
			tr := []int{0, 2, 7, 30, 250, -1}[rnd.Intn(6)]
			buf = fmt.Appendf(buf, "fe %s 0/0/%d/%d/%d %d %d - - ---- %d/%d/0/0/0 0/0 \"GET %s HTTP/1.1\"\n",
				servers[rnd.Intn(len(servers))], rnd.Intn(3), tr, max(tr, 0)+rnd.Intn(20), statuses[rnd.Intn(len(statuses))],
				rnd.Intn(100000), 1+rnd.Intn(50), 1+rnd.Intn(20), urls[rnd.Intn(len(urls))])
		}
		w.Write(buf)
		written += int64(len(buf))
		lines++
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return lines, f.Close()
}
