package stats

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"os"
	"strings"
	"time"

	"tandem/internal/config"
)

// The colours are HAProxy's, so operators read the page as they always have.
const css = `body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}
th,td { font-size: 10px;}
h1 { font-size: x-large; margin-bottom: 0.5em;}
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin-top: 0em; margin-bottom: 0em;}
.titre {background: #20D0D0; color: #000000; font-weight: bold; text-align: center;}
.frontend {background: #e8e8d0;}
.backend {background: #e8e8d0;}
.active_down {background: #ff9090;}
.active_going_up {background: #ffd020;}
.active_going_down {background: #ffffa0;}
.active_up {background: #c0ffc0;}
.active_nolb {background: #20a0ff;}
.active_draining {background: #20a0FF;}
.active_no_check {background: #e0e0e0;}
.backup_down {background: #ff9090;}
.backup_going_up {background: #ff80ff;}
.backup_going_down {background: #c060ff;}
.backup_up {background: #b0d0ff;}
.backup_nolb {background: #90b0e0;}
.backup_draining {background: #cc9900;}
.backup_no_check {background: #e0e0e0;}
.maintain {background: #c07820;}
.vrrp_master {background: #c0ffc0;}
.vrrp_backup {background: #e0e0e0;}
.vrrp_fault {background: #ff9090;}
table.tbl { border-collapse: collapse; border-style: none;}
table.tbl td { text-align: right; border: 1px solid gray; padding: 2px 3px; white-space: nowrap;}
table.tbl td.ac { text-align: center;}
table.tbl th { border: 1px solid gray;}
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}
table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black;}
table.lgd td { border: 1px solid gray; padding: 2px;}
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap;}
.msg { border: 1px solid; padding: 4px; margin: 4px 0;}
.msg_ok { background: #c0ffc0;}
.msg_err { background: #ff9090;}
`

// pageOpts are what one request of the page asks for.
type pageOpts struct {
	st       *config.Stats
	uri      string
	refresh  bool
	admin    bool
	upOnly   bool
	actionSt string // ;st=... after an admin action
}

// rowClass is the CSS class of a server row: its status in HAProxy's colours.
func rowClass(r *Row) string {
	switch r.Type {
	case TypeFrontend:
		return "frontend"
	case TypeBackend:
		return "backend"
	}
	kind := "active_"
	if r.Backup {
		kind = "backup_"
	}
	switch s := r.Status; {
	case s == "MAINT":
		return "maintain"
	case s == "DRAIN":
		return kind + "draining"
	case s == "NOLB":
		return kind + "nolb"
	case s == "no check":
		return kind + "no_check"
	case strings.HasPrefix(s, "DOWN "):
		return kind + "going_up"
	case strings.HasPrefix(s, "UP "):
		return kind + "going_down"
	case s == "DOWN":
		return kind + "down"
	}
	return kind + "up"
}

// human is HAProxy's short duration: "5s", "2m3s", "1h2m", "3d4h".
func human(sec int64) string {
	if sec < 0 {
		return ""
	}
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm%ds", sec/60, sec%60)
	case sec < 86400:
		return fmt.Sprintf("%dh%dm", sec/3600, sec/60%60)
	}
	return fmt.Sprintf("%dd%dh", sec/86400, sec/3600%24)
}

func uptime(d time.Duration) string {
	s := int64(d.Seconds())
	return fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s/3600%24, s/60%60, s%60)
}

var actionMsgs = map[string]struct {
	ok   bool
	text string
}{
	"DONE": {true, "Action processed successfully."},
	"PART": {false, "Action partially processed."},
	"NONE": {true, "Nothing has changed."},
	"DENY": {false, "Action denied."},
	"ERRP": {false, "Action not processed because of invalid parameters."},
	"EXCD": {false, "Action not processed: the buffer couldn't store all the data."},
	"UNKN": {false, "Unexpected error."},
}

