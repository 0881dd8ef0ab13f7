// Package stats builds HAProxy's statistics from tandem's live state: the rows of
// `show stat` and the `;csv` export (same columns, same order, same meaning), and the
// HTML stats page with its colours, auto-refresh, basic authentication and admin
// actions, plus a VRRP section. The runtime API and the Prometheus exporter read the
// same rows.
package stats

import (
	"cmp"
	"slices"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/proxystats"
	"tandem/internal/stick"
	"tandem/internal/tlsconf"
)

// Process is what the pages say about the running process.
type Process struct {
	Pid         int
	Version     string
	ReleaseDate string // "2026/11/22"; "" = unknown
	Start       time.Time
	Node        string // host name
	MaxConn     int    // effective global maxconn
	MaxSock     int    // descriptor limit
	Nbthread    int
}

// CheckInfo is a server's health-check state. The health checks (issue 3) provide it
// through Source.Check; without it a server shows as not checked ("no check").
type CheckInfo struct {
	Enabled    bool          // checks run for this server
	Status     string        // HAProxy's check status: L4OK, L4CON, L7OK, L7STS, ...
	Code       int           // HTTP status of the last layer-7 check, 0: none
	Duration   time.Duration // of the last check
	Desc       string        // "Layer4 connection problem", ...
	Info       string        // details of the last check ("Connection refused")
	Fails      uint64        // failed checks (chkfail)
	Downs      uint64        // UP->DOWN transitions (chkdown)
	LastChange time.Time     // last UP/DOWN transition; zero: since start
	Downtime   time.Duration // total time spent DOWN
	Health     int           // 0 .. rise+fall-1, as HAProxy's check_health
	Rise, Fall int
}

// VRRPInstance is what the pages show of one VRRP instance.
type VRRPInstance struct {
	Name, Interface string
	VRID            uint8
	State           string // INIT, BACKUP, MASTER, FAULT
	Since           time.Time
	Priority        int // effective
	BasePriority    int // configured
	Master          string
	VIPs            []string
	AdvertsSent     uint64
	AdvertsReceived uint64
	// Trackers and Transitions come from ha.InstanceStatus.
	Trackers    []VRRPTracker
	Transitions []VRRPTransition // oldest first
	// Split brain: episodes by kind since start (dual_master, master_returned,
	// config_mismatch, peer_unreachable), the last ones (ended, then active), adverts rejected by
	// reason class, and adverts from another master received while MASTER.
	Episodes          map[string]uint64
	EpisodeLog        []VRRPEpisode
	Rejected          map[string]uint64
	PeerMasterAdverts uint64
	// Failover timeline: the last takeovers (oldest first) and, since start, a
	// histogram of each stage (detect, vips_added, first_garp, first_served).
	Takeovers       []VRRPTakeover
	StageHistograms map[string]Histogram
}

// VRRPEpisodeKinds and VRRPStages are the keys of VRRPInstance.Episodes and
// StageHistograms, in the order every output lists them: ha's split-brain episode
// kinds and takeover stages (ha.EpisodeKinds, ha.Stages; a test in internal/metrics
// keeps them equal). The outputs list each (every series exists from the start).
var (
	VRRPEpisodeKinds = []string{"dual_master", "master_returned", "config_mismatch", "peer_unreachable"}
	VRRPStages       = []string{"detect", "vips_added", "first_garp", "first_served"}
)

// VRRPTakeover is the timeline of one transition to MASTER; a stage not reached or not
// known is the zero time.
type VRRPTakeover struct {
	From, Reason string
	LastAdvert   time.Time // the last advert heard from another router
	TimerFired   time.Time // Master_Down_Timer (timer takeovers only)
	Master       time.Time
	VIPsAdded    time.Time
	FirstGARP    time.Time
	FirstServed  time.Time // first connection accepted on a VIP
}

// Histogram is a Prometheus histogram: Counts[i] observations in (Bounds[i-1],
// Bounds[i]], the last element those above every bound; Sum in seconds.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Sum    float64
	Count  uint64
}

// VRRPEpisode is one split-brain episode of an instance.
type VRRPEpisode struct {
	Kind       string
	Start, End time.Time // End zero while it lasts
	Peer       string
	Detail     string
	Adverts    uint64
}

// VRRPTracker is one tracked script, interface or in-process check of an instance and
// what it adds to (or takes from) the priority.
type VRRPTracker struct {
	Name  string
	OK    bool
	Delta int // contribution to the effective priority now
}

// VRRPTransition is one state change of an instance.
type VRRPTransition struct {
	At       time.Time
	From, To string
	Reason   string
}

