package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/proxyproto"
)

// Options make a Runner.
type Options struct {
	Backend *config.Backend
	Server  *config.Server
	State   *backend.State
	Log     *slog.Logger
	Spread  int           // global spread-checks, percent
	First   time.Duration // delay before the first check (the daemon spreads servers over inter)
	// Now and NewTimer are the clock; nil means the real one.
	Now      func() time.Time
	NewTimer func(d time.Duration) (<-chan time.Time, func() bool)
	// Prev is the stopped runner this one replaces (the server's check settings changed
	// on reload): its health counter and agent verdict carry over.
	Prev *Runner
	// ShutdownSessions closes the server's sessions and returns how many; it is called
	// when the server goes DOWN and has on-marked-down shutdown-sessions.
	ShutdownSessions func() int
}

// Runner checks one server for as long as Run runs.
type Runner struct {
	opt     Options
	be      *config.Backend
	srv     *config.Server
	st      *backend.State
	log     *slog.Logger
	checker Checker // nil: agent only
	agent   *Agent
	pool    atomic.Pointer[backend.Pool]
	now     func() time.Time
	timer   func(d time.Duration) (<-chan time.Time, func() bool)

	m         Machine
	agentDown bool
	agentWhy  string
	lastUp    bool // the state last applied to st
	rampStart time.Time

	observed atomic.Int32 // consecutive errors seen on live traffic
	lastObs  atomic.Int32 // last observed error: 0 connection, else the status
	trigger  chan struct{}
}

// Fingerprint is equal for two configurations under which a runner would check the same
// way: the daemon keeps a runner (and the health it learnt) across a reload when it is.
func Fingerprint(be *config.Backend, s *config.Server) string {
	return fmt.Sprintf("%v|%+v|%+v|%v|%v|%d|%v|%s", s.Addr, s.Check, be.Check, be.Timeouts.Check, be.Timeouts.Connect, s.Weight, s.Backup, be.Mode)
}

// Wanted reports whether server s gets a runner: it has `check` or `agent-check` and is
// not disabled.
func Wanted(s *config.Server) bool {
	return (s.Check.Enabled || s.Check.Agent) && !s.Disabled
}

