// Package metrics serves tandem's live state in the Prometheus text exposition format
// under the names, labels and types of HAProxy's built-in exporter (haproxy_process_*,
// haproxy_frontend_*, haproxy_backend_*, haproxy_server_* with proxy and server
// labels), so existing dashboards keep working, plus tandem_vrrp_* for the VRRP pair.
//
// The format is written by hand: each scrape renders one consistent snapshot of the
// stats rows, needs no registry of long-lived collectors, and adds no dependency.
package metrics

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"tandem/internal/stats"
)

type kind string

const (
	gauge   kind = "gauge"
	counter kind = "counter"
)

// metric is one family of a scope: its name after the scope prefix, type, help, and
// the samples a row gives (nil: none).
type metric struct {
	name  string
	typ   kind
	help  string
	value func(r *stats.Row) []sample
}

type sample struct {
	labels string // extra labels, already formatted: `,state="UP"`
	v      float64
}

func one(v float64) []sample { return []sample{{v: v}} }

func num[T int | int64 | uint64](f func(r *stats.Row) T) func(r *stats.Row) []sample {
	return func(r *stats.Row) []sample { return one(float64(f(r))) }
}

// limit is a limit that is NaN when not set, as HAProxy's exporter shows it.
func limit(f func(r *stats.Row) int64) func(r *stats.Row) []sample {
	return func(r *stats.Row) []sample {
		v := f(r)
		if v <= 0 {
			return one(math.NaN())
		}
		return one(float64(v))
	}
}

var codes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

func responses(r *stats.Row) []sample {
	out := make([]sample, len(codes))
	for i, c := range codes {
		out[i] = sample{labels: `,code="` + c + `"`, v: float64(r.Hrsp[i])}
	}
	return out
}

func states(list []string, cur string) []sample {
	out := make([]sample, len(list))
	for i, s := range list {
		v := 0.0
		if s == cur {
			v = 1
		}
		out[i] = sample{labels: `,state="` + s + `"`, v: v}
	}
	return out
}

var frontendMetrics = []metric{
	{"current_sessions", gauge, "Number of current sessions on the frontend", num(func(r *stats.Row) int64 { return r.SCur })},
	{"max_sessions", gauge, "Highest number of simultaneous sessions on the frontend", num(func(r *stats.Row) int64 { return r.SMax })},
	{"limit_sessions", gauge, "Frontend maxconn", limit(func(r *stats.Row) int64 { return r.SLim })},
	{"sessions_total", counter, "Sessions accepted by the frontend", num(func(r *stats.Row) uint64 { return r.STot })},
	{"bytes_in_total", counter, "Bytes received from clients", num(func(r *stats.Row) uint64 { return r.BIn })},
	{"bytes_out_total", counter, "Bytes sent to clients", num(func(r *stats.Row) uint64 { return r.BOut })},
	{"requests_denied_total", counter, "Requests denied", num(func(r *stats.Row) uint64 { return r.DReq })},
	{"responses_denied_total", counter, "Responses denied", num(func(*stats.Row) int { return 0 })},
	{"request_errors_total", counter, "Invalid or timed-out requests", num(func(r *stats.Row) uint64 { return r.EReq })},
	{"status", gauge, "Frontend status", func(r *stats.Row) []sample {
		st := "UP"
		if r.Status != "OPEN" {
			st = "DOWN"
		}
		return states([]string{"DOWN", "UP"}, st)
	}},
	{"max_session_rate", gauge, "Highest sessions per second", num(func(r *stats.Row) uint64 { return r.RateMax })},
	{"http_responses_total", counter, "HTTP responses by status class", responses},
	{"http_requests_rate_max", gauge, "Highest HTTP requests per second", num(func(r *stats.Row) uint64 { return r.ReqRateMax })},
	{"http_requests_total", counter, "HTTP requests received", num(func(r *stats.Row) uint64 { return r.ReqTot })},
	{"connections_rate_max", gauge, "Highest connections per second", num(func(r *stats.Row) uint64 { return r.RateMax })},
	{"connections_total", counter, "Connections accepted", num(func(r *stats.Row) uint64 { return r.STot })},
	{"intercepted_requests_total", counter, "Requests answered by tandem itself (stats page, metrics)", num(func(r *stats.Row) uint64 { return r.Intercepted })},
}

