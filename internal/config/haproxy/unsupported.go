package haproxy

import (
	"fmt"
	"strings"
)

// This file lists what HAProxy 2.6 knows (configuration.txt §3, §4.1, §5), so that a
// keyword tandem does not carry out is reported as "not supported by tandem" rather
// than as unknown, and is never silently ignored.

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[strings.ReplaceAll(w, "+", " ")] = true
	}
	return m
}

// unsupportedSections are HAProxy sections tandem does not read.
var unsupportedSections = wordSet(`peers mailers resolvers program ring cache fcgi-app`)

// knownHAProxy holds HAProxy's keywords that neither its proxy keyword matrix
// (matrix.go) nor the removed keywords (legacy.go), both read first, describe: the
// global section's, and the first words of keyword sequences ("+" joins the words of
// a sequence).
var knownHAProxy = wordSet(`
51degrees-cache-size 51degrees-data-file 51degrees-property-name-list 51degrees-property-separator
appsession busy-polling ca-base capture chroot cluster-secret cpu-map crt-base daemon declare
default-path deviceatlas-json-file deviceatlas-log-level deviceatlas-properties-cookie
deviceatlas-separator dynamic-cookie-key email-alert expose-experimental-directives external-check
fd-hard-limit gid grace group h1-accept-payload-with-any-method h1-case-adjust h1-case-adjust-file
h2-workaround-bogus-websocket-clients hard-stop-after http-check httpclient.resolvers.id
httpclient.resolvers.prefer httpclient.ssl.ca-file httpclient.ssl.verify httpclient.timeout.connect
insecure-fork-wanted insecure-setuid-wanted issuers-chain-path localpeer log-send-hostname lua-load
lua-load-per-thread lua-prepend-path master-worker max-spread-checks maxcompcpuusage maxcomprate
maxconnrate maxpipes maxsessrate maxsslconn maxsslrate maxzlibmem monitor mworker-max-reloads
nbthread no-memory-trimming node noepoll noevports nogetaddrinfo nokqueue nopoll noreuseport
nosplice numa-cpu-mapping option persist pidfile pp2-never-send-local presetenv profiling.tasks
quiet rate-limit resetenv server-state-base server-state-file set-dumpable set-var setenv
spread-checks ssl-default-bind-ciphers ssl-default-bind-ciphersuites ssl-default-bind-curves
ssl-default-bind-options ssl-default-server-ciphers ssl-default-server-ciphersuites
ssl-default-server-options ssl-dh-param-file ssl-engine ssl-mode-async ssl-propquery ssl-provider
ssl-provider-path ssl-server-verify ssl-skip-self-issued-ca stats stick strict-limits tcp-check
tcp-request tcp-response thread-group thread-groups timeout tune.buffers.limit tune.buffers.reserve
tune.bufsize tune.comp.maxlevel tune.fail-alloc tune.fd.edge-triggered tune.h2.header-table-size
tune.h2.initial-window-size tune.h2.max-concurrent-streams tune.http.cookielen tune.http.logurilen
tune.http.maxhdr tune.idle-pool.shared tune.idletimer tune.lua.forced-yield tune.lua.maxmem
tune.lua.service-timeout tune.lua.session-timeout tune.lua.task-timeout tune.maxaccept
tune.maxpollevents tune.maxrewrite tune.pattern.cache-size tune.peers.max-updates-at-once
tune.pipesize tune.pool-high-fd-ratio tune.pool-low-fd-ratio
tune.quic.frontend.conn-tx-buffers.limit tune.quic.frontend.max-idle-timeout
tune.quic.frontend.max-streams-bidi tune.quic.retry-threshold tune.rcvbuf.client tune.rcvbuf.server
tune.recv_enough tune.runqueue-depth tune.sched.low-latency tune.sndbuf.client tune.sndbuf.server
tune.ssl.cachesize tune.ssl.capture-buffer-size tune.ssl.capture-cipherlist-size
tune.ssl.default-dh-param tune.ssl.force-private-cache tune.ssl.hard-maxrecord tune.ssl.keylog
tune.ssl.lifetime tune.ssl.maxrecord tune.ssl.ssl-ctx-cache-size tune.vars.global-max-size
tune.vars.proc-max-size tune.vars.reqres-max-size tune.vars.sess-max-size tune.vars.txn-max-size
tune.zlib.memlevel tune.zlib.windowsize uid ulimit-n unix-bind unsetenv user wurfl-cache-size
wurfl-data-file wurfl-information-list wurfl-information-list-separator zero-warning
stats+bind-process stats+maxconn stats+socket
`)

