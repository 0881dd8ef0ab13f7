// Package config holds tandem's resolved configuration model: what a parsed and
// validated haproxy.cfg (and, later, keepalived.conf) means, independent of syntax.
//
// A *Config is immutable once built: parsers in the sub-packages produce it, the
// daemon swaps it in on reload. Live state (server up/down, counters) lives
// elsewhere, keyed by Backend.Name + Server.Name.
package config

import (
	"fmt"
	"net/netip"
	"time"

	"tandem/internal/rules"
	"tandem/internal/sample"
	"tandem/internal/tlsconf"
)

// Pos is where something was written: file and 1-based line.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return fmt.Sprintf("line %d", p.Line)
	case p.Line == 0: // the file as a whole (it cannot be read, say)
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Config is one whole resolved configuration.
type Config struct {
	Global    Global
	Frontends []*Frontend   // frontend sections and the frontend half of listen sections, in file order
	Backends  []*Backend    // backend sections and the backend half of listen sections, in file order
	Tables    []*StickTable // stick-table lines, in file order (names are unique)
	Warnings  []*Error      // non-fatal findings (accepted but noteworthy), file:line each
	// Patterns holds the pattern files (acl -f) and map files (map()) the rules read,
	// and each ACL's inline patterns: live state the runtime API changes (add acl,
	// set map…) until the next reload reads the files again. Never nil once parsed.
	Patterns *sample.Store
}