// writeHTML writes the whole stats page.
func (s *Source) writeHTML(w io.Writer, o pageOpts) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	e := html.EscapeString
	now := s.now()
	pr := s.Process
	p("<!DOCTYPE html>\n<html><head><title>Statistics Report for tandem%s</title>\n", nodeSuffix(o.st, pr))
	p("<meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\">\n<style type=\"text/css\"><!--\n%s--></style></head>\n<body>", css)
	if o.st.HideVersion {
		p("<h1>tandem</h1>\n")
	} else {
		p("<h1>tandem version %s</h1>\n", e(pr.Version))
	}
	p("<h2>Statistics Report for pid %d%s</h2>\n<hr width=\"100%%\" class=\"hr\">\n", pr.Pid, e(nodeSuffix(o.st, pr)))
	if m, ok := actionMsgs[o.actionSt]; ok {
		cls := "msg_err"
		if m.ok {
			cls = "msg_ok"
		}
		p("<p class=\"msg %s\" id=\"action-status\">[<a href=\"%s\">X</a>] %s</p>\n", cls, e(o.uri), m.text)
	}
	rows := s.Rows()
	curConns := int64(0)
	for i := range rows {
		if rows[i].Type == TypeFrontend {
			curConns += rows[i].SCur
		}
	}
	p("<h3>&gt; General process information</h3>\n<table border=0><tr><td align=\"left\" nowrap width=\"1%%\">\n")
	p("<p><b>pid = </b> %d (process #1, nbproc = 1, nbthread = %d)<br>\n", pr.Pid, pr.Nbthread)
	p("<b>uptime = </b> %s<br>\n", uptime(now.Sub(pr.Start)))
	p("<b>system limits:</b> memmax = unlimited; ulimit-n = %d<br>\n", pr.MaxSock)
	p("<b>maxsock = </b> %d; <b>maxconn = </b> %d<br>\ncurrent conns = %d<br>\n</td>", pr.MaxSock, pr.MaxConn, curConns)
	p(`<td align="center" nowrap><table class="lgd"><tr>
<td class="active_up">&nbsp;</td><td class="noborder">active UP </td><td class="backup_up">&nbsp;</td><td class="noborder">backup UP </td></tr><tr>
<td class="active_going_down"></td><td class="noborder">active UP, going down </td><td class="backup_going_down"></td><td class="noborder">backup UP, going down </td></tr><tr>
<td class="active_going_up"></td><td class="noborder">active DOWN, going up </td><td class="backup_going_up"></td><td class="noborder">backup DOWN, going up </td></tr><tr>
<td class="active_down"></td><td class="noborder">active or backup DOWN &nbsp;</td><td class="active_no_check"></td><td class="noborder">not checked </td></tr><tr>
<td class="maintain"></td><td class="noborder" colspan="3">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>
<td class="active_draining"></td><td class="noborder" colspan="3">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>
Note: "NOLB"/"DRAIN" = UP with load-balancing disabled.</td>`)
	p("<td align=\"left\" valign=\"top\" nowrap width=\"1%%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\">\n")
	if o.upOnly {
		p("<li><a href=\"%s\">Show all servers</a><br>\n", e(o.uri))
	} else {
		p("<li><a href=\"%s;up\">Hide 'DOWN' servers</a><br>\n", e(o.uri))
	}
	if o.st.Refresh > 0 {
		if o.refresh {
			p("<li><a href=\"%s;norefresh\">Disable refresh</a><br>\n", e(o.uri))
		} else {
			p("<li><a href=\"%s\">Enable refresh</a><br>\n", e(o.uri))
		}
	}
	p("<li><a href=\"%s\">Refresh now</a><br>\n<li><a href=\"%s;csv;norefresh\">CSV export</a><br>\n</ul></td></tr></table>\n", e(o.uri), e(o.uri))

	if s.VRRP != nil {
		if ins, ok := s.VRRP(); ok {
			writeVRRP(bw, ins, now, o)
		}
	}

	// One table per proxy, rows in order: frontend, servers, backend.
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].PxName == rows[i].PxName && !(rows[j].Type == TypeFrontend) {
			j++
		}
		s.writeProxy(bw, rows[i:j], o)
		i = j
	}
	p("</body></html>\n")
	return bw.Flush()
}

func nodeSuffix(st *config.Stats, pr Process) string {
	if st == nil || !st.ShowNode {
		return ""
	}
	n := st.NodeName
	if n == "" {
		n = pr.Node
	}
	if n == "" {
		n, _ = os.Hostname()
	}
	return " on " + n
}

