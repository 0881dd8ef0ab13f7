package stats

import (
	"strconv"
)

// Info returns `show info` as HAProxy 2.6 writes it: its keys in its order, with
// tandem's values (0 for what tandem has no notion of).
func Info(s *Source) [][2]string {
	now := s.now()
	pr := s.Process
	up := now.Sub(pr.Start)
	var cur, cum, req uint64
	var rate, rateMax uint64
	for _, r := range s.Rows() {
		if r.Type == TypeFrontend {
			cur += uint64(r.SCur)
			cum += r.STot
			req += r.ReqTot
			rate += r.Rate
			rateMax = max(rateMax, r.RateMax)
		}
	}
	n := func(v uint64) string { return strconv.FormatUint(v, 10) }
	d := func(v int) string { return strconv.Itoa(v) }
	sec := int64(up.Seconds())
	release := pr.ReleaseDate
	if release == "" {
		release = pr.Start.UTC().Format("2006/01/02")
	}
	return [][2]string{
		{"Name", "tandem"}, {"Version", pr.Version}, {"Release_date", release},
		{"Nbthread", d(pr.Nbthread)}, {"Nbproc", "1"}, {"Process_num", "1"}, {"Pid", d(pr.Pid)},
		{"Uptime", uptime(up)}, {"Uptime_sec", strconv.FormatInt(sec, 10)},
		{"Memmax_MB", "0"}, {"PoolAlloc_MB", "0"}, {"PoolUsed_MB", "0"}, {"PoolFailed", "0"},
		{"Ulimit-n", d(pr.MaxSock)}, {"Maxsock", d(pr.MaxSock)}, {"Maxconn", d(pr.MaxConn)}, {"Hard_maxconn", d(pr.MaxConn)},
		{"CurrConns", n(cur)}, {"CumConns", n(cum)}, {"CumReq", n(req)},
		{"MaxSslConns", "0"}, {"CurrSslConns", "0"}, {"CumSslConns", "0"},
		{"Maxpipes", "0"}, {"PipesUsed", "0"}, {"PipesFree", "0"},
		{"ConnRate", n(rate)}, {"ConnRateLimit", "0"}, {"MaxConnRate", n(rateMax)},
		{"SessRate", n(rate)}, {"SessRateLimit", "0"}, {"MaxSessRate", n(rateMax)},
		{"SslRate", "0"}, {"SslRateLimit", "0"}, {"MaxSslRate", "0"},
		{"SslFrontendKeyRate", "0"}, {"SslFrontendMaxKeyRate", "0"}, {"SslFrontendSessionReuse_pct", "0"},
		{"SslBackendKeyRate", "0"}, {"SslBackendMaxKeyRate", "0"}, {"SslCacheLookups", "0"}, {"SslCacheMisses", "0"},
		{"CompressBpsIn", "0"}, {"CompressBpsOut", "0"}, {"CompressBpsRateLim", "0"},
		{"Tasks", "0"}, {"Run_queue", "0"}, {"Idle_pct", "100"}, {"node", pr.Node}, {"Stopping", "0"},
		{"Jobs", n(cur)}, {"Unstoppable Jobs", "0"}, {"Listeners", "0"}, {"ActivePeers", "0"}, {"ConnectedPeers", "0"},
		{"DroppedLogs", "0"}, {"BusyPolling", "0"}, {"FailedResolutions", "0"},
		{"TotalBytesOut", n(s.totalBytesOut())}, {"TotalSplicdedBytesOut", "0"}, {"BytesOutRate", "0"},
		{"DebugCommandsIssued", "0"}, {"CumRecvLogs", "0"}, {"Build info", pr.Version},
		{"Memmax_bytes", "0"}, {"PoolAlloc_bytes", "0"}, {"PoolUsed_bytes", "0"},
		{"Start_time_sec", strconv.FormatInt(pr.Start.Unix(), 10)}, {"Tainted", "0"},
	}
}

func (s *Source) totalBytesOut() uint64 {
	var t uint64
	for _, r := range s.Rows() {
		if r.Type == TypeFrontend {
			t += r.BOut
		}
	}
	return t
}