// Backend returns the backend named name, or nil.
func (c *Config) Backend(name string) *Backend {
	for _, b := range c.Backends {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Frontend returns the frontend named name, or nil.
func (c *Config) Frontend(name string) *Frontend {
	for _, f := range c.Frontends {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Global is the global section.
type Global struct {
	Pos           Pos
	MaxConn       int // 0: not set (tandem derives one from the fd limit)
	NbThread      int // 0: not set (use every CPU)
	Logs          []LogTarget
	Chroot        string
	User, Group   string
	Daemon        bool // accepted; tandem stays in the foreground
	PidFile       string
	StatsSockets  []StatsSocket
	HardStopAfter time.Duration // 0: not set
	BufSize       int           // tune.bufsize, default DefaultBufSize
	MaxRewrite    int           // tune.maxrewrite, default DefaultMaxRewrite
	H2            H2Tunables    // tune.h2.*, resolved
	SpreadChecks  int           // percent, 0..50
	StatsTimeout  time.Duration // `stats timeout`: idle runtime API sessions close after it; 0: default 10s
	// log-tag: the syslog tag of log lines ("" : the program's name, as HAProxy)
	LogTag string
	// log-send-hostname [NAME]: write a host name in syslog headers (NAME "" : the system's)
	LogSendHostname bool
	LogHostname     string
}

// H2Tunables are the global section's tune.h2.* settings (HTTP/2 frontends).
type H2Tunables struct {
	HeaderTableSize      int // tune.h2.header-table-size
	InitialWindowSize    int // tune.h2.initial-window-size
	MaxConcurrentStreams int // tune.h2.max-concurrent-streams (0: no limit)
}

// Defaults from HAProxy's documentation.
const (
	DefaultH2HeaderTableSize      = 4096
	DefaultH2InitialWindowSize    = 65535
	DefaultH2MaxConcurrentStreams = 100

	DefaultBufSize    = 16384
	DefaultMaxRewrite = 1024
	DefaultMaxConn    = 2000 // a proxy's maxconn when none is set anywhere (HAProxy: 2000 per frontend)
	DefaultRetries    = 3
	DefaultInter      = 2 * time.Second
	DefaultRise       = 2
	DefaultFall       = 3
	DefaultWeight     = 1
	MaxWeight         = 256
	MaxHeaders        = 101 // request or response header lines, as HAProxy's global.tune.http.maxhdr
)

// LogTarget is one `log` line: where, how and what to send.
type LogTarget struct {
	Pos      Pos
	Global   bool   // `log global` in a proxy: use the global targets
	Address  string // "udp@host:port", "/dev/log", "stdout", "stderr", "unix@/path" ...
	Len      int    // max line length, 0 = default (1024)
	Format   string // rfc3164 (default), rfc5424, short, raw
	Facility string
	Level    string // max level, "" = all
	MinLevel string
}

// StatsSocket is one `stats socket` line of global.
type StatsSocket struct {
	Pos     Pos
	Address string // unix path, or "ipv4@ADDR:PORT"
	Mode    uint32 // file mode for unix sockets, 0 = default
	Level   string // user | operator | admin; default operator
}

// Mode is a proxy's mode.
type Mode int

const (
	ModeTCP Mode = iota // HAProxy's default
	ModeHTTP
)

func (m Mode) String() string {
	if m == ModeHTTP {
		return "http"
	}
	return "tcp"
}

// HTTPConnMode is how HTTP connections are kept (option http-keep-alive, http-server-close, httpclose).
type HTTPConnMode int

const (
	HTTPKeepAlive   HTTPConnMode = iota // default: both sides kept alive
	HTTPServerClose                     // client side kept alive, server side closed after each response
	HTTPClose                           // both sides closed after each response
)

// Timeouts are a proxy's `timeout` values. Zero means not set (no timeout), except where
// the resolver applies a safe default (documented in the README).
type Timeouts struct {
	Connect       time.Duration
	Client        time.Duration
	Server        time.Duration
	Queue         time.Duration // 0: falls back to Connect, as HAProxy does
	HTTPRequest   time.Duration // 0: falls back to Client
	HTTPKeepAlive time.Duration // 0: falls back to HTTPRequest, then Client
	Tunnel        time.Duration // 0: falls back to Client/Server
	ClientFin     time.Duration
	ServerFin     time.Duration
	Check         time.Duration // health checks (issue 3)
	Tarpit        time.Duration // how long http-request tarpit holds a request (resolved: Connect when not set)
}

// Bind is one listening address of a frontend.
type Bind struct {
	Pos  Pos
	Addr netip.AddrPort // unspecified address (0.0.0.0 or ::) for "*:port" and ":::port"
	Any  bool           // written "*:port" or ":port": every IPv4 address (and IPv6 when dual-stack)
	Text string         // as written, for messages
	TLS  *tlsconf.Bind  // bind … ssl: certificates and settings (nil: plain)
	Name string         // bind option name: a label (stats), no effect on traffic
	Sock BindSock       // how the socket is made (fd@, socket options)
	// Proto is the bind's "proto" (HAProxy's forced multiplexer): "h2" serves HTTP/2
	// to every connection (h2c with prior knowledge on a plain bind); "" chooses by
	// ALPN on a TLS bind, HTTP/1 otherwise.
	Proto string
	// AcceptProxy: each connection starts with a PROXY protocol header (v1 or v2) whose
	// client address stands for the connection's (bind … accept-proxy).
	AcceptProxy bool
}

// BindSock is how a bind's listening socket is made: an inherited descriptor (fd@N) or
// the socket options of HAProxy's bind line. It is comparable: a listening socket is kept
// across reloads only when its address and BindSock are unchanged.
type BindSock struct {
	FD          int    // fd@N: N+1 (0: not fd@)
	Backlog     int    // backlog N: listen(2) backlog (0: the system's default)
	V4V6        bool   // v4v6: an IPv6 wildcard also accepts IPv4
	V6Only      bool   // v6only: an IPv6 socket accepts IPv6 only
	Interface   string // interface NAME: SO_BINDTODEVICE
	DeferAccept bool   // defer-accept: TCP_DEFER_ACCEPT
	TFO         bool   // tfo: TCP_FASTOPEN
	MSS         int    // mss N: TCP_MAXSEG
	Transparent bool   // transparent: IP_TRANSPARENT / IPV6_TRANSPARENT
	Path        string // unix@PATH or a bare path: a unix stream socket; "@NAME" for abns@NAME
	Mode        uint32 // mode: the unix socket file's permissions (0: the umask's)
	User, Group string // user/uid, group/gid: the unix socket file's owner (names or numbers)
}

// Frontend is a proxy that accepts connections: a frontend section or a listen section's front half.
type Frontend struct {
	Pos            Pos
	Name           string
	Mode           Mode
	Binds          []Bind
	DefaultBackend *Backend // nil: none (a listen section points at its own backend half)
	UseBackends    []UseBackend
	ACLs           *sample.ACLSet // the section's acl lines (shared with its backend half in a listen section)
	MaxConn        int
	Timeouts       Timeouts
	ForwardFor     *ForwardFor // nil: off
	ConnMode       HTTPConnMode
	Logs           []LogTarget
	HTTPLog        bool // option httplog (issue 5)
	HTTPSLog       bool // option httpslog: HTTPLog with the TLS fields
	TCPLog         bool // option tcplog (issue 5)
	DontLogNull    bool
	LogFormat      string
	Stats          *Stats         // stats page served by this proxy (issue 5), nil: none
	ErrorFiles     map[int][]byte // `errorfile CODE FILE`: the whole HTTP response to send for CODE
	Listen         bool           // defined by a listen section
	MetricsPath    string         // `http-request use-service prometheus-exporter if { path P }`: P ("" = none)
	// MetricsRule: an `http-request use-service prometheus-exporter` rule of another form
	// is in Rules.Request; the frontend's service must serve the metrics it hands over.
	MetricsRule bool
	Rules       ProxyRules     // http-request, http-response, http-after-response, redirect
	TCPRules    TCPRules       // tcp-request connection|session|content, tcp-response content
	MonitorURI  string         // `monitor-uri`: answered 200 (or 503 when MonitorFail matches) before any rule
	MonitorFail []*sample.Cond // `monitor fail if|unless COND`
	StickTable  *StickTable    // the proxy's own `stick-table`, nil: none (a listen section's halves share it)
	// `capture request header NAME len N` lines, in order (issue 5)
	Captures []HeaderCapture
	// `capture response header NAME len N` lines, in order (issue 5)
	ResCaptures []HeaderCapture
	// option dontlog-normal: log only errors; option log-separate-errors: errors at level err
	DontLogNormal     bool
	LogSeparateErrors bool
	// option accept-invalid-http-request: request heads are parsed as HAProxy 2.6 relaxes
	// them (http1.Request.ParseLax)
	AcceptInvalidRequest bool
}

// HeaderCapture is one `capture request header NAME len N`: the header's value goes
// to the log line (%hr), cut to Len bytes.
type HeaderCapture struct {
	Pos  Pos
	Name string
	Len  int
}

// UseBackend is one `use_backend NAME [if|unless COND]` rule. Rules are tried in
// order; the first whose condition matches picks the backend.
type UseBackend struct {
	Pos     Pos
	Backend *Backend // the backend named; nil when Name is dynamic
	// Name is a dynamic name (`use_backend %[req.hdr(host),lower]`), evaluated per
	// request: a result that names no backend sends the request to default_backend
	// without trying later rules (HAProxy 2.6). nil for a fixed name.
	Name *sample.LogFormat
	Cond *sample.Cond // nil: always
}

// ForwardFor is `option forwardfor [except NET] [header NAME]`.
type ForwardFor struct {
	Except netip.Prefix // zero: none
	Header string       // default "X-Forwarded-For"
	IfNone bool         // if-none: only when the request has no such header
}

// Balance is a backend's load-balancing algorithm and its argument.
type Balance struct {
	Algo  Algo
	Param string // header name for hdr(NAME), parameter name for url_param
}

// Algo names a balancing algorithm.
type Algo int

const (
	AlgoRoundRobin Algo = iota
	AlgoStaticRR
	AlgoLeastConn
	AlgoSource
	AlgoFirst
	AlgoRandom
	AlgoURI
	AlgoHdr
	AlgoURLParam
)

var algoNames = [...]string{"roundrobin", "static-rr", "leastconn", "source", "first", "random", "uri", "hdr", "url_param"}

func (a Algo) String() string {
	if int(a) < len(algoNames) {
		return algoNames[a]
	}
	return fmt.Sprintf("algo(%d)", int(a))
}

// Hashed reports whether the algorithm maps a request key to a server by hashing.
func (a Algo) Hashed() bool {
	switch a {
	case AlgoSource, AlgoURI, AlgoHdr, AlgoURLParam:
		return true
	}
	return false
}

// HashType is `hash-type`.
type HashType int

const (
	HashMapBased HashType = iota // HAProxy's default
	HashConsistent
)

// CookieMode is the first argument of `cookie NAME`.
type CookieMode int

const (
	CookieInsert CookieMode = iota
	CookiePrefix
	CookieRewrite
)

// Cookie is a backend's `cookie` persistence setting.
type Cookie struct {
	Pos      Pos
	Name     string
	Mode     CookieMode
	Indirect bool
	NoCache  bool
	Preserve bool
	HTTPOnly bool
	Secure   bool
	Domains  []string
	MaxIdle  time.Duration
	MaxLife  time.Duration
}

// Backend is a pool of servers: a backend section or a listen section's back half.
type Backend struct {
	Pos        Pos
	Name       string
	Mode       Mode
	Balance    Balance
	HashType   HashType
	Servers    []*Server
	Cookie     *Cookie // nil: no cookie persistence
	Timeouts   Timeouts
	Retries    int
	Redispatch bool
	AllBackups bool // option allbackups: every usable backup serves when no active is usable
	FullConn   int  // fullconn as written, else DefaultFullConn of the frontends that reach the backend
	ForwardFor *ForwardFor
	ConnMode   HTTPConnMode
	Check      HealthCheck // proxy-level check settings (issue 3)
	ErrorFiles map[int][]byte
	Listen     bool
	Rules      ProxyRules     // the backend's http-request, http-response, http-after-response and redirect rules
	TCPRules   TCPRules       // the backend's tcp-request content and tcp-response content rules
	ACLs       *sample.ACLSet // the section's acl lines (nil: none)
	StickTable *StickTable    // the proxy's own `stick-table`, nil: none
	Stats      *Stats         // stats lines in a backend section: the page answers the requests that reach it (nil: none)
	StickRules []StickRule    // stick match|on|store-request|store-response, in order
	// option accept-invalid-http-response: response heads are parsed as HAProxy 2.6
	// relaxes them (http1.Response.ParseLax)
	AcceptInvalidResponse bool

	// Fault handling (issue 3).
	RedispatchEvery int     // option redispatch N: redispatch on every Nth retry (N>0) or the -Nth before the last (N<0); 0 means -1
	RetryOn         RetryOn // retry-on: which failures replay a request (0: conn-failure)
}

// Server returns the server named name, or nil.
func (b *Backend) Server(name string) *Server {
	for _, s := range b.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// HealthCheck is a backend's proxy-level health check settings (option httpchk, http-check ...).
// Parsed and validated by the core; carried out by the health-check issue.
type HealthCheck struct {
	HTTP      bool   // option httpchk
	Method    string // default OPTIONS
	URI       string // default /
	Version   string // default HTTP/1.0
	Headers   []string
	Expect    string // raw `http-check expect` arguments, "" = any 2xx/3xx
	TCPCheck  bool   // option tcp-check
	LogHealth bool   // option log-health-checks

	TCPRules []TCPCheckRule // tcp-check connect|send|expect rules, in order (option tcp-check)
}

// TCPCheckRule is one `tcp-check connect|send|expect` line.
type TCPCheckRule struct {
	Pos     Pos
	Action  string // connect, send, expect
	Port    int    // connect port N (0: the check port)
	Data    string // send: the bytes to send (send-binary decoded)
	Negate  bool   // expect !
	Match   string // expect: string, rstring, binary
	Pattern string // expect: the pattern (binary decoded)
}

// RetryOn is the set of `retry-on` conditions.
type RetryOn uint32

// retry-on conditions, as HAProxy names them.
const (
	RetryConnFailure RetryOn = 1 << iota
	RetryEmptyResponse
	RetryJunkResponse
	RetryResponseTimeout
	Retry0RTTRejected
	Retry404
	Retry408
	Retry425
	Retry500
	Retry501
	Retry502
	Retry503
	Retry504
	Retry401
	Retry403
	RetryNone RetryOn = 1 << 31 // written "none": nothing is retried, not even connection failures
)

// RetryAllRetryable is `all-retryable-errors`.
const RetryAllRetryable = RetryConnFailure | RetryEmptyResponse | RetryJunkResponse | RetryResponseTimeout |
	Retry0RTTRejected | Retry500 | Retry502 | Retry503 | Retry504

// Has reports whether the set holds c; an empty set means HAProxy's default, conn-failure.
func (r RetryOn) Has(c RetryOn) bool {
	if r == 0 {
		r = RetryConnFailure
	}
	return r&c != 0
}

// RetryStatus reports whether a response with this status is replayed.
func (r RetryOn) RetryStatus(code int) bool {
	var c RetryOn
	switch code {
	case 401:
		c = Retry401
	case 403:
		c = Retry403
	case 404:
		c = Retry404
	case 408:
		c = Retry408
	case 425:
		c = Retry425
	case 500:
		c = Retry500
	case 501:
		c = Retry501
	case 502:
		c = Retry502
	case 503:
		c = Retry503
	case 504:
		c = Retry504
	default:
		return false
	}
	return r&c != 0
}

// Server is one `server` line, with default-server values applied.
type Server struct {
	Pos      Pos
	Name     string
	Host     string // as written (a name or an address literal)
	Addr     netip.AddrPort
	Weight   int // 0..256, default 1
	Backup   bool
	Disabled bool
	MaxConn  int // 0: unlimited; at least MinConn (HAProxy raises it to minconn)
	MinConn  int // 0: not set; below MaxConn, the limit is dynamic (DynamicMaxConn)
	MaxQueue int // 0: unlimited; the most requests that may wait in this server's own queue
	Cookie   string
	Check    ServerCheck
	TLS      *tlsconf.Server // server … ssl (nil: plain)
	// SendProxy is the PROXY protocol header each connection to the server starts with:
	// 0 none, 1 send-proxy (v1), 2 send-proxy-v2; SendProxySSL adds the SSL record
	// (send-proxy-v2-ssl). CheckSendProxy: health checks send one too (HAProxy's default
	// when the server sends one and its checks have no port or addr of their own).
	SendProxy      int
	SendProxySSL   bool
	CheckSendProxy bool
}

// ServerCheck is a server's health-check settings (issue 3 carries them out).
type ServerCheck struct {
	Enabled bool
	Inter   time.Duration
	Rise    int
	Fall    int
	Port    int // 0: the server's port

	FastInter    time.Duration // 0: Inter; the interval while a server is going up or down
	DownInter    time.Duration // 0: Inter; the interval while a server is DOWN
	Addr         netip.Addr    // addr: check this address instead of the server's (zero: the server's)
	SlowStart    time.Duration // a server coming UP ramps its weight over this time
	Observe      string        // "", "layer4" or "layer7": passive checks on live traffic
	ErrorLimit   int           // consecutive observed errors that trigger OnError (default 10)
	OnError      string        // fastinter (default), fail-check, sudden-death, mark-down
	OnMarkedDown string        // "" or "shutdown-sessions"
	InitAddr     string        // init-addr as written ("": libc,last)
	Agent        bool          // agent-check
	AgentPort    int           // agent-port
	AgentAddr    netip.Addr    // agent-addr (zero: the check address)
	AgentInter   time.Duration // 0: Inter
	AgentSend    string        // agent-send
}

// Stats is a proxy's stats page setting (issue 5 serves it).
type Stats struct {
	Pos         Pos
	URI         string // default "/haproxy?stats"
	Refresh     time.Duration
	Realm       string
	Auth        []string // "user:pass"
	Admin       string   // condition, "" = none
	HideVersion bool
	ShowLegends bool   // stats show-legends
	ShowNode    bool   // stats show-node
	NodeName    string // stats show-node NAME; "" = the host name
}

// ProxyRules are a proxy's HTTP rule lists (configuration.txt §4.2), compiled once
// (package rules). A proxy that inherits rules from a named defaults section has
// those first. Request runs when the request is analysed (a frontend's, then its
// chosen backend's), then Redirect (the legacy redirect keyword); Response runs on
// the server's response (the backend's, then the frontend's); AfterResponse on
// every response sent.
type ProxyRules struct {
	Request, Redirect, Response, AfterResponse rules.Program
}

// Empty reports whether there is no rule at all.
func (r *ProxyRules) Empty() bool {
	return len(r.Request)+len(r.Redirect)+len(r.Response)+len(r.AfterResponse) == 0
}

// TCPRules are a proxy's tcp-request and tcp-response rules (configuration.txt §4.2),
// compiled once (package rules). Connection and Session run in frontends when a
// connection is accepted; Content runs in the frontend, then in the chosen backend,
// on the request's first bytes (mode tcp: waiting for them up to InspectDelay) or on
// each parsed request (mode http); Response runs on the server's first bytes.
type TCPRules struct {
	Connection, Session, Content, Response rules.Program
	InspectDelay                           time.Duration // tcp-request inspect-delay (0: rules see what is there)
	ResponseDelay                          time.Duration // tcp-response inspect-delay
}

// Empty reports whether there is no rule at all.
func (r *TCPRules) Empty() bool {
	return len(r.Connection)+len(r.Session)+len(r.Content)+len(r.Response) == 0
}