var poolMetrics = []metric{
	{"current_queue", gauge, "Requests waiting in the queue", num(func(r *stats.Row) int64 { return r.QCur })},
	{"max_queue", gauge, "Longest the queue has been", num(func(r *stats.Row) int64 { return r.QMax })},
	{"current_sessions", gauge, "Number of current sessions", num(func(r *stats.Row) int64 { return r.SCur })},
	{"max_sessions", gauge, "Highest number of simultaneous sessions", num(func(r *stats.Row) int64 { return r.SMax })},
	{"limit_sessions", gauge, "Session limit", limit(func(r *stats.Row) int64 { return r.SLim })},
	{"sessions_total", counter, "Sessions", num(func(r *stats.Row) uint64 { return r.STot })},
	{"bytes_in_total", counter, "Bytes sent to servers", num(func(r *stats.Row) uint64 { return r.BIn })},
	{"bytes_out_total", counter, "Bytes received from servers", num(func(r *stats.Row) uint64 { return r.BOut })},
	{"connection_errors_total", counter, "Failed connections to servers", num(func(r *stats.Row) uint64 { return r.EConn })},
	{"response_errors_total", counter, "Invalid or failed responses", num(func(r *stats.Row) uint64 { return r.EResp })},
	{"retry_warnings_total", counter, "Connection retries", num(func(r *stats.Row) uint64 { return r.WRetr })},
	{"redispatch_warnings_total", counter, "Redispatches to another server", num(func(r *stats.Row) uint64 { return r.WRedis })},
	{"weight", gauge, "Effective weight", num(func(r *stats.Row) int { return r.Weight })},
	{"loadbalanced_total", counter, "Times a server was chosen by the balancer", num(func(r *stats.Row) uint64 { return r.LBTot })},
	{"http_responses_total", counter, "HTTP responses by status class", responses},
	{"check_last_change_seconds", gauge, "Seconds since the last state change", num(func(r *stats.Row) int64 { return r.LastChg })},
	{"uweight", gauge, "Weight set by the user (configuration or runtime API)", num(func(r *stats.Row) int { return r.UWeight })},
}

var backendOnly = []metric{
	{"status", gauge, "Backend status", func(r *stats.Row) []sample { return states([]string{"DOWN", "UP"}, r.Status) }},
	{"active_servers", gauge, "Active servers taking traffic", num(func(r *stats.Row) int { return r.Act })},
	{"backup_servers", gauge, "Backup servers taking traffic", num(func(r *stats.Row) int { return r.Bck })},
	{"http_requests_total", counter, "HTTP requests sent to servers", num(func(r *stats.Row) uint64 { return r.ReqTot })},
}

var serverStates = []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}

var serverOnly = []metric{
	{"queue_limit", gauge, "Limit on the number of connections in queue, for servers only (maxqueue argument)",
		limit(func(r *stats.Row) int64 { return r.QLimit })},
	{"status", gauge, "Server status", func(r *stats.Row) []sample {
		st := r.Status
		switch {
		case st == "no check" || strings.HasPrefix(st, "UP"):
			st = "UP"
		case strings.HasPrefix(st, "DOWN"):
			st = "DOWN"
		}
		return states(serverStates, st)
	}},
	{"check_failures_total", counter, "Failed health checks", func(r *stats.Row) []sample {
		if r.Check == nil {
			return one(math.NaN())
		}
		return one(float64(r.Check.Fails))
	}},
	{"check_up_down_total", counter, "UP to DOWN transitions", func(r *stats.Row) []sample {
		if r.Check == nil {
			return one(math.NaN())
		}
		return one(float64(r.Check.Downs))
	}},
	{"check_duration_seconds", gauge, "Duration of the last health check", func(r *stats.Row) []sample {
		if r.Check == nil {
			return one(0)
		}
		return one(r.Check.Duration.Seconds())
	}},
}

// Scopes select what Write emits, as the exporter's ?scope= parameters: global
// (process), frontend, backend, server, and tandem's vrrp.
type Scopes map[string]bool

// AllScopes is what a scrape without ?scope= gets.
var AllScopes = Scopes{"global": true, "frontend": true, "backend": true, "server": true, "vrrp": true}

// Handler serves the metrics of src. Repeated ?scope= parameters narrow the output, as
// HAProxy's exporter ("*" is everything, an empty one nothing).
func Handler(src *stats.Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scopes := AllScopes
		if list, ok := r.URL.Query()["scope"]; ok {
			scopes = Scopes{}
			for _, s := range list {
				if s == "*" {
					scopes = AllScopes
					break
				}
				scopes[s] = true
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		WriteScopes(w, src, scopes)
	})
}

func fmtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// escape escapes a label value.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// Write writes every metric of src in the text exposition format.
func Write(w io.Writer, src *stats.Source) error { return WriteScopes(w, src, AllScopes) }