func (s *Source) writeProxy(bw *bufio.Writer, rows []Row, o pageOpts) {
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	e := html.EscapeString
	name := rows[0].PxName
	var pool bool
	for i := range rows {
		if rows[i].Type == TypeServer {
			pool = true
		}
	}
	adminForm := o.admin && pool
	if adminForm {
		p("<form method=\"post\" action=\"%s\">\n", e(o.uri))
	}
	legend := ""
	if o.st.ShowLegends { // stats show-legends: what the proxy is, on hover
		legend = fmt.Sprintf(` title="mode: %s, id: %d"`, e(rows[0].Mode), rows[0].IID)
	}
	p("<table class=\"tbl\" width=\"100%%\" id=\"px-%s\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%%\"%s><a name=\"%s\"></a>%s</th><th class=\"empty\" width=\"90%%\"></th></tr>\n</table>\n", e(name), legend, e(name), e(name))
	p("<table class=\"tbl\" width=\"100%%\">\n<tr class=\"titre\">")
	if adminForm {
		p("<th rowspan=2 width=1></th>")
	}
	p("<th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n")
	p("<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th></tr>\n")
	for i := range rows {
		r := &rows[i]
		if o.upOnly && r.Type == TypeServer && strings.HasPrefix(r.Status, "DOWN") {
			continue
		}
		label := map[int]string{TypeFrontend: "Frontend", TypeBackend: "Backend"}[r.Type]
		if r.Type == TypeServer {
			label = r.SvName
		}
		id := e(r.PxName + "/" + label)
		p("<tr class=\"%s\" id=\"%s\" data-status=\"%s\">", rowClass(r), id, e(r.Status))
		if adminForm {
			if r.Type == TypeServer {
				p("<td><input type=\"checkbox\" name=\"s\" value=\"%s\"></td>", e(r.SvName))
			} else {
				p("<td></td>")
			}
		}
		p("<td class=ac><a name=\"%s\"></a>%s</td>", id, e(label))
		lim := func(v int64) string {
			switch {
			case v > 0:
				return i64(v)
			case r.Type == TypeServer:
				return "-" // HAProxy: a server's unlimited maxconn or maxqueue
			}
			return ""
		}
		if r.Type == TypeFrontend {
			p("<td colspan=3></td>")
		} else {
			p("<td>%d</td><td>%d</td><td>%s</td>", r.QCur, r.QMax, lim(r.QLimit)) // a server's maxqueue
		}
		p("<td>%d</td><td>%d</td><td></td>", r.Rate, r.RateMax)
		lbtot := ""
		if r.Type != TypeFrontend {
			lbtot = u(r.LBTot)
		}
		p("<td>%d</td><td>%d</td><td>%s</td><td>%d</td><td>%s</td><td></td>", r.SCur, r.SMax, lim(r.SLim), r.STot, lbtot)
		p("<td>%d</td><td>%d</td>", r.BIn, r.BOut)
		if r.Type == TypeServer {
			p("<td></td><td>0</td><td></td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>", r.EConn, r.EResp, r.WRetr, r.WRedis)
		} else if r.Type == TypeFrontend {
			p("<td>%d</td><td>0</td><td>%d</td><td></td><td></td><td></td><td></td>", r.DReq, r.EReq)
		} else {
			p("<td>%d</td><td>0</td><td></td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>", r.DReq, r.EConn, r.EResp, r.WRetr, r.WRedis)
		}
		switch r.Type {
		case TypeFrontend:
			p("<td class=ac>%s</td><td colspan=8></td>", e(r.Status))
		case TypeBackend:
			p("<td class=ac>%s %s</td><td></td><td class=ac>%d</td><td class=ac>%d</td><td class=ac>%d</td><td></td><td></td><td></td><td></td>", human(r.LastChg), e(r.Status), r.Weight, r.Act, r.Bck)
		default:
			act, bck := "Y", "-"
			if r.Backup {
				act, bck = "-", "Y"
			}
			lastChk, chk, dwn, dwntme := "", "", "", ""
			if c := r.Check; c != nil {
				if c.Status != "" {
					lastChk = fmt.Sprintf("%s in %dms", c.Status, c.Duration.Milliseconds())
				}
				if c.Code > 0 {
					lastChk = fmt.Sprintf("%s/%d in %dms", c.Status, c.Code, c.Duration.Milliseconds())
				}
				chk, dwn, dwntme = u(c.Fails), u(c.Downs), human(int64(c.Downtime.Seconds()))
			}
			// ISSUE 3: the last check's description could go in a tooltip here.
			p("<td class=ac>%s %s</td><td class=ac>%s</td><td class=ac>%d</td><td class=ac>%s</td><td class=ac>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=ac>-</td>",
				human(r.LastChg), e(r.Status), e(lastChk), r.Weight, act, bck, chk, dwn, dwntme)
		}
		p("</tr>\n")
	}
	p("</table>\n")
	if adminForm {
		p(`<p>Choose the action to perform on the checked servers : <select name=action>
<option value="">Choose an action</option>
<option value="ready">Set state to READY</option>
<option value="drain">Set state to DRAIN</option>
<option value="maint">Set state to MAINT</option>
<option value="dhlth">Health: disable checks</option>
<option value="ehlth">Health: enable checks</option>
</select><input type="hidden" name="b" value="%s"><input type="submit" value="Apply"></p></form>
`, e(name))
	}
	p("<p>\n")
}

