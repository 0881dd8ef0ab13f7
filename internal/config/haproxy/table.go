package haproxy

import (
	"tandem/internal/config"
	"tandem/internal/rules"
)

// The keyword table. Sections follow HAProxy 2.6's keyword matrix
// (configuration.txt §4.1). Order here does not matter: Keywords sorts.
func init() {
	const (
		impl = StatusImplemented
		noop = StatusNoEffect
		g    = SecGlobal
	)
	e := func(name string, sec Section, st Status, syntax, doc string, fn handler) kwEntry {
		return kwEntry{Keyword: Keyword{Name: name, Sections: sec, Status: st, Syntax: syntax, Doc: doc}, fn: fn}
	}
	neg := func(k kwEntry) kwEntry { k.negation = true; return k }
	registry = []kwEntry{
		// global
		e("maxconn", g, impl, "<number>", "process-wide limit of concurrent connections", gInt(func(gl *config.Global, n int) { gl.MaxConn = n }, 1, maxInt32)),
		e("nbthread", g, impl, "<number>", "how many CPUs tandem uses", gInt(func(gl *config.Global, n int) { gl.NbThread = n }, 1, 4096)),
		e("log-tag", g, impl, "<string>", "syslog tag of log lines (default: the program's name; \"haproxy\" keeps rsyslog rules matching)", gString(func(gl *config.Global, s string) { gl.LogTag = s })),
		e("log-send-hostname", g, impl, "[<string>]", "write a host name in syslog headers", gLogSendHostname),
		neg(e("log", g, impl, "<target> [len <n>] [format <f>] <facility> [<level> [<minlevel>]]", "where logs go (syslog, file, stdout)", gLog)),
		e("chroot", g, impl, "<dir>", "chroot the worker before serving", gString(func(gl *config.Global, s string) { gl.Chroot = s })),
		e("user", g, impl, "<name>", "user the worker runs as", gString(func(gl *config.Global, s string) { gl.User = s })),
		e("group", g, impl, "<name>", "group the worker runs as", gString(func(gl *config.Global, s string) { gl.Group = s })),
		e("daemon", g, noop, "", "accepted; tandem stays in the foreground", gDaemon),
		e("pidfile", g, impl, "<path>", "write the process id to this file", gString(func(gl *config.Global, s string) { gl.PidFile = s })),
		e("stats socket", g, impl, "<path>|ipv4@<addr>:<port> [mode <octal>] [level user|operator|admin] [expose-fd listeners]", "runtime API socket", gStatsSocket),
		e("stats timeout", g, impl, "<time>", "idle timeout of runtime API sessions", gStatsTimeout),
		e("hard-stop-after", g, impl, "<time>", "bound on a graceful stop", gHardStopAfter),
		e("tune.bufsize", g, impl, "<bytes>", "buffer size; bounds a request head (default 16384)", gBufSize),
		e("tune.h2.header-table-size", g, impl, "<4096..65536>", "HTTP/2 dynamic header table size (default 4096)", gH2HeaderTable),
		e("tune.h2.initial-window-size", g, impl, "<bytes>", "HTTP/2 stream window a client may send before an acknowledgment (default 65535)", gH2Window),
		e("tune.h2.max-concurrent-streams", g, impl, "<n>", "HTTP/2 streams at once per connection (default 100; 0: no limit)", gH2Streams),
		e("tune.maxrewrite", g, impl, "<bytes>", "buffer space kept for header rewrites (default 1024)", gMaxRewrite),
		e("spread-checks", g, impl, "<0..50>", "random spread of health check intervals, in percent", gInt(func(gl *config.Global, n int) { gl.SpreadChecks = n }, 0, 50)),

		// proxies
		e("mode", secProxies, impl, "http|tcp", "HTTP (layer 7) or TCP (layer 4) proxying", kwMode),
		e("bind", SecFrontend|SecListen, impl, "<addr>:<port>[,...] [ssl crt <file|dir>... crt-list <file> alpn ssl-min-ver ssl-max-ver no-tlsv1x force-tlsv1x ciphers ciphersuites curves ecdhe no-tls-tickets strict-sni verify ca-file crl-file tls-ticket-keys <file>]", "listening addresses (IPv4, [IPv6], *:port, :::port), TLS termination", kwBind),
		e("default_backend", secFront, impl, "<backend>", "backend used when no use_backend applies", kwDefaultBackend),
		e("use_backend", SecFrontend|SecListen, impl, "<backend>|<log-format> [if|unless <condition>]", "switch to a backend: rules in order, the first that matches wins", kwUseBackend),
		e("acl", SecFrontend|SecListen|SecBackend, impl, "<name> <fetch>[,<conv>...] [flags] [operator] [<value>...]", "name a test of the request for conditions", kwACL),
		e("maxconn", secFront, impl, "<number>", "concurrent connections a frontend accepts", kwMaxConn),
		e("balance", secBack, impl, "roundrobin|static-rr|leastconn|source|first|random|uri|hdr(<name>)|url_param <name>", "load-balancing algorithm", kwBalance),
		e("hash-type", secBack, impl, "map-based|consistent", "how hashing algorithms map keys to servers", kwHashType),
		e("server", SecListen|SecBackend, impl, "<name> <addr>:<port> [weight <n>] [backup] [maxconn <n>] [minconn <n>] [maxqueue <n>] [disabled] [cookie <v>] [check] [inter|fastinter|downinter <t>] [rise <n>] [fall <n>] [port <n>] [addr <ip>] [slowstart <t>] [observe layer4|layer7] [error-limit <n>] [on-error <mode>] [on-marked-down shutdown-sessions] [agent-check] [agent-port <n>] [agent-inter <t>] [agent-send <s>] [agent-addr <ip>] [init-addr <m>,...]", "a server of the backend (maxqueue: a full server whose own queue holds that many requests takes no more; a cookie request then goes elsewhere under option redispatch, else 503 SQ, as HAProxy; refused with balance leastconn)", kwServer),
		e("default-server", secBack, impl, "[options]", "options applied to the servers that follow", kwDefaultServer),
		e("cookie", secBack, impl, "<name> insert|prefix|rewrite [indirect] [nocache] [preserve] [httponly] [secure] [domain <d>]... [maxidle <t>] [maxlife <t>]", "cookie-based persistence", kwCookie),
		(e("option forwardfor", secProxies, impl, "[except <net>] [header <name>] [if-none]", "add X-Forwarded-For with the client address", kwForwardFor)),
		neg(e("option http-keep-alive", secProxies, impl, "", "keep both sides alive (default)", kwConnMode(config.HTTPKeepAlive))),
		neg(e("option http-server-close", secProxies, impl, "", "close the server side after each response", kwConnMode(config.HTTPServerClose))),
		neg(e("option httpclose", secProxies, impl, "", "close both sides after each response", kwConnMode(config.HTTPClose))),
		neg(e("option accept-invalid-http-request", secFront, impl, "", "relax request parsing as HAProxy 2.6: any byte but ':' in header names, bytes above 0x7e and '#' in the target, other protocol names, multi-digit versions and HTTP/0.9", kwFlag(func(px *proxyState, on bool) { px.laxRequest = on }))),
		neg(e("option accept-invalid-http-response", secBack, impl, "", "relax response parsing as HAProxy 2.6: any byte but ':' in header names, multi-digit versions", kwFlag(func(px *proxyState, on bool) { px.laxResponse = on }))),
		e("timeout connect", secBack, impl, "<time>", "connecting to a server (default 5s, warns)", kwTimeout),
		e("timeout client", secFront, impl, "<time>", "client inactivity (default 50s, warns)", kwTimeout),
		e("timeout server", secBack, impl, "<time>", "server inactivity (default 50s, warns)", kwTimeout),
		e("timeout queue", secBack, impl, "<time>", "time in the queue for a server slot (default: timeout connect)", kwTimeout),
		e("timeout http-request", secProxies, impl, "<time>", "receiving a whole request head (default 10s)", kwTimeout),
		e("timeout http-keep-alive", secProxies, impl, "<time>", "idle time between requests (default: timeout http-request)", kwTimeout),
		e("timeout tunnel", secBack, impl, "<time>", "inactivity of tunnels such as websockets", kwTimeout),
		e("timeout client-fin", secFront, impl, "<time>", "client inactivity once half-closed", kwTimeout),
		e("timeout tarpit", secProxies, impl, "<time>", "how long http-request tarpit holds a request (default: timeout connect)", kwTimeout),
		e("timeout server-fin", secBack, impl, "<time>", "server inactivity once half-closed", kwTimeout),
		e("timeout check", secBack, impl, "<time>", "health check read timeout", kwTimeout),
		e("retries", secBack, impl, "<number>", "connection retries to a server (default 3)", kwRetries),
		neg(e("option redispatch", secBack, impl, "[<interval>]", "retry on another server after a failure", kwRedispatch)),
		neg(e("option allbackups", secBack, impl, "", "when no active server is usable, balance over every backup, not just the first", kwFlag(func(px *proxyState, on bool) { px.allBackups = on }))),
		e("fullconn", secBack, impl, "<number>", "backend sessions at which servers with minconn reach their maxconn (default: 10% of the maxconn of the frontends that use the backend)", kwFullConn),
		e("errorfile", secProxies, impl, "<code> <file>", "send this file's HTTP response for a status code", kwErrorFile),
		e("option httpchk", secBack, impl, "[<method>] [<uri>] [<version>]", "HTTP health checks", kwHTTPChk),
		e("http-check expect", secBack, impl, "[!] status|rstatus|string|rstring <pattern>", "what a healthy HTTP check response is", kwHTTPCheckExpect),
		e("http-check send", secBack, impl, "[meth <m>] [uri <u>] [ver <v>] [hdr <name> <value>]...", "the HTTP check request", kwHTTPCheckSend),
		neg(e("option tcp-check", secBack, impl, "", "TCP connect health checks", kwTCPCheck)),
		e("tcp-check connect", secBack, impl, "[port <n>]", "tcp-check rule: connect (to another port)", kwTCPCheckRule),
		e("tcp-check send", secBack, impl, "<string>", "tcp-check rule: send a string", kwTCPCheckRule),
		e("tcp-check send-binary", secBack, impl, "<hex>", "tcp-check rule: send bytes written in hex", kwTCPCheckRule),
		e("tcp-check expect", secBack, impl, "[!] string|rstring|binary <pattern>", "tcp-check rule: what the server must answer", kwTCPCheckRule),
		e("retry-on", secBack, impl, "<condition>...", "which failures replay a request (conn-failure, empty-response, junk-response, response-timeout, 0rtt-rejected, 401, 403, 404, 408, 425, 500-504, all-retryable-errors, none)", kwRetryOn),
		neg(e("option log-health-checks", secBack, impl, "", "log health check state changes", kwFlag(func(px *proxyState, on bool) { px.check.LogHealth = on }))),
		neg(e("log", secProxies, impl, "global|<target> <facility> [<level> [<minlevel>]]", "where this proxy's logs go (\"no log\" clears)", kwProxyLog)),
		neg(e("option httplog", secFront, impl, "", "HTTP log format", kwHTTPLog)),
		neg(e("option tcplog", secProxies, impl, "", "TCP log format", kwTCPLog)),
		neg(e("option dontlog-normal", secFront, impl, "", "log only errors, timeouts, retries and 5xx", kwFlag(func(px *proxyState, on bool) { px.dontLogNormal = on }))),
		neg(e("option log-separate-errors", secFront, impl, "", "log errors, timeouts, retries and 5xx at level err", kwFlag(func(px *proxyState, on bool) { px.logSepErrors = on }))),
		neg(e("option dontlognull", secFront, impl, "", "do not log connections that sent no data", kwFlag(func(px *proxyState, on bool) { px.dontLogNull = on }))),
		e("capture request header", SecFrontend|SecListen, impl, "<name> len <length>", "log the first value of a request header (%hr)", kwCaptureRequestHeader),
		e("capture response header", SecFrontend|SecListen, impl, "<name> len <length>", "log the first value of a response header (%hs)", kwCaptureRequestHeader),
		e("log-format", secFront, impl, "<format>", "custom log line format", kwLogFormat),
		e("stats enable", secProxies, impl, "", "serve the stats page", kwStats),
		e("stats uri", secProxies, impl, "<prefix>", "stats page path (default /haproxy?stats)", kwStats),
		e("stats refresh", secProxies, impl, "<time>", "stats page auto-refresh", kwStats),
		e("stats realm", secProxies, impl, "<realm>", "basic-auth realm of the stats page", kwStats),
		e("stats auth", secProxies, impl, "<user>:<password>", "basic-auth user of the stats page", kwStats),
		e("stats admin", SecFrontend|SecListen|SecBackend, impl, "if TRUE|LOCALHOST", "enable admin actions on the stats page", kwStats),
		e("stats hide-version", secProxies, impl, "", "hide the version on the stats page", kwStats),
		e("stats show-legends", secProxies, impl, "", "show legends on the stats page", kwStats),
		e("http-request", secProxies, impl, "<action> [options...] [if|unless <condition>]", "request rules: allow, deny, reject, silent-drop, tarpit, redirect, return, auth, add-header, set-header, del-header, replace-header, replace-value, set-path, set-pathq, replace-path, replace-pathq, set-query, set-uri, replace-uri, set-method, set-var, set-var-fmt, unset-var, capture <sample> len <n>, set-log-level, disable-l7-retry, track-sc0/1/2 <key> [table <t>], sc-inc-gpc0/1(<sc>), sc-set-gpt0(<sc>) <v>, use-service prometheus-exporter (defaults: named sections only)", kwHTTPRule(rules.Request)),
		e("http-response", secProxies, impl, "<action> [options...] [if|unless <condition>]", "response rules: allow, deny, return, redirect location, add-header, set-header, del-header, replace-header, replace-value, set-status, set-var, set-var-fmt, unset-var, set-log-level, sc-inc-gpc0/1(<sc>), sc-set-gpt0(<sc>) <v>", kwHTTPRule(rules.Response)),
		e("http-after-response", secProxies, impl, "<action> [options...] [if|unless <condition>]", "rules on every response sent, the proxy's own answers too: allow, add-header, set-header, del-header, replace-header, replace-value, set-status, set-var, set-var-fmt, unset-var, set-log-level", kwHTTPRule(rules.AfterResponse)),
		e("redirect", SecFrontend|SecListen|SecBackend, impl, "location|prefix|scheme <value> [code <n>] [drop-query] [append-slash] [set-cookie <c>] [clear-cookie <c>] [if|unless <condition>]", "answer a redirect (after the http-request rules)", kwRedirect),
		e("errorfiles", secProxies, impl, "<name> [<code>...]", "error pages from an http-errors section (all its codes, or those listed)", kwErrorFiles),
		e("errorloc", secProxies, impl, "<code> <url>", "answer a status with a 302 redirect to url", kwErrorLoc),
		e("errorloc302", secProxies, impl, "<code> <url>", "answer a status with a 302 redirect to url", kwErrorLoc),
		e("errorloc303", secProxies, impl, "<code> <url>", "answer a status with a 303 redirect to url", kwErrorLoc),
		e("monitor-uri", secFront, impl, "<uri>", "answer 200 on this URI (503 when a monitor fail condition matches), before any rule", kwMonitorURI),
		e("monitor fail", SecFrontend|SecListen, impl, "if|unless <condition>", "make monitor-uri answer 503", kwMonitorFail),
		e("stick-table", SecFrontend|SecListen|SecBackend, impl, stickTableSyntax, "the proxy's stick table (track-sc, sc_*/src_*/table_* fetches, stick rules; runtime API: show|set|clear table)", kwStickTable),
		e("stick match", SecListen|SecBackend, impl, "<pattern> [table <table>] [if|unless <condition>]", "send a request to the server the stick table names for its key", kwStick),
		e("stick on", SecListen|SecBackend, impl, "<pattern> [table <table>] [if|unless <condition>]", "stick match, then stick store-request", kwStick),
		e("stick store-request", SecListen|SecBackend, impl, "<pattern> [table <table>] [if|unless <condition>]", "remember the server a request went to, by a key of the request", kwStick),
		e("stick store-response", SecListen|SecBackend, impl, "<pattern> [table <table>] [if|unless <condition>]", "remember the server a response came from, by a key of the response (mode http)", kwStick),
		e("tcp-request connection", SecFrontend|SecListen, impl, "accept|reject|silent-drop|track-sc0/1/2 <key> [table <t>]|sc-inc-gpc0(<sc>)|sc-set-gpt0(<sc>) <v>|set-var(<var>) <expr>|unset-var(<var>) [if|unless <condition>]", "rules run when a connection is accepted", kwTCPRule),
		e("tcp-request session", SecFrontend|SecListen, impl, "accept|reject|silent-drop|track-sc0/1/2 <key> [table <t>]|sc-inc-gpc0(<sc>)|sc-set-gpt0(<sc>) <v>|set-var(<var>) <expr>|unset-var(<var>) [if|unless <condition>]", "rules run when a session starts", kwTCPRule),
		e("tcp-request content", SecFrontend|SecListen|SecBackend, impl, "accept|reject|silent-drop|track-sc0/1/2 <key> [table <t>]|sc-inc-gpc0(<sc>)|sc-set-gpt0(<sc>) <v>|set-var(<var>) <expr>|unset-var(<var>) [if|unless <condition>]", "rules on the request's first bytes (mode tcp, waiting up to inspect-delay) or on each request (mode http)", kwTCPRule),
		e("tcp-request inspect-delay", secProxies, impl, "<timeout>", "how long tcp-request content rules wait for data", kwTCPRule),
		e("tcp-response content", SecListen|SecBackend, impl, "accept|reject|close|sc-inc-gpc0(<sc>)|set-var(<var>) <expr>|unset-var(<var>) [if|unless <condition>]", "rules on the server's first bytes", kwTCPRule),
		e("tcp-response inspect-delay", SecDefaults|SecListen|SecBackend, impl, "<timeout>", "how long tcp-response content rules wait for data", kwTCPRule),
		e("stats show-node", secProxies, impl, "[<name>]", "show the node name on the stats page", kwStats),
		e("stats show-desc", secProxies, noop, "[<description>]", "accepted; tandem's stats page shows no description yet (warns)", kwStatsShowDesc),
		e("description", SecFrontend|SecListen|SecBackend, noop, "<text>...", "free text about the proxy; shown nowhere by tandem yet (warns)", kwDescription),
		e("description", g, noop, "<text>...", "free text about the process; shown nowhere by tandem yet (warns)", kwDescription),
		e("bind-process", secProxies, noop, "all|odd|even|1[-[1]]...", "no effect: one process, as in HAProxy 2.6 (warns, as HAProxy)", kwBindProcess),
		e("stats bind-process", g, noop, "all|odd|even|1[-[1]]...", "no effect: one process, as in HAProxy 2.6 (warns)", kwBindProcess),
	}
	registry = append(registry, tlsKeywords()...) // tls.go
	registry = append(registry, neg(e("option httpslog", secFront, impl, "", "HTTP log format with the TLS fields (%sslv, %sslc, SNI, resumed)", kwHTTPSLog)))
}