// NewRunner builds the runner of opt.Server. The server's state is left as it is (a
// server that was DOWN under the previous configuration stays DOWN until rise checks
// pass); a new server starts UP, one failure away from DOWN, as in HAProxy 2.6.
func NewRunner(opt Options) (*Runner, error) {
	r := &Runner{opt: opt, be: opt.Backend, srv: opt.Server, st: opt.State, log: opt.Log,
		now: opt.Now, timer: opt.NewTimer, trigger: make(chan struct{}, 1)}
	if r.now == nil {
		r.now = time.Now
	}
	if r.timer == nil {
		r.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	c := r.srv.Check
	ip := r.srv.Addr.Addr()
	if c.Addr.IsValid() {
		ip = c.Addr
	}
	port := int(r.srv.Addr.Port())
	if c.Port > 0 {
		port = c.Port
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	if c.Enabled {
		hc := r.be.Check
		var tlsConf *tls.Config
		if st := r.srv.TLS; st != nil && st.CheckSSL {
			tlsConf = st.CheckConfig()
		}
		var proxy []byte
		if r.srv.CheckSendProxy {
			proxy = proxyproto.AppendServer(nil, r.srv.SendProxy, r.srv.SendProxySSL, proxyproto.Client{})
		}
		switch {
		case hc.TCPCheck && len(hc.TCPRules) > 0:
			t, err := NewTCPRules(addr, hc.TCPRules)
			if err != nil {
				return nil, fmt.Errorf("backend %q: server %q: %w", r.be.Name, r.srv.Name, err)
			}
			t.TLS, t.Proxy = tlsConf, proxy
			r.checker = t
		case hc.HTTP:
			h, err := NewHTTP(addr, hc)
			if err != nil {
				return nil, fmt.Errorf("backend %q: server %q: %w", r.be.Name, r.srv.Name, err)
			}
			h.TLS, h.Proxy = tlsConf, proxy
			r.checker = h
		default:
			r.checker = &TCP{Addr: addr, TLS: tlsConf, Proxy: proxy}
		}
	}
	if c.Agent {
		aip := ip
		if c.AgentAddr.IsValid() {
			aip = c.AgentAddr
		}
		r.agent = &Agent{Addr: netip.AddrPortFrom(aip, uint16(c.AgentPort)).String(), Send: c.AgentSend}
	}
	if c.Observe != "" && c.Enabled {
		r.st.SetObserver(r)
	}
	r.m = NewMachine(c.Rise, c.Fall)
	if !r.st.Up() {
		r.m.Up, r.m.Health = false, 0
	}
	if pr := opt.Prev; pr != nil {
		r.m.Up = pr.m.Up
		if r.m.Up { // keep the distance to the edge, within the new rise/fall
			r.m.Health = min(r.m.Rise+(pr.m.Health-pr.m.Rise), r.m.top())
		} else {
			r.m.Health = min(pr.m.Health, r.m.Rise-1)
		}
		if c.Agent && pr.agent != nil {
			r.agentDown, r.agentWhy = pr.agentDown, pr.agentWhy
		}
		r.rampStart = pr.rampStart
	}
	r.lastUp = r.st.Up()
	r.st.UpdateCheckInfo(func(ci *backend.CheckInfo) {
		ci.Enabled, ci.Agent = c.Enabled, c.Agent
		ci.Rise, ci.Fall, ci.Health, ci.Phase = r.m.Rise, r.m.Fall, r.m.Health, r.m.Phase()
		if ci.LastChange.IsZero() {
			ci.LastChange = r.now()
		}
	})
	return r, nil
}

// SetPool tells the runner which pool now holds its server (for the "N active and M
// backup servers left" of its log lines). The daemon calls it on each reload.
func (r *Runner) SetPool(p *backend.Pool) { r.pool.Store(p) }

// Observe implements backend.Observer (observe layer4|layer7): consecutive errors on live
// traffic, error-limit of them in a row, make the runner apply on-error.
func (r *Runner) Observe(connErr bool, code int) {
	c := &r.srv.Check
	bad := connErr || (c.Observe == "layer7" && code >= 500 && code != 501 && code != 505)
	if !bad {
		if r.observed.Load() != 0 {
			r.observed.Store(0)
		}
		return
	}
	r.lastObs.Store(int32(code))
	if int(r.observed.Add(1)) >= c.ErrorLimit {
		r.observed.Store(0)
		select {
		case r.trigger <- struct{}{}:
		default:
		}
	}
}

// Run checks until ctx ends. Every goroutine it starts ends before it returns.
func (r *Runner) Run(ctx context.Context) {
	c := &r.srv.Check
	if c.Observe != "" {
		defer r.st.ClearObserver(r)
	}
	var checkC, agentC, rampC <-chan time.Time
	stops := [3]func() bool{}
	defer func() {
		for _, s := range stops {
			if s != nil {
				s()
			}
		}
	}()
	arm := func(i int, d time.Duration) <-chan time.Time {
		if stops[i] != nil {
			stops[i]()
		}
		ch, stop := r.timer(r.align(d))
		stops[i] = stop
		return ch
	}
	if r.checker != nil {
		checkC = arm(0, r.opt.First)
	}
	if r.agent != nil {
		agentC = arm(1, r.opt.First+r.agentInter()/2)
	}
	if !r.rampStart.IsZero() {
		rampC = arm(2, r.rampStep())
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-checkC:
			if !r.st.HealthChecksOn() {
				// disable health: no check until enabled again; the server is unchecked,
				// hence UP, and checks resume from a full health counter.
				r.m = NewMachine(c.Rise, c.Fall)
				r.m.Health = r.m.top()
				r.sync(r.now(), Result{}, false)
				checkC = arm(0, c.Inter)
				continue
			}
			res := r.runCheck(ctx, r.checker.Check)
			if ctx.Err() != nil {
				return
			}
			r.apply(res)
			checkC = arm(0, r.jitter(r.m.Interval(c.Inter, c.FastInter, c.DownInter)))
		case <-agentC:
			r.runAgent(ctx)
			if ctx.Err() != nil {
				return
			}
			agentC = arm(1, r.jitter(r.agentInter()))
		case <-r.trigger:
			if r.checker != nil {
				r.onError()
				checkC = arm(0, r.fastInter())
			}
		case <-rampC:
			rampC = nil
		}
		if !r.rampStart.IsZero() {
			if r.updateRamp() && rampC == nil {
				rampC = arm(2, r.rampStep())
			}
		}
	}
}

// tick is the grid check times are rounded up to, so that the checks of many servers
// wake the process together instead of one by one (a thousand wake-ups a second cost
// more than the checks themselves).
const tick = 10 * time.Millisecond

// align stretches d (by less than tick) so that it ends on the tick grid; short delays
// are left alone.
func (r *Runner) align(d time.Duration) time.Duration {
	if d < 10*tick {
		return d
	}
	end := r.now().Add(d)
	return d + end.Truncate(tick).Add(tick).Sub(end)
}

func (r *Runner) agentInter() time.Duration {
	if r.srv.Check.AgentInter > 0 {
		return r.srv.Check.AgentInter
	}
	return r.srv.Check.Inter
}

func (r *Runner) fastInter() time.Duration {
	if f := r.srv.Check.FastInter; f > 0 {
		return f
	}
	return r.srv.Check.Inter
}

// jitter applies spread-checks: ±Spread% of d, at random.
func (r *Runner) jitter(d time.Duration) time.Duration {
	if r.opt.Spread <= 0 || d <= 0 {
		return d
	}
	span := int64(d) * int64(r.opt.Spread) / 100
	if span <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(2*span+1)-span)
}