// knownBindOptions are HAProxy's bind options.
var knownBindOptions = wordSet(`
accept-netscaler-cip accept-proxy allow-0rtt alpn backlog ca-file ca-ignore-err ca-sign-file
ca-sign-pass ca-verify-file ciphers ciphersuites crl-file crt crt-ignore-err crt-list curves
defer-accept ecdhe expose-fd force-sslv3 force-tlsv10 force-tlsv11 force-tlsv12 force-tlsv13
generate-certificates gid group id interface level maxconn mode mss name namespace nice no-ca-names
no-sslv3 no-tls-tickets no-tlsv10 no-tlsv11 no-tlsv12 no-tlsv13 npn prefer-client-ciphers process
proto quic-cc-algo quic-force-retry severity-output shards ssl ssl-max-ver ssl-min-ver strict-sni
tcp-ut tfo thread tls-ticket-keys transparent uid user v4v6 v6only verify
`)

// knownServerOptions are HAProxy's server and default-server options.
var knownServerOptions = wordSet(`
addr agent-addr agent-check agent-inter agent-port agent-send allow-0rtt alpn backup ca-file check
check-alpn check-proto check-send-proxy check-sni check-ssl check-via-socks4 ciphers ciphersuites
cookie crl-file crt disabled downinter enabled error-limit fall fastinter force-sslv3 force-tlsv10
force-tlsv11 force-tlsv12 force-tlsv13 id init-addr inter log-proto max-reuse maxconn maxqueue
minconn namespace no-agent-check no-backup no-check no-check-ssl no-send-proxy no-send-proxy-v2
no-send-proxy-v2-ssl no-send-proxy-v2-ssl-cn no-ssl no-ssl-reuse no-sslv3 no-tfo no-tls-tickets
no-tlsv10 no-tlsv11 no-tlsv12 no-tlsv13 no-verifyhost non-stick npn observe on-error on-marked-down
on-marked-up pool-low-conn pool-max-conn pool-purge-delay port proto proxy-v2-options redir
resolve-net resolve-opts resolve-prefer resolvers rise send-proxy send-proxy-v2 send-proxy-v2-ssl
send-proxy-v2-ssl-cn slowstart sni socks4 source ssl ssl-max-ver ssl-min-ver ssl-reuse stick tcp-ut
tfo tls-tickets track verify verifyhost weight ws usesrc
`)

// planned names the open issue that brings a keyword, a bind or server option or a
// section to tandem, for error messages. Only what tandem still refuses is listed:
// TestPlannedAreRefused fails when one of them is carried out (then its line goes).
var planned = []struct {
	words string // keywords, options or sections ("+" joins keyword sequences)
	what  string
}{
	{`acl tcp-request+connection tcp-request+content tcp-request+session tcp-response+content
	use-server force-persist ignore-persist http-error stats+http-request declare+capture capture+cookie
	set-var unique-id-format unique-id-header`, "ACLs and rules, issue 10"},
	{`peers`, "stick tables, issue 10"},
	{`tune.ssl.maxrecord`, "TLS, issue 11"},
	{`proto`, "HTTP/2, issue 12"},
	{`resolvers resolve-prefer resolve-opts resolve-net namespace program server-state-file
	server-state-base load-server-state-from-file server-state-file-name server-template
	master-worker unix-bind`, "operations, issue 13"},
}

var plannedBy = func() map[string]string {
	m := map[string]string{}
	for _, p := range planned {
		for w := range wordSet(p.words) {
			m[w] = p.what
		}
	}
	return m
}()

// notSupported is the message for a keyword HAProxy takes in section sec (0: in the
// section at hand, whatever it is) and tandem does not carry out there.
func notSupported(name string, sec Section) string {
	what := "remove the line, or keep HAProxy for this file"
	if p := plannedBy[name]; p != "" {
		what = "planned: " + p + "; until then keep HAProxy for this file"
	}
	if where := allowedIn(name) &^ SecGlobal; sec != 0 && where != 0 {
		return fmt.Sprintf("keyword %q is not supported by tandem in a %s section yet (tandem carries it out in: %s); %s",
			name, sectionName(sec), where, what)
	}
	return fmt.Sprintf("keyword %q is not supported by tandem (%s)", name, what)
}

// orList names sections as "frontend or listen".
func orList(s Section) string {
	names := strings.Split(s.String(), ", ")
	if len(names) < 2 {
		return s.String()
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// planHint is " (planned: …; until then keep HAProxy for this file)" for an option or
// section in planned, else " (remove it, or keep HAProxy for this file)".
func planHint(name string) string {
	if p := plannedBy[name]; p != "" {
		return " (planned: " + p + "; until then keep HAProxy for this file)"
	}
	return " (remove it, or keep HAProxy for this file)"
}