// Source is the live state the pages, the runtime API and the exporter read. Config and
// Pools are read on every request: they follow reloads.
type Source struct {
	Config    func() *config.Config
	Pools     func() map[string]*backend.Pool
	Frontends *proxystats.Registry
	Process   Process
	Now       func() time.Time // nil: time.Now
	// VRRP returns the VRRP instances, and false when VRRP does not run (no -k);
	// nil: no VRRP.
	VRRP func() ([]VRRPInstance, bool)
	// Check returns a server's health-check state (issue 3 wires it); nil or !ok: the
	// server is shown as not checked.
	Check func(s *backend.Server) (CheckInfo, bool)
	// VRRPSwitchover hands the VIPs of a MASTER VRRP instance ("" every MASTER
	// instance) over to the peers (`vrrp switchover`); nil: not available.
	VRRPSwitchover func(instance string) error
	// SetHealth enables or disables the health checks of a server (issue 3 wires it;
	// "enable/disable health" and the page's health actions). nil: not available.
	SetHealth func(backend, server string, on bool) error
	// Tables returns the live stick tables of the running configuration, in file order
	// (`show|set|clear table`); nil: none.
	Tables func() []*stick.Table
	// Certs are the certificates of the TLS binds (runtime API ssl commands); nil: none.
	Certs *tlsconf.Registry
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Row types, as the CSV's "type" column.
const (
	TypeFrontend = 0
	TypeBackend  = 1
	TypeServer   = 2
)

// Row is one line of `show stat`: a frontend, a backend or a server.
type Row struct {
	Type            int
	PxName, SvName  string
	IID, SID        int
	Mode            string
	QCur, QMax      int64
	SCur, SMax      int64
	SLim            int64 // 0: none
	QLimit          int64 // a server's maxqueue; 0: none (the column stays empty)
	STot            uint64
	BIn, BOut       uint64
	DReq, EReq      uint64
	EConn, EResp    uint64
	WRetr, WRedis   uint64
	Status          string
	Weight, UWeight int
	Act, Bck        int
	LBTot           uint64
	Rate, RateMax   uint64
	Hrsp            [6]uint64
	ReqRate         uint64
	ReqRateMax      uint64
	ReqTot          uint64
	Intercepted     uint64
	Addr, Cookie    string
	Algo            string
	LastChg         int64      // seconds since the last state change
	Check           *CheckInfo // servers with checks on
	Server          *backend.Server
	Pool            *backend.Pool
	Backup          bool
}

// proxy is one named proxy in declaration order: a frontend, a backend, or both (listen).
type proxy struct {
	name string
	pos  config.Pos
	fe   *config.Frontend
	be   *config.Backend
	iid  int
}

func proxies(cfg *config.Config) []*proxy {
	byName := map[string]*proxy{}
	var out []*proxy
	get := func(name string, pos config.Pos) *proxy {
		p := byName[name]
		if p == nil {
			p = &proxy{name: name, pos: pos}
			byName[name] = p
			out = append(out, p)
		}
		return p
	}
	files := map[string]int{}
	for _, f := range cfg.Frontends {
		if _, ok := files[f.Pos.File]; !ok {
			files[f.Pos.File] = len(files)
		}
		get(f.Name, f.Pos).fe = f
	}
	for _, b := range cfg.Backends {
		if _, ok := files[b.Pos.File]; !ok {
			files[b.Pos.File] = len(files)
		}
		get(b.Name, b.Pos).be = b
	}
	slices.SortStableFunc(out, func(a, b *proxy) int {
		if c := cmp.Compare(files[a.pos.File], files[b.pos.File]); c != 0 {
			return c
		}
		return cmp.Compare(a.pos.Line, b.pos.Line)
	})
	for i, p := range out {
		p.iid = i + 2 // HAProxy 2.6 numbers user proxies from 2
	}
	return out
}

// Rows returns every row, proxies in declaration order: its frontend, its servers,
// its backend.
func (s *Source) Rows() []Row {
	cfg := s.Config()
	if cfg == nil {
		return nil
	}
	pools := s.Pools()
	now := s.now()
	uptime := int64(now.Sub(s.Process.Start).Seconds())
	var rows []Row
	for _, p := range proxies(cfg) {
		if f := p.fe; f != nil {
			rows = append(rows, s.frontendRow(p, f, now))
		}
		if b := p.be; b != nil {
			pool := pools[b.Name]
			be := Row{Type: TypeBackend, PxName: b.Name, SvName: "BACKEND", IID: p.iid, Mode: b.Mode.String(),
				Algo: b.Balance.Algo.String(), Pool: pool, LastChg: uptime, Status: "DOWN"}
			if pool != nil {
				be.QCur, be.QMax = int64(pool.Queued()), int64(pool.MaxQueued())
				for i, sv := range pool.Servers {
					r := s.serverRow(p, b, sv, i+1, now, uptime)
					rows = append(rows, r)
					be.SCur += r.SCur
					be.SMax = max(be.SMax, r.SMax) // a lower bound of the backend's own max
					be.STot += r.STot
					be.BIn += r.BIn
					be.BOut += r.BOut
					be.EConn += r.EConn
					be.EResp += r.EResp
					be.WRetr += r.WRetr
					be.WRedis += r.WRedis
					be.LBTot += r.LBTot
					be.ReqTot += r.ReqTot
					for k := range be.Hrsp {
						be.Hrsp[k] += r.Hrsp[k]
					}
					if sv.Usable() && sv.EffectiveWeight() > 0 {
						if sv.Cfg.Backup {
							be.Bck++
						} else {
							be.Act++
							be.Weight += sv.EffectiveWeight()
						}
					}
					if !sv.Cfg.Backup {
						be.UWeight += sv.EffectiveWeight()
					}
				}
			}
			if be.Act+be.Bck > 0 || pool == nil || len(pool.Servers) == 0 {
				be.Status = "UP"
			}
			be.SLim = int64(slimOf(p))
			rows = append(rows, be)
		} else if p.fe != nil && p.fe.Listen {
			// A stats-only listen section: HAProxy still shows its (empty) backend.
			rows = append(rows, Row{Type: TypeBackend, PxName: p.name, SvName: "BACKEND", IID: p.iid,
				Mode: p.fe.Mode.String(), Status: "UP", LastChg: uptime, SLim: int64(slimOf(p))})
		}
	}
	return rows
}

// slimOf is a backend's session limit as HAProxy shows it: its fullconn (the parser
// fills HAProxy's default), else the default for the frontend maxconn.
func slimOf(p *proxy) int {
	if p.be != nil && p.be.FullConn > 0 {
		return p.be.FullConn
	}
	mc := config.DefaultMaxConn
	if p.fe != nil && p.fe.MaxConn > 0 {
		mc = p.fe.MaxConn
	}
	return config.DefaultFullConn(mc)
}

func (s *Source) frontendRow(p *proxy, f *config.Frontend, now time.Time) Row {
	c := s.Frontends.Frontend(f.Name).Snapshot(now)
	return Row{Type: TypeFrontend, PxName: f.Name, SvName: "FRONTEND", IID: p.iid, Mode: f.Mode.String(),
		SCur: c.Cur, SMax: c.Max, SLim: int64(f.MaxConn), STot: c.Total, BIn: c.BytesIn, BOut: c.BytesOut,
		DReq: c.Denied, EReq: c.ReqErr, Status: "OPEN", Rate: c.SessRate, RateMax: c.SessRateMax,
		Hrsp: c.Responses, ReqRate: c.ReqRate, ReqRateMax: c.ReqRateMax, ReqTot: c.Requests, Intercepted: c.Intercepted}
}

func (s *Source) serverRow(p *proxy, b *config.Backend, sv *backend.Server, sid int, now time.Time, uptime int64) Row {
	r := Row{Type: TypeServer, PxName: b.Name, SvName: sv.Cfg.Name, IID: p.iid, SID: sid, Mode: b.Mode.String(),
		QCur: int64(sv.Queued()), QMax: int64(sv.MaxQueued()), SCur: sv.Cur(), SMax: sv.Max(), SLim: int64(sv.Cfg.MaxConn),
		QLimit: int64(sv.Cfg.MaxQueue),
		STot:   sv.Total.Load(), BIn: sv.BytesIn.Load(), BOut: sv.BytesOut.Load(),
		EConn: sv.ConnErr.Load(), EResp: sv.RespErr.Load(), WRetr: sv.Retries.Load(), WRedis: sv.Redisp.Load(),
		Weight: sv.EffectiveWeight(), UWeight: sv.EffectiveWeight(), LBTot: sv.LBTotal.Load(),
		Addr: sv.Addr, Cookie: sv.Cfg.Cookie, Server: sv, Backup: sv.Cfg.Backup, LastChg: uptime}
	if sv.Cfg.Backup {
		r.Bck = 1
	} else {
		r.Act = 1
	}
	var tot uint64
	for k := range r.Hrsp {
		r.Hrsp[k] = sv.Responses[k].Load()
		tot += r.Hrsp[k]
	}
	if b.Mode == config.ModeHTTP {
		r.ReqTot = tot
	}
	if s.Check != nil {
		if ci, ok := s.Check(sv); ok && ci.Enabled {
			r.Check = &ci
			if !ci.LastChange.IsZero() {
				r.LastChg = int64(now.Sub(ci.LastChange).Seconds())
			}
		}
	} else if c := sv.Cfg.Check; c.Enabled {
		// ISSUE 3: until the health checks provide Source.Check, a checked server shows
		// the health its state says, without check details.
		ci := CheckInfo{Enabled: true, Rise: c.Rise, Fall: c.Fall}
		if sv.Up() {
			ci.Health = c.Rise + c.Fall - 1
		}
		r.Check = &ci
	}
	r.Status = serverStatus(sv, r.Check)
	return r
}

// serverStatus is the status column of a server, as HAProxy writes it.
func serverStatus(sv *backend.Server, ci *CheckInfo) string {
	if sv.Cfg.Disabled || sv.Admin() == backend.AdminMaint {
		return "MAINT"
	}
	up := sv.Up()
	if !up {
		if ci != nil && ci.Health > 0 {
			return "DOWN " + itoa(ci.Health) + "/" + itoa(ci.Rise) // going up
		}
		return "DOWN"
	}
	if sv.Admin() == backend.AdminDrain {
		return "DRAIN"
	}
	if sv.EffectiveWeight() == 0 {
		return "NOLB"
	}
	if ci == nil {
		return "no check"
	}
	if ci.Health < ci.Rise+ci.Fall-1 { // going down
		return "UP " + itoa(ci.Health-ci.Rise+1) + "/" + itoa(ci.Fall)
	}
	return "UP"
}