// timeout bounds one check: min(timeout connect, inter) + timeout check when timeout
// check is set, else inter (HAProxy's rule).
func (r *Runner) timeout(inter time.Duration) time.Duration {
	tc := r.be.Timeouts.Check
	if tc <= 0 {
		return inter
	}
	conn := inter
	if ct := r.be.Timeouts.Connect; ct > 0 && ct < conn {
		conn = ct
	}
	return conn + tc
}

// runCheck runs one check in a short-lived goroutine: the dialer's deep stack then never
// grows the runner's, so a thousand idle runners stay small.
func (r *Runner) runCheck(ctx context.Context, f func(context.Context) Result) Result {
	cctx, cancel := context.WithTimeout(ctx, r.timeout(r.srv.Check.Inter))
	defer cancel()
	ch := make(chan Result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				r.log.Error("health check panic", "backend", r.be.Name, "server", r.srv.Name, "panic", v)
				ch <- Result{Status: StatusUnknown, Info: "internal error"}
			}
		}()
		ch <- f(cctx)
	}()
	return <-ch
}

// apply takes one check result into the machine and the server's state.
func (r *Runner) apply(res Result) {
	before := r.m.Health
	tr := r.m.Step(res.OK())
	now := r.now()
	r.st.UpdateCheckInfo(func(ci *backend.CheckInfo) {
		ci.Status, ci.Desc, ci.Code, ci.Info, ci.Duration = res.Status.String(), res.Status.Desc(), res.Code, res.Info, res.Duration
		if !res.OK() {
			ci.Failures++
		}
	})
	if r.be.Check.LogHealth && (r.m.Health != before || tr != Stay) {
		r.logCheck(res)
	}
	// Sync also when nothing moved but the live state disagrees (the runtime API forced
	// it while this runner was between checks).
	if tr != Stay || r.m.Health != before || r.st.Up() != (r.m.Up && !r.agentDown) {
		r.sync(now, res, tr != Stay)
	}
}