// WriteScopes writes the metrics of the given scopes.
func WriteScopes(w io.Writer, src *stats.Source, scopes Scopes) error {
	bw := bufio.NewWriter(w)
	rows := src.Rows()
	family := func(prefix string, m metric, typ int) {
		first := true
		for i := range rows {
			r := &rows[i]
			if r.Type != typ {
				continue
			}
			if first {
				bw.WriteString("# HELP " + prefix + m.name + " " + m.help + "\n# TYPE " + prefix + m.name + " " + string(m.typ) + "\n")
				first = false
			}
			labels := `proxy="` + escape(r.PxName) + `"`
			if typ == stats.TypeServer {
				labels += `,server="` + escape(r.SvName) + `"`
			}
			for _, s := range m.value(r) {
				bw.WriteString(prefix + m.name + "{" + labels + s.labels + "} " + fmtFloat(s.v) + "\n")
			}
		}
	}
	if scopes["global"] {
		writeProcess(bw, src)
	}
	if scopes["frontend"] {
		for _, m := range frontendMetrics {
			family("haproxy_frontend_", m, stats.TypeFrontend)
		}
	}
	if scopes["backend"] {
		for _, m := range append(append([]metric{}, poolMetrics...), backendOnly...) {
			family("haproxy_backend_", m, stats.TypeBackend)
		}
	}
	if scopes["server"] {
		for _, m := range append(append([]metric{}, poolMetrics...), serverOnly...) {
			family("haproxy_server_", m, stats.TypeServer)
		}
	}
	if scopes["vrrp"] {
		writeVRRP(bw, src)
	}
	return bw.Flush()
}

func writeProcess(bw *bufio.Writer, src *stats.Source) {
	info := map[string]string{}
	for _, kv := range stats.Info(src) {
		info[kv[0]] = kv[1]
	}
	g := func(name, typ, help, v string) {
		bw.WriteString("# HELP haproxy_process_" + name + " " + help + "\n# TYPE haproxy_process_" + name + " " + typ + "\n")
		bw.WriteString("haproxy_process_" + name + " " + v + "\n")
	}
	g("nbthread", "gauge", "Number of threads", info["Nbthread"])
	g("nbproc", "gauge", "Number of worker processes (always 1)", "1")
	g("relative_process_id", "gauge", "Relative worker process number (1)", "1")
	g("uptime_seconds", "gauge", "Seconds since the process started", info["Uptime_sec"])
	g("start_time_seconds", "gauge", "Start time of the process (Unix seconds)", info["Start_time_sec"])
	g("max_fds", "gauge", "Limit of file descriptors", info["Ulimit-n"])
	g("max_connections", "gauge", "Limit of concurrent connections (global maxconn)", info["Maxconn"])
	g("current_connections", "gauge", "Current connections", info["CurrConns"])
	g("connections_total", "counter", "Connections accepted", info["CumConns"])
	g("requests_total", "counter", "HTTP requests received", info["CumReq"])
	g("current_session_rate", "gauge", "Sessions per second over the last second", info["SessRate"])
	g("max_session_rate", "gauge", "Highest sessions per second", info["MaxSessRate"])
	g("bytes_out_total", "counter", "Bytes sent to clients", info["TotalBytesOut"])
	bw.WriteString("# HELP haproxy_process_build_info Build info\n# TYPE haproxy_process_build_info gauge\n")
	bw.WriteString(`haproxy_process_build_info{version="` + escape(info["Version"]) + "\"} 1\n")
}

var vrrpStates = []string{"INIT", "BACKUP", "MASTER", "FAULT"}

