package haproxy

import (
	"strings"
)

// This file holds HAProxy 2.6's proxy keyword matrix (configuration.txt §4.1): in which
// of defaults, frontend, listen and backend sections HAProxy takes each keyword. The
// parser reads it to tell apart a keyword tandem does not carry out in a section where
// HAProxy would (an error: tandem must not drop it) from one HAProxy itself ignores
// there (HAProxy warns; so may tandem, unless it is a rule). matrix_test.go checks this
// table against the documentation shipped with Debian's haproxy.

// matrixText has one line per keyword: the keyword, then defaults, frontend, listen and
// backend columns, "X" (allowed), "-" (not allowed) or "!" (only in a named defaults
// section).
const matrixText = `
acl                                    ! X X X
backlog                                X X X -
balance                                X - X X
bind                                   - X X -
bind-process                           X X X X
capture cookie                         - X X -
capture request header                 - X X -
capture response header                - X X -
clitcpka-cnt                           X X X -
clitcpka-idle                          X X X -
clitcpka-intvl                         X X X -
compression                            X X X X
cookie                                 X - X X
declare capture                        - X X -
default-server                         X - X X
default_backend                        X X X -
description                            - X X X
disabled                               X X X X
dispatch                               - - X X
email-alert from                       X X X X
email-alert level                      X X X X
email-alert mailers                    X X X X
email-alert myhostname                 X X X X
email-alert to                         X X X X
enabled                                X X X X
errorfile                              X X X X
errorfiles                             X X X X
errorloc                               X X X X
errorloc302                            X X X X
errorloc303                            X X X X
error-log-format                       X X X -
force-persist                          - - X X
filter                                 - X X X
fullconn                               X - X X
hash-type                              X - X X
http-after-response                    ! X X X
http-check comment                     X - X X
http-check connect                     X - X X
http-check disable-on-404              X - X X
http-check expect                      X - X X
http-check send                        X - X X
http-check send-state                  X - X X
http-check set-var                     X - X X
http-check unset-var                   X - X X
http-error                             X X X X
http-request                           ! X X X
http-response                          ! X X X
http-reuse                             X - X X
http-send-name-header                  X - X X
id                                     - X X X
ignore-persist                         - - X X
load-server-state-from-file            X - X X
log                                    X X X X
log-format                             X X X -
log-format-sd                          X X X -
log-tag                                X X X X
max-keep-alive-queue                   X - X X
maxconn                                X X X -
mode                                   X X X X
monitor fail                           - X X -
monitor-uri                            X X X -
option abortonclose                    X - X X
option accept-invalid-http-request     X X X -
option accept-invalid-http-response    X - X X
option allbackups                      X - X X
option checkcache                      X - X X
option clitcpka                        X X X -
option contstats                       X X X -
option disable-h2-upgrade              X X X -
option dontlog-normal                  X X X -
option dontlognull                     X X X -
option forwardfor                      X X X X
option h1-case-adjust-bogus-client     X X X -
option h1-case-adjust-bogus-server     X - X X
option http-buffer-request             X X X X
option http-ignore-probes              X X X -
option http-keep-alive                 X X X X
option http-no-delay                   X X X X
option http-pretend-keepalive          X - X X
option http-restrict-req-hdr-names     X X X X
option http-server-close               X X X X
option http-use-proxy-header           X X X -
option httpchk                         X - X X
option httpclose                       X X X X
option httplog                         X X X -
option httpslog                        X X X -
option independent-streams             X X X X
option ldap-check                      X - X X
option external-check                  X - X X
option log-health-checks               X - X X
option log-separate-errors             X X X -
option logasap                         X X X -
option mysql-check                     X - X X
option nolinger                        X X X X
option originalto                      X X X X
option persist                         X - X X
option pgsql-check                     X - X X
option prefer-last-server              X - X X
option redispatch                      X - X X
option redis-check                     X - X X
option smtpchk                         X - X X
option socket-stats                    X X X -
option splice-auto                     X X X X
option splice-request                  X X X X
option splice-response                 X X X X
option spop-check                      X - X X
option srvtcpka                        X - X X
option ssl-hello-chk                   X - X X
option tcp-check                       X - X X
option tcp-smart-accept                X X X -
option tcp-smart-connect               X - X X
option tcpka                           X X X X
option tcplog                          X X X X
option transparent                     X - X X
option idle-close-on-response          X X X -
external-check command                 X - X X
external-check path                    X - X X
persist rdp-cookie                     X - X X
rate-limit sessions                    X X X -
redirect                               - X X X
retries                                X - X X
retry-on                               X - X X
server                                 - - X X
server-state-file-name                 X - X X
server-template                        - - X X
source                                 X - X X
srvtcpka-cnt                           X - X X
srvtcpka-idle                          X - X X
srvtcpka-intvl                         X - X X
stats admin                            - X X X
stats auth                             X X X X
stats enable                           X X X X
stats hide-version                     X X X X
stats http-request                     - X X X
stats realm                            X X X X
stats refresh                          X X X X
stats scope                            X X X X
stats show-desc                        X X X X
stats show-legends                     X X X X
stats show-node                        X X X X
stats uri                              X X X X
stick match                            - - X X
stick on                               - - X X
stick store-request                    - - X X
stick store-response                   - - X X
stick-table                            - X X X
tcp-check comment                      X - X X
tcp-check connect                      X - X X
tcp-check expect                       X - X X
tcp-check send                         X - X X
tcp-check send-lf                      X - X X
tcp-check send-binary                  X - X X
tcp-check send-binary-lf               X - X X
tcp-check set-var                      X - X X
tcp-check unset-var                    X - X X
tcp-request connection                 ! X X -
tcp-request content                    ! X X X
tcp-request inspect-delay              ! X X X
tcp-request session                    ! X X -
tcp-response content                   ! - X X
tcp-response inspect-delay             ! - X X
timeout check                          X - X X
timeout client                         X X X -
timeout client-fin                     X X X -
timeout connect                        X - X X
timeout http-keep-alive                X X X X
timeout http-request                   X X X X
timeout queue                          X - X X
timeout server                         X - X X
timeout server-fin                     X - X X
timeout tarpit                         X X X X
timeout tunnel                         X - X X
transparent                            X - X X
unique-id-format                       X X X -
unique-id-header                       X X X -
use_backend                            - X X -
use-fcgi-app                           - - X X
use-server                             - - X X
`

