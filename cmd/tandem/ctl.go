package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"tandem/internal/ha"
	"tandem/internal/stats"
)

// defaultSocket is where Debian's haproxy.cfg puts its admin socket.
const defaultSocket = "/run/haproxy/admin.sock"

const ctlUsage = `usage: tandem ctl [-s SOCKET] COMMAND...
  Sends COMMAND to tandem's runtime API (a "stats socket") and prints the answer.
  Without COMMAND, sends each line read from standard input.
  -s SOCKET   unix socket path, or ipv4@ADDR:PORT (default ` + defaultSocket + `)
  -t TIMEOUT  give up after this long (default 10s)
examples: tandem ctl show stat
          tandem ctl -s /run/tandem.sock disable server app/web1
`

// runCtl is `tandem ctl`: a client of the runtime API, like `socat stdio UNIX:PATH`.
func runCtl(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tandem ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, ctlUsage) }
	sock := fs.String("s", defaultSocket, "runtime API socket")
	timeout := fs.Duration("t", 10*time.Second, "timeout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lines []string
	if fs.NArg() > 0 {
		lines = []string{strings.Join(fs.Args(), " ")}
	} else {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) == 0 {
		fmt.Fprint(stderr, ctlUsage)
		return 2
	}
	status := 0
	for _, l := range lines {
		out, err := ctlOnce(*sock, l, *timeout)
		if err != nil {
			fmt.Fprintln(stderr, "tandem ctl:", err)
			return 1
		}
		// The API ends each answer with an empty line; a terminal does not need it.
		io.WriteString(stdout, strings.TrimSuffix(out, "\n"))
		if strings.HasPrefix(out, "Permission denied") || strings.HasPrefix(out, "Unknown command") {
			status = 1
		}
	}
	return status
}

func ctlOnce(sock, line string, timeout time.Duration) (string, error) {
	network, addr := "unix", sock
	if a, ok := strings.CutPrefix(sock, "ipv4@"); ok {
		network, addr = "tcp4", a
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return "", fmt.Errorf("cannot reach the runtime API: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", fmt.Errorf("send %q: %w", line, err)
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return "", fmt.Errorf("read the answer to %q: %w", line, err)
	}
	return string(b), nil
}

// vrrpStatus adapts the VRRP node's status for the stats page, `show vrrp` and metrics.
func vrrpStatus(node *ha.Node) func() []stats.VRRPInstance {
	return func() []stats.VRRPInstance {
		var out []stats.VRRPInstance
		for _, s := range node.Status() {
			in := stats.VRRPInstance{Name: s.Name, Interface: s.Interface, VRID: s.VRID, State: s.State, Since: s.Since,
				Priority: s.Priority, BasePriority: s.BasePriority, AdvertsSent: s.AdvertsSent, AdvertsReceived: s.AdvertsReceived}
			if s.Master.IsValid() {
				in.Master = s.Master.String()
			}
			for _, p := range s.VIPs {
				in.VIPs = append(in.VIPs, p.String())
			}
			for _, t := range s.Trackers {
				in.Trackers = append(in.Trackers, stats.VRRPTracker{Name: t.Name, OK: t.OK, Delta: t.Delta})
			}
			for _, e := range s.Transitions {
				in.Transitions = append(in.Transitions, stats.VRRPTransition{At: e.At, From: e.From, To: e.To, Reason: e.Reason})
			}
			in.Episodes, in.PeerMasterAdverts = s.Episodes, s.PeerMasterAdverts
			for _, e := range s.EpisodeLog {
				in.EpisodeLog = append(in.EpisodeLog, stats.VRRPEpisode{Kind: e.Kind, Start: e.Start, End: e.End, Peer: e.Peer.String(), Detail: e.Detail, Adverts: e.Adverts})
			}
			for _, k := range s.Takeovers {
				in.Takeovers = append(in.Takeovers, stats.VRRPTakeover{From: k.From, Reason: k.Reason, LastAdvert: k.LastAdvert,
					TimerFired: k.TimerFired, Master: k.Master, VIPsAdded: k.VIPsAdded, FirstGARP: k.FirstGARP, FirstServed: k.FirstServed})
			}
			for stage, h := range s.StageHistograms {
				if in.StageHistograms == nil {
					in.StageHistograms = map[string]stats.Histogram{}
				}
				in.StageHistograms[stage] = stats.Histogram{Bounds: h.Bounds, Counts: h.Counts, Sum: h.Sum, Count: h.Count}
			}
			for reason, n := range s.Rejected {
				if in.Rejected == nil {
					in.Rejected = map[string]uint64{}
				}
				in.Rejected[ha.RejectClass(reason)] += n
			}
			out = append(out, in)
		}
		return out
	}
}
