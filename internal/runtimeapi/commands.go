package runtimeapi

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"tandem/internal/backend"
	"tandem/internal/stats"
)

// HAProxy's texts.
const (
	msgPermission     = "Permission denied\n"
	msgRequireBS      = "Require 'backend/server'.\n"
	msgNoBackend      = "No such backend.\n"
	msgNoServer       = "No such server.\n"
	msgStateUsage     = "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
	msgWeightRange    = "Absolute weight can only be between 0 and 256 inclusive.\n"
	msgWeightGarbage  = "Empty weight string empty or preceded by garbage\n"
	msgWeightRequired = "Require <weight> or <weight%>.\n"
	msgNoHealth       = "Health check was not configured on this server, cannot enable.\n"
	msgSetServerUsage = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n"
	msgUnknown        = "Unknown command, but maybe one of the following ones is a better match:\n"
)

type session struct {
	level   Level
	src     *stats.Source
	prompt  bool
	quit    bool
	payload []byte // what followed a command line ending with "<<" (ssl.go)
	// hasPayload: the line ended with "<<" (its payload may be empty)
	hasPayload bool
}

type command struct {
	words []string // the command's leading words
	args  string   // for help
	doc   string
	level Level
	run   func(s *session, out *bytes.Buffer, args []string)
}

var commands []command