// logCheck is the `option log-health-checks` line of a check that moved the counter.
func (r *Runner) logCheck(res Result) {
	verb := "failed"
	if res.OK() {
		verb = "succeeded"
	}
	n, of := r.m.Counter()
	state := "DOWN"
	if r.m.Up {
		state = "UP"
	}
	r.log.Info(fmt.Sprintf("Health check for %sserver %s/%s %s, reason: %s, check duration: %dms, status: %d/%d %s.",
		r.backupWord(false), r.be.Name, r.srv.Name, verb, reasonText(res), res.Duration.Milliseconds(), n, of, state),
		"backend", r.be.Name, "server", r.srv.Name, "check_status", res.Status.String())
}

func (r *Runner) backupWord(capital bool) string {
	switch {
	case !r.srv.Backup:
		return ""
	case capital:
		return "Backup "
	}
	return "backup "
}

// reasonText is "Layer7 wrong status, code: 503, info: \"Service Unavailable\"".
func reasonText(res Result) string {
	s := res.Status.Desc()
	if res.Code > 0 {
		s += ", code: " + strconv.Itoa(res.Code)
	}
	if res.Info != "" {
		s += ", info: \"" + res.Info + "\""
	}
	return s
}

// sync makes the server's live state follow the machine and the agent, and logs the
// transition in HAProxy's words.
func (r *Runner) sync(now time.Time, res Result, changed bool) {
	up := r.m.Up && !r.agentDown
	r.st.UpdateCheckInfo(func(ci *backend.CheckInfo) {
		ci.Health, ci.Phase = r.m.Health, r.m.Phase()
		if r.agentDown && r.m.Up {
			ci.Phase = "DOWN (agent)"
		}
		if up != r.lastUp {
			ci.LastChange = now
			if up {
				if !ci.DownSince.IsZero() {
					ci.DownTotal += now.Sub(ci.DownSince)
				}
				ci.DownSince = time.Time{}
			} else {
				ci.Downs++
				ci.DownSince = now
			}
		}
	})
	// Compare with the live state too: the runtime API may have changed it (disable
	// health marks the server UP) since this runner last applied its verdict.
	if up == r.lastUp && up == r.st.Up() {
		return
	}
	r.lastUp = up
	r.st.SetUp(up)
	if up && r.srv.Check.SlowStart > 0 {
		r.rampStart = now
		r.updateRamp()
	}
	if !up {
		r.rampStart = time.Time{}
		r.st.SetRamp(0)
	}
	r.logTransition(up, res)
	if !up && r.srv.Check.OnMarkedDown == "shutdown-sessions" && r.opt.ShutdownSessions != nil {
		n := r.opt.ShutdownSessions()
		r.log.Info(fmt.Sprintf("Server %s/%s: %d sessions shut down (on-marked-down shutdown-sessions)", r.be.Name, r.srv.Name, n),
			"backend", r.be.Name, "server", r.srv.Name)
	}
}

func (r *Runner) logTransition(up bool, res Result) {
	var active, backup int
	var queued, cur int
	if p := r.pool.Load(); p != nil {
		active, backup = p.CountUsable()
		queued = p.Queued()
	}
	cur = int(r.st.Cur())
	who := fmt.Sprintf("%sServer %s/%s", r.backupWord(true), r.be.Name, r.srv.Name)
	reason := ""
	if !r.be.Check.LogHealth || r.agentWhy != "" {
		reason = ", reason: " + reasonText(res) + fmt.Sprintf(", check duration: %dms", res.Duration.Milliseconds())
	}
	if up {
		r.log.Warn(fmt.Sprintf("%s is UP%s. %d active and %d backup servers online. 0 sessions requeued, %d total in queue.",
			who, reason, active, backup, queued), "backend", r.be.Name, "server", r.srv.Name, "state", "UP")
		return
	}
	onBackup := ""
	if active == 0 && backup > 0 {
		onBackup = " Running on backup."
	}
	r.log.Warn(fmt.Sprintf("%s is DOWN%s. %d active and %d backup servers left.%s %d sessions active, 0 requeued, %d remaining in queue.",
		who, reason, active, backup, onBackup, cur, queued), "backend", r.be.Name, "server", r.srv.Name, "state", "DOWN")
	if active == 0 && backup == 0 {
		r.log.Error(fmt.Sprintf("backend %s has no server available!", r.be.Name), "backend", r.be.Name)
	}
}