func writeVRRP(bw *bufio.Writer, ins []VRRPInstance, now time.Time, o pageOpts) {
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	e := html.EscapeString
	adminTh := ""
	if o.admin {
		adminTh = "<th>Admin</th>"
	}
	p("<h3>&gt; VRRP</h3>\n<table class=\"tbl\" width=\"100%%\" id=\"vrrp\">\n<tr class=\"titre\"><th>Instance</th><th>Interface</th><th>VRID</th><th>State</th><th>Since</th><th>Priority</th><th>Configured</th><th>Master</th><th>VIPs</th><th>Adverts sent</th><th>Adverts received</th><th>Trackers</th><th>Transitions</th><th>Split brain</th><th>Last takeover</th>%s</tr>\n", adminTh)
	for _, in := range ins {
		since := ""
		if !in.Since.IsZero() {
			since = human(int64(now.Sub(in.Since).Seconds()))
		}
		var trackers, transitions []string
		for _, tr := range in.Trackers {
			st := "OK"
			if !tr.OK {
				st = "FAIL"
			}
			trackers = append(trackers, fmt.Sprintf("%s %s (%+d)", e(tr.Name), st, tr.Delta))
		}
		for i := max(0, len(in.Transitions)-5); i < len(in.Transitions); i++ {
			tr := in.Transitions[i]
			transitions = append(transitions, fmt.Sprintf("%s %s&rarr;%s %s", tr.At.UTC().Format("2006-01-02 15:04:05"), e(tr.From), e(tr.To), e(tr.Reason)))
		}
		adminTd := ""
		if o.admin {
			adminTd = "<td></td>"
			if in.State == "MASTER" {
				adminTd = fmt.Sprintf(`<td><form method="post" action="%s"><input type="hidden" name="vrrp" value="%s"><input type="hidden" name="action" value="switchover"><input type="submit" value="Switch over"></form></td>`, e(o.uri), e(in.Name))
			}
		}
		p("<tr class=\"vrrp_%s\" id=\"vrrp-%s\"><td class=ac>%s</td><td class=ac>%s</td><td>%d</td><td class=ac>%s</td><td>%s</td><td>%d</td><td>%d</td><td class=ac>%s</td><td class=ac>%s</td><td>%d</td><td>%d</td><td style=\"text-align:left\">%s</td><td style=\"text-align:left\">%s</td><td style=\"text-align:left\">%s</td><td style=\"text-align:left\">%s</td>%s</tr>\n",
			strings.ToLower(in.State), e(in.Name), e(in.Name), e(in.Interface), in.VRID, e(in.State), since, in.Priority, in.BasePriority,
			e(in.Master), e(strings.Join(in.VIPs, " ")), in.AdvertsSent, in.AdvertsReceived, strings.Join(trackers, "<br>"), strings.Join(transitions, "<br>"),
			splitBrainCell(in), takeoverCell(in), adminTd)
	}
	p("</table>\n")
}