func init() {
	commands = []command{
		{[]string{"add", "acl"}, "[@<ver>] <acl> <pattern>", "add an acl entry", LevelUser, patCmd(patACL, (*session).patAdd)},
		{[]string{"add", "map"}, "[@<ver>] <map> <key> <val>", "add a map entry", LevelUser, patCmd(patMap, (*session).patAdd)},
		{[]string{"clear", "acl"}, "[@<ver>] <acl>", "clear the contents of this acl", LevelUser, patCmd(patACL, (*session).patClear)},
		{[]string{"clear", "map"}, "[@<ver>] <map>", "clear the contents of this map", LevelUser, patCmd(patMap, (*session).patClear)},
		{[]string{"clear", "table"}, "<table> [<filter>]*", "remove an entry from a table (filter: data/key)", LevelUser, tableCmd(tableClear)},
		{[]string{"commit", "acl"}, "@<ver> <acl>", "commit the ACL at this version", LevelUser, patCmd(patACL, (*session).patCommit)},
		{[]string{"commit", "map"}, "@<ver> <map>", "commit the map at this version", LevelUser, patCmd(patMap, (*session).patCommit)},
		{[]string{"del", "acl"}, "<acl> [<key>|#<ref>]", "delete acl entries matching <key>", LevelUser, patCmd(patACL, (*session).patDel)},
		{[]string{"del", "map"}, "<map> [<key>|#<ref>]", "delete map entries matching <key>", LevelUser, patCmd(patMap, (*session).patDel)},
		{[]string{"disable", "health"}, "<bk>/<srv>", "disable health checks", LevelAdmin, healthCmd(false)},
		{[]string{"disable", "server"}, "<bk>/<srv>", "disable a server for maintenance (use 'set server' instead)", LevelAdmin, adminStateCmd(backend.AdminMaint)},
		{[]string{"enable", "health"}, "<bk>/<srv>", "enable health checks", LevelAdmin, healthCmd(true)},
		{[]string{"enable", "server"}, "<bk>/<srv>", "enable a disabled server (use 'set server' instead)", LevelAdmin, adminStateCmd(backend.AdminReady)},
		{[]string{"get", "acl"}, "<acl> <value>", "report the patterns matching a sample for an ACL", LevelUser, patCmd(patACL, (*session).patGet)},
		{[]string{"get", "map"}, "<acl> <value>", "report the keys and values matching a sample for a map", LevelUser, patCmd(patMap, (*session).patGet)},
		{[]string{"get", "weight"}, "<bk>/<srv>", "report a server's current weight", LevelUser, (*session).getWeight},
		{[]string{"operator"}, "", "lower the level of the current CLI session to operator", LevelUser, func(s *session, _ *bytes.Buffer, _ []string) { s.level = min(s.level, LevelOperator) }},
		{[]string{"prepare", "acl"}, "<acl>", "prepare a new version for atomic ACL replacement (not in tandem)", LevelUser, patCmd(patACL, (*session).patPrepare)},
		{[]string{"prepare", "map"}, "<acl>", "prepare a new version for atomic map replacement (not in tandem)", LevelUser, patCmd(patMap, (*session).patPrepare)},
		{[]string{"set", "map"}, "<map> [<key>|#<ref>] <value>", "modify a map entry", LevelUser, patCmd(patMap, (*session).patSet)},
		{[]string{"set", "server"}, "<bk>/<srv> [opts]", "change a server's state or weight", LevelAdmin, (*session).setServer},
		{[]string{"set", "table"}, "<table> key <k> [data.* <v>]*", "update or create a table entry's data", LevelUser, tableCmd(tableSet)},
		{[]string{"set", "weight"}, "<bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)", LevelAdmin, (*session).setWeight},
		{[]string{"show", "acl"}, "[@<ver>] <acl>]", "report available acls or dump an acl's contents", LevelUser, patCmd(patACL, (*session).patShow)},
		{[]string{"show", "backend"}, "", "list backends in the current running config", LevelUser, (*session).showBackend},
		{[]string{"show", "cli", "level"}, "", "display the level of the current CLI session", LevelUser, func(s *session, out *bytes.Buffer, _ []string) { out.WriteString(s.level.String() + "\n") }},
		{[]string{"show", "info"}, "[typed]", "report information about the running process", LevelUser, (*session).showInfo},
		{[]string{"show", "map"}, "[@ver] [map]", "report available maps or dump a map's contents", LevelUser, patCmd(patMap, (*session).patShow)},
		{[]string{"show", "servers", "state"}, "[<backend>]", "dump volatile server information (all or for a single backend)", LevelUser, (*session).showServersState},
		{[]string{"show", "stat"}, "[<px> <type> <sid>] [typed|up|no-maint]*", "report counters for each proxy and server", LevelUser, (*session).showStat},
		{[]string{"show", "table"}, "<table> [<filter>]*", "report table usage stats or dump this table's contents (filter: data/key)", LevelUser, tableCmd(tableShow)},
		{[]string{"show", "vrrp"}, "[episodes|timeline]", "report each VRRP instance, its split-brain episodes or its failover timeline (tandem)", LevelUser, (*session).showVRRP},
		{[]string{"vrrp", "switchover"}, "[<instance>]", "hand a MASTER VRRP instance's addresses over to its peer (tandem)", LevelAdmin, (*session).vrrpSwitchover},
		{[]string{"user"}, "", "lower the level of the current CLI session to user", LevelUser, func(s *session, _ *bytes.Buffer, _ []string) { s.level = LevelUser }},
		{[]string{"help"}, "[<command>]", "list matching or all commands", LevelUser, func(s *session, out *bytes.Buffer, _ []string) {
			s.help(out, "The following commands are valid at this level:\n")
		}},
		{[]string{"prompt"}, "", "toggle interactive mode with prompt", LevelUser, func(s *session, _ *bytes.Buffer, _ []string) { s.prompt = !s.prompt }},
		{[]string{"quit"}, "", "disconnect", LevelUser, nil},
	}
	commands = append(commands, sslCommands...)     // ssl.go
	commands = append(commands, crtListCommands...) // ssl.go
}

func (s *session) help(out *bytes.Buffer, title string) {
	out.WriteString(title)
	for _, c := range commands {
		if c.level > s.level {
			continue
		}
		usage := strings.Join(c.words, " ")
		if c.args != "" {
			usage += " " + c.args
		}
		fmt.Fprintf(out, "  %-40s: %s\n", usage, c.doc)
	}
}

// run runs one command; it reports whether the session must end (quit).
func (s *session) run(out *bytes.Buffer, line string) bool {
	args := splitWords(line)
	if len(args) == 0 {
		return false
	}
	for _, c := range commands {
		if len(args) < len(c.words) || !equalWords(args[:len(c.words)], c.words) {
			continue
		}
		if c.run == nil { // quit
			return true
		}
		if c.level > s.level {
			out.WriteString(msgPermission)
			return false
		}
		c.run(s, out, args[len(c.words):])
		return false
	}
	s.help(out, msgUnknown)
	return false
}

// maxWords is HAProxy's MAX_CLI_ARGS: words after it are ignored.
const maxWords = 64