// onError applies on-error after error-limit consecutive errors on live traffic.
func (r *Runner) onError() {
	what := "L4 unsuccessful connection"
	if code := r.lastObs.Load(); code > 0 {
		what = "L7 response error (" + strconv.Itoa(int(code)) + ")"
	}
	res := Result{Status: StatusUnknown, Info: fmt.Sprintf("Detected %d consecutive errors, last one was: %s", r.srv.Check.ErrorLimit, what)}
	tr := Stay
	switch r.srv.Check.OnError {
	case "fail-check":
		tr = r.m.Step(false)
	case "sudden-death":
		r.m.SuddenDeath()
	case "mark-down":
		tr = r.m.MarkDown()
	}
	if tr != Stay || r.srv.Check.OnError != "fastinter" {
		r.sync(r.now(), res, tr != Stay)
	}
}

// runAgent runs one agent check and applies its reply.
func (r *Runner) runAgent(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout(r.agentInter()))
	ch := make(chan AgentResult, 1)
	go func() { ch <- r.agent.CheckAgent(cctx) }() // a short-lived stack, as runCheck
	ar := <-ch
	cancel()
	if ctx.Err() != nil {
		return
	}
	r.st.UpdateCheckInfo(func(ci *backend.CheckInfo) {
		ci.AgentStatus, ci.AgentInfo = ar.Status.String(), ar.Line
	})
	if !ar.OK() {
		return // connectivity is the regular check's business
	}
	rep := ar.Reply
	if rep.Weight >= 0 {
		w := r.srv.Weight * rep.Weight / 100
		if w == 0 && rep.Weight > 0 && r.srv.Weight > 0 {
			w = 1 // HAProxy scales weights finely; never let a non-zero percentage drain
		}
		r.st.SetWeight(w)
	}
	if rep.MaxConn > 0 {
		r.st.SetMaxConn(rep.MaxConn)
	}
	switch rep.Admin {
	case "ready":
		r.st.SetAdmin(backend.AdminReady)
	case "drain":
		r.st.SetAdmin(backend.AdminDrain)
	case "maint":
		r.st.SetAdmin(backend.AdminMaint)
	}
	switch rep.Oper {
	case "up":
		r.agentDown, r.agentWhy = false, ""
	case "down", "fail", "stopped":
		r.agentDown, r.agentWhy = true, rep.Oper
	default:
		return
	}
	info := "via agent : " + rep.Oper
	if rep.Desc != "" {
		info += " (" + rep.Desc + ")"
	}
	r.sync(r.now(), Result{Status: L7OK, Info: info, Duration: ar.Duration}, false)
}

// rampStep is how often the slowstart weight is raised.
func (r *Runner) rampStep() time.Duration {
	return max(r.srv.Check.SlowStart/20, 50*time.Millisecond)
}

// updateRamp sets the slowstart factor for now; it reports whether the ramp goes on.
func (r *Runner) updateRamp() bool {
	ss := r.srv.Check.SlowStart
	el := r.now().Sub(r.rampStart)
	if el >= ss || ss <= 0 {
		r.rampStart = time.Time{}
		r.st.SetRamp(0)
		return false
	}
	r.st.SetRamp(max(1, int(int64(el)*1000/int64(ss))))
	return true
}

// Release undoes what the runner did to the server's state, for a server that keeps
// running without checks after a reload: UP, configured weight, no ramp.
func (r *Runner) Release() {
	r.st.ClearObserver(r)
	r.st.SetRamp(0)
	if r.agent != nil {
		r.st.SetWeight(-1)
		r.st.SetMaxConn(0)
	}
	r.st.SetUp(true)
	r.st.UpdateCheckInfo(func(ci *backend.CheckInfo) { ci.Enabled, ci.Agent = false, false })
}