func writeVRRP(bw *bufio.Writer, src *stats.Source) {
	if src.VRRP == nil {
		return
	}
	ins, ok := src.VRRP()
	if !ok || len(ins) == 0 {
		return
	}
	fam := func(name, typ, help string, each func(in stats.VRRPInstance, labels string)) {
		bw.WriteString("# HELP tandem_vrrp_" + name + " " + help + "\n# TYPE tandem_vrrp_" + name + " " + typ + "\n")
		for _, in := range ins {
			labels := `instance="` + escape(in.Name) + `",interface="` + escape(in.Interface) + `",vrid="` + strconv.Itoa(int(in.VRID)) + `"`
			each(in, labels)
		}
	}
	fam("state", "gauge", "VRRP instance state (1 for the current one)", func(in stats.VRRPInstance, l string) {
		for _, s := range vrrpStates {
			v := "0"
			if s == in.State {
				v = "1"
			}
			bw.WriteString("tandem_vrrp_state{" + l + `,state="` + s + `"} ` + v + "\n")
		}
	})
	fam("priority", "gauge", "Effective priority", func(in stats.VRRPInstance, l string) {
		bw.WriteString("tandem_vrrp_priority{" + l + "} " + strconv.Itoa(in.Priority) + "\n")
	})
	fam("base_priority", "gauge", "Configured priority", func(in stats.VRRPInstance, l string) {
		bw.WriteString("tandem_vrrp_base_priority{" + l + "} " + strconv.Itoa(in.BasePriority) + "\n")
	})
	fam("adverts_sent_total", "counter", "Adverts sent", func(in stats.VRRPInstance, l string) {
		bw.WriteString("tandem_vrrp_adverts_sent_total{" + l + "} " + strconv.FormatUint(in.AdvertsSent, 10) + "\n")
	})
	fam("adverts_received_total", "counter", "Adverts received", func(in stats.VRRPInstance, l string) {
		bw.WriteString("tandem_vrrp_adverts_received_total{" + l + "} " + strconv.FormatUint(in.AdvertsReceived, 10) + "\n")
	})
	writeSplitBrain(bw, fam)
	fam("takeover_stage_seconds", "histogram", "Failover timeline: detect is from the last advert heard to the Master_Down_Timer; the other stages are from becoming MASTER", func(in stats.VRRPInstance, l string) {
		for _, stage := range stats.VRRPStages {
			h, ok := in.StageHistograms[stage]
			if !ok {
				continue
			}
			sl := l + `,stage="` + stage + `"`
			var cum uint64
			for i, b := range h.Bounds {
				cum += h.Counts[i]
				bw.WriteString("tandem_vrrp_takeover_stage_seconds_bucket{" + sl + `,le="` + fmtFloat(b) + `"} ` + strconv.FormatUint(cum, 10) + "\n")
			}
			bw.WriteString("tandem_vrrp_takeover_stage_seconds_bucket{" + sl + `,le="+Inf"} ` + strconv.FormatUint(h.Count, 10) + "\n")
			bw.WriteString("tandem_vrrp_takeover_stage_seconds_sum{" + sl + "} " + fmtFloat(h.Sum) + "\n")
			bw.WriteString("tandem_vrrp_takeover_stage_seconds_count{" + sl + "} " + strconv.FormatUint(h.Count, 10) + "\n")
		}
	})
}

// writeSplitBrain writes the split-brain families: episodes by kind, whether one is
// under way, adverts from another master, rejected adverts by reason.
func writeSplitBrain(bw *bufio.Writer, fam func(name, typ, help string, each func(in stats.VRRPInstance, labels string))) {
	fam("split_brain_episodes_total", "counter", "Split-brain episodes by kind: dual_master (another master did not yield), master_returned (the master this node took over from advertised again), config_mismatch (adverts rejected for a differing configuration), peer_unreachable (a unicast MASTER's peer does not answer ARP/ND: a partition)", func(in stats.VRRPInstance, l string) {
		for _, k := range stats.VRRPEpisodeKinds {
			bw.WriteString("tandem_vrrp_split_brain_episodes_total{" + l + `,kind="` + k + `"} ` + strconv.FormatUint(in.Episodes[k], 10) + "\n")
		}
	})
	fam("split_brain_active", "gauge", "1 while a split-brain episode of the kind is under way", func(in stats.VRRPInstance, l string) {
		for _, k := range stats.VRRPEpisodeKinds {
			v := "0"
			for _, e := range in.EpisodeLog {
				if e.Kind == k && e.End.IsZero() {
					v = "1"
				}
			}
			bw.WriteString("tandem_vrrp_split_brain_active{" + l + `,kind="` + k + `"} ` + v + "\n")
		}
	})
	fam("peer_master_adverts_total", "counter", "Adverts from another master received while MASTER", func(in stats.VRRPInstance, l string) {
		bw.WriteString("tandem_vrrp_peer_master_adverts_total{" + l + "} " + strconv.FormatUint(in.PeerMasterAdverts, 10) + "\n")
	})
	fam("adverts_rejected_total", "counter", "Adverts for the virtual router rejected, by reason (auth, version, interval, addresses, ttl, checksum, malformed)", func(in stats.VRRPInstance, l string) {
		reasons := make([]string, 0, len(in.Rejected))
		for r := range in.Rejected {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			bw.WriteString("tandem_vrrp_adverts_rejected_total{" + l + `,reason="` + escape(r) + `"} ` + strconv.FormatUint(in.Rejected[r], 10) + "\n")
		}
	})
}