// splitWords cuts a command into words as HAProxy's CLI: spaces and tabs separate
// words, a backslash keeps the next character (a space included) in the word.
func splitWords(line string) []string {
	var out []string
	var w strings.Builder
	in := false
	for i := 0; i < len(line) && len(out) < maxWords; i++ {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		case c == '\\':
			in = true
			if i+1 < len(line) {
				i++
				w.WriteByte(line[i])
			}
		default:
			in = true
			w.WriteByte(c)
		}
	}
	if in && len(out) < maxWords {
		out = append(out, w.String())
	}
	return out
}

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lookup resolves "bk/srv", writing HAProxy's error when it fails.
func (s *session) lookup(out *bytes.Buffer, args []string) *backend.Server {
	if len(args) == 0 || !strings.Contains(args[0], "/") {
		out.WriteString(msgRequireBS)
		return nil
	}
	bk, name, _ := strings.Cut(args[0], "/")
	_, sv, err := s.src.Server(bk, name)
	switch err {
	case nil:
		return sv
	case stats.ErrNoBackend:
		out.WriteString(msgNoBackend)
	default:
		out.WriteString(msgNoServer)
	}
	return nil
}

func adminStateCmd(a backend.AdminState) func(*session, *bytes.Buffer, []string) {
	return func(s *session, out *bytes.Buffer, args []string) {
		if sv := s.lookup(out, args); sv != nil {
			sv.SetAdmin(a)
		}
	}
}

func healthCmd(on bool) func(*session, *bytes.Buffer, []string) {
	return func(s *session, out *bytes.Buffer, args []string) {
		sv := s.lookup(out, args)
		if sv == nil {
			return
		}
		// ISSUE 3: the health checks set Source.SetHealth; until then a server has none.
		if s.src.SetHealth == nil || !sv.Cfg.Check.Enabled {
			if on {
				out.WriteString(msgNoHealth)
			} else {
				out.WriteString("Health check was not configured on this server, cannot disable.\n")
			}
			return
		}
		bk, _, _ := strings.Cut(args[0], "/")
		if err := s.src.SetHealth(bk, sv.Cfg.Name, on); err != nil {
			out.WriteString(err.Error() + ".\n")
		}
	}
}

func (s *session) getWeight(out *bytes.Buffer, args []string) {
	if sv := s.lookup(out, args); sv != nil {
		fmt.Fprintf(out, "%d (initial %d)\n", sv.EffectiveWeight(), sv.Cfg.Weight)
	}
}

