// Package rules compiles and runs HAProxy 2.6's HTTP actions (configuration.txt
// §4.2 http-request, http-response, http-after-response and the legacy redirect):
// each phase is a list of rules evaluated in order, each rule an action and an
// optional condition (package sample). Rules are compiled once with the
// configuration; running them reads the message the data path already parsed and,
// only when an editing action fires, rebuilds the head into a scratch buffer and
// parses it again so that later rules and the forwarding code see the edit.
//
// The package is pure: files are read through a function the caller passes; no
// syscall, no net/http.
package rules

import (
	"regexp"

	"tandem/internal/sample"
)

// Phase is the list a rule belongs to.
type Phase uint8

// Phases.
const (
	Request       Phase = iota // http-request
	Response                   // http-response
	AfterResponse              // http-after-response
)

var phaseNames = [...]string{"http-request", "http-response", "http-after-response"}

func (p Phase) String() string { return phaseNames[p] }

// Where is what the rules of phase p can fetch.
func (p Phase) Where() sample.Use {
	if p == Request {
		return sample.WhereHTTPRequest
	}
	return sample.WhereHTTPResponse
}

// Action is what a rule does.
type Action uint8

// Actions.
const (
	Allow Action = iota
	Deny
	Tarpit
	Redirect
	Return
	Auth
	AddHeader
	SetHeader
	DelHeader
	ReplaceHeader
	ReplaceValue
	SetPath
	SetPathQ
	ReplacePath
	ReplacePathQ
	SetQuery
	SetURI
	ReplaceURI
	SetMethod
	SetVar
	UnsetVar
	Capture
	SetLogLevel
	SetStatus
	UseService
	Reject
	DisableL7Retry
	SetVarFmt
	SilentDrop
	TrackSC  // track-sc0/1/2 KEY [table T]
	SCIncGPC // sc-inc-gpc0(N), sc-inc-gpc1(N), sc-inc-gpc(IDX,N)
	SCSetGPT // sc-set-gpt0(N) VALUE, sc-set-gpt(IDX,N) VALUE
	Accept   // tcp-request/tcp-response accept
	Close    // tcp-response close
)

var actionNames = [...]string{"allow", "deny", "tarpit", "redirect", "return", "auth", "add-header",
	"set-header", "del-header", "replace-header", "replace-value", "set-path", "set-pathq",
	"replace-path", "replace-pathq", "set-query", "set-uri", "replace-uri", "set-method", "set-var",
	"unset-var", "capture", "set-log-level", "set-status", "use-service", "reject", "disable-l7-retry", "set-var-fmt", "silent-drop",
	"track-sc", "sc-inc-gpc", "sc-set-gpt", "accept", "close"}

func (a Action) String() string { return actionNames[a] }

// Rule is one compiled rule.
type Rule struct {
	Action Action
	Cond   *sample.Cond // nil: always
	File   string       // where it was written, for logs
	Line   int

	Name   string            // header name (add/set/del/replace-header, replace-value)
	Match  NameMatch         // del-header -m
	NameRe *regexp.Regexp    // del-header -m reg
	Fmt    *sample.LogFormat // header value, path, query, uri, method; replacement of replace-*
	Re     *regexp.Regexp    // replace-* match

	Expr       *sample.Expr // set-var, capture
	VarScope   sample.Scope
	VarName    string
	CaptureLen int
	CaptureID  int // capture slot: its index among the frontend's request captures (%hr)

	LogLevel int // set-log-level: syslog severity, or -1 for "silent"

	Status int    // set-status
	Reason string // set-status reason ("" : the standard one)

	Redirect *RedirectSpec
	Reply    *Reply // deny, tarpit, return
	Realm    string // auth
	Service  string // use-service

	// Slot is the stick counter of track-sc, sc-inc-gpc and sc-set-gpt (0, 1 or 2);
	// Expr is track-sc's key and sc-set-gpt's value.
	Slot int
	// Table is the stick table track-sc tracks in: the configuration resolves the
	// default (the proxy's own table), so it is never empty in a loaded configuration.
	Table string
	// GPC is the index of the general purpose counter or tag of sc-inc-gpc and
	// sc-set-gpt.
	GPC int
}

// NameMatch is how del-header compares header names.
type NameMatch uint8

// Name matching methods.
const (
	MatchStr NameMatch = iota
	MatchBeg
	MatchEnd
	MatchSub
	MatchReg
)

// RedirectKind is what a redirect's value is.
type RedirectKind uint8

// Redirect kinds.
const (
	RedirLocation RedirectKind = iota
	RedirPrefix
	RedirScheme
)

// RedirectSpec is a redirect rule's response.
type RedirectSpec struct {
	Kind        RedirectKind
	Value       *sample.LogFormat // http-request/http-response redirect
	Literal     string            // the legacy redirect keyword: the value as written
	Code        int
	DropQuery   bool
	AppendSlash bool
	IgnoreEmpty bool
	SetCookie   string // "NAME[=value]"
	ClearCookie string // "NAME[=]"
}

// ReplyKind is where a deny, tarpit or return response comes from.
type ReplyKind uint8

// Reply kinds.
const (
	// ReplyDefault is the proxy's error page for Status (deny, tarpit, and
	// return … default-errorfiles).
	ReplyDefault ReplyKind = iota
	// ReplyEmpty is return's dummy response: a status line and no body.
	ReplyEmpty
	// ReplyRaw is a full HTTP response (errorfile FILE, errorfiles NAME).
	ReplyRaw
	// ReplyBody is a payload (string, file) sent with Content-Type.
	ReplyBody
	// ReplyLF is a log-format payload (lf-string, lf-file).
	ReplyLF
)

// Reply is the response of a deny, tarpit or return rule.
type Reply struct {
	Kind        ReplyKind
	Status      int
	ContentType string
	Body        []byte            // ReplyBody
	LF          *sample.LogFormat // ReplyLF
	Raw         []byte            // ReplyRaw (errorfiles NAME: set when the configuration resolves Errorfiles)
	Errorfiles  string            // errorfiles NAME: the http-errors section to look Status up in
	Headers     []ReplyHeader     // hdr NAME FMT
}

// ReplyHeader is one `hdr NAME FMT` of a reply.
type ReplyHeader struct {
	Name  string
	Value *sample.LogFormat
}

// Program is the rules of one phase of one proxy, in order.
type Program []*Rule