// matrixEntry is one row of the matrix.
type matrixEntry struct {
	sections  Section // where HAProxy takes the keyword
	namedOnly bool    // in defaults, only in a named defaults section
}

// haproxyMatrix maps a keyword ("balance", "option httpchk", "stick on") to its row.
var haproxyMatrix = parseMatrix(matrixText)

func parseMatrix(text string) map[string]matrixEntry {
	cols := []Section{SecDefaults, SecFrontend, SecListen, SecBackend}
	m := map[string]matrixEntry{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		name := strings.Join(f[:len(f)-4], " ")
		var e matrixEntry
		for i, c := range f[len(f)-4:] {
			switch c {
			case "X":
				e.sections |= cols[i]
			case "!":
				e.sections |= cols[i]
				e.namedOnly = true
			}
		}
		m[name] = e
	}
	return m
}

// matrixName returns the matrix keyword a statement starts with ("stick on" for
// "stick on src", "capture request header" for a capture line) and whether it has one.
func matrixName(words []string) (string, bool) {
	for n := min(3, len(words)); n >= 1; n-- {
		name := strings.Join(words[:n], " ")
		if _, ok := haproxyMatrix[name]; ok {
			return name, true
		}
	}
	return "", false
}

// capabilityErrors are keywords HAProxy refuses (rather than ignores with a warning) in
// a frontend or backend section that lacks the capability the matrix asks for.
var capabilityErrors = wordSet(`server default-server server-template retry-on use-fcgi-app
tcp-request+connection tcp-request+session tcp-response+content tcp-response+inspect-delay
declare+capture`)

// ruleKeywords decide what traffic passes, where it goes or how it is changed. tandem
// never ignores one with a warning, even where HAProxy would (use_backend in a backend,
// use-server in a frontend): the file is refused so the rule cannot silently vanish.
var ruleKeywords = wordSet(`acl http-request http-response http-after-response
tcp-request+connection tcp-request+content tcp-request+inspect-delay tcp-request+session
tcp-response+content tcp-response+inspect-delay redirect use-server use_backend use-fcgi-app
stick+match stick+on stick+store-request stick+store-response stick-table force-persist
ignore-persist monitor+fail stats+admin stats+http-request`)