// parseWeight reads "W" or "W%" (of the configured weight).
func parseWeight(out *bytes.Buffer, sv *backend.Server, v string) (int, bool) {
	pct := strings.HasSuffix(v, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
	if err != nil || n < 0 {
		out.WriteString(msgWeightGarbage)
		return 0, false
	}
	if pct {
		n = sv.Cfg.Weight * n / 100
	}
	if n > 256 {
		out.WriteString(msgWeightRange)
		return 0, false
	}
	return n, true
}

func (s *session) setWeight(out *bytes.Buffer, args []string) {
	sv := s.lookup(out, args)
	if sv == nil {
		return
	}
	if len(args) < 2 {
		out.WriteString(msgWeightRequired)
		return
	}
	if w, ok := parseWeight(out, sv, args[1]); ok {
		sv.SetWeight(w)
	}
}

func (s *session) setServer(out *bytes.Buffer, args []string) {
	sv := s.lookup(out, args)
	if sv == nil {
		return
	}
	if len(args) < 2 {
		out.WriteString(msgSetServerUsage)
		return
	}
	switch args[1] {
	case "state":
		if len(args) < 3 {
			out.WriteString(msgStateUsage)
			return
		}
		switch args[2] {
		case "ready":
			sv.SetAdmin(backend.AdminReady)
		case "drain":
			sv.SetAdmin(backend.AdminDrain)
		case "maint":
			sv.SetAdmin(backend.AdminMaint)
		default:
			out.WriteString(msgStateUsage)
		}
	case "weight":
		if len(args) < 3 {
			out.WriteString(msgWeightRequired)
			return
		}
		if w, ok := parseWeight(out, sv, args[2]); ok {
			sv.SetWeight(w)
		}
	case "health":
		if len(args) < 3 {
			out.WriteString("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n")
			return
		}
		switch args[2] {
		case "up":
			sv.SetUp(true)
		case "down", "stopping":
			sv.SetUp(false)
		default:
			out.WriteString("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n")
		}
	default:
		out.WriteString(msgSetServerUsage)
	}
}

func (s *session) showBackend(out *bytes.Buffer, _ []string) {
	out.WriteString("# name\n")
	for _, r := range s.src.Rows() {
		if r.Type == stats.TypeBackend {
			out.WriteString(r.PxName + "\n")
		}
	}
}

// showStat is `show stat [{<iid>|<proxy>} <type> <sid>] [typed] [up] [no-maint]`: type
// is a mask (1 frontends, 2 backends, 4 servers, -1 all); -1 is any iid or sid.
func (s *session) showStat(out *bytes.Buffer, args []string) {
	typed, up, noMaint := false, false, false
	iid, proxy, mask, sid := -1, "", -1, -1
	var nums []string
	for _, a := range args {
		switch a {
		case "typed":
			typed = true
		case "up":
			up = true
		case "no-maint":
			noMaint = true
		default:
			nums = append(nums, a)
		}
	}
	if len(nums) == 3 {
		if n, err := strconv.Atoi(nums[0]); err == nil {
			iid = n
		} else {
			proxy = nums[0]
		}
		mask, _ = strconv.Atoi(nums[1])
		sid, _ = strconv.Atoi(nums[2])
	} // as HAProxy, an incomplete selector shows everything
	var rows []stats.Row
	for _, r := range s.src.Rows() {
		if iid != -1 && r.IID != iid || proxy != "" && r.PxName != proxy ||
			mask != -1 && mask&(1<<r.Type) == 0 || sid != -1 && r.Type == stats.TypeServer && r.SID != sid {
			continue
		}
		if r.Type == stats.TypeServer && (up && r.Status != "UP" && r.Status != "no check" ||
			(noMaint || up) && r.Status == "MAINT") {
			continue
		}
		rows = append(rows, r)
	}
	if typed {
		stats.WriteTyped(out, rows)
	} else {
		stats.WriteCSV(out, rows)
	}
	out.Truncate(out.Len() - 1) // the session adds the final empty line
}

func (s *session) showInfo(out *bytes.Buffer, args []string) {
	typed := len(args) > 0 && args[0] == "typed"
	for i, kv := range stats.Info(s.src) {
		if typed {
			t := "u32"
			if _, err := strconv.ParseUint(kv[1], 10, 64); err != nil {
				t = "str"
			}
			fmt.Fprintf(out, "%d.%s.1:POS:%s:%s\n", i, kv[0], t, kv[1])
			continue
		}
		out.WriteString(kv[0] + ": " + kv[1] + "\n")
	}
}

// showServersState writes `show servers state [BACKEND]` (format version 1).
func (s *session) showServersState(out *bytes.Buffer, args []string) {
	rows := s.src.Rows()
	if len(args) > 0 {
		found := false
		for _, r := range rows {
			if r.Type == stats.TypeBackend && r.PxName == args[0] {
				found = true
			}
		}
		if !found {
			out.WriteString("Can't find backend.\n")
			return
		}
	}
	out.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	for _, r := range rows {
		if r.Type != stats.TypeServer || len(args) > 0 && r.PxName != args[0] {
			continue
		}
		sv := r.Server
		op := 2 // running
		if !sv.Up() {
			op = 0
		}
		adm := 0
		switch sv.Admin() {
		case backend.AdminMaint:
			adm |= 0x01 // forced maintenance
		case backend.AdminDrain:
			adm |= 0x08 // forced drain
		}
		if sv.Cfg.Disabled {
			adm |= 0x04 // maintenance from the configuration
		}
		chkStatus, chkResult, chkHealth, chkState := 1, 0, sv.Cfg.Check.Rise, 0
		if c := r.Check; c != nil { // ISSUE 3: the health checks' state
			chkStatus, chkHealth, chkState = 6, c.Health, 6
			chkResult = 3
			if !sv.Up() {
				chkStatus, chkResult = 8, 2
			}
		}
		host, port := addrParts(r.Addr)
		fmt.Fprintf(out, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d 0 0 0 - %s - 0 %d - - 0\n",
			r.IID, r.PxName, r.SID, r.SvName, host, op, adm, sv.EffectiveWeight(), sv.Cfg.Weight, r.LastChg,
			chkStatus, chkResult, chkHealth, chkState, port, sv.Cfg.Check.Port)
	}
}

func addrParts(a string) (host, port string) {
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a, "0"
	}
	return strings.Trim(a[:i], "[]"), a[i+1:]
}
