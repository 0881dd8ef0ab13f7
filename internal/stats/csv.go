package stats

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Columns are the CSV columns of HAProxy 2.6, in order (management.txt §9.1).
var Columns = strings.Split("pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"+
	"wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,"+
	"tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,"+
	"hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,"+
	"comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,"+
	"agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,"+
	"agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,"+
	"reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,"+
	"idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,"+
	"agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,"+
	"h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,"+
	"h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,"+
	"h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,"+
	"h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,"+
	"h1_spliced_bytes_in,h1_spliced_bytes_out", ",")

// Which columns HAProxy fills for each kind of row; those tandem does not measure
// show 0, as in HAProxy when nothing happened.
const (
	h1h2 = " ssl_sess ssl_reused_sess ssl_failed_handshake h2_headers_rcvd h2_data_rcvd h2_settings_rcvd h2_rst_stream_rcvd" +
		" h2_goaway_rcvd h2_detected_conn_protocol_errors h2_detected_strm_protocol_errors h2_rst_stream_resp" +
		" h2_goaway_resp h2_open_connections h2_backend_open_streams h2_total_connections h2_backend_total_streams" +
		" h1_open_connections h1_open_streams h1_total_connections h1_total_streams h1_bytes_in h1_bytes_out" +
		" h1_spliced_bytes_in h1_spliced_bytes_out"
	feCols = "pxname svname scur smax slim stot bin bout dreq dresp ereq status pid iid sid type rate rate_lim rate_max" +
		" hrsp_1xx hrsp_2xx hrsp_3xx hrsp_4xx hrsp_5xx hrsp_other req_rate req_rate_max req_tot comp_in comp_out" +
		" comp_byp comp_rsp mode conn_rate conn_rate_max conn_tot intercepted dcon dses wrew cache_lookups cache_hits eint -" + h1h2
	beCols = "pxname svname qcur qmax scur smax slim stot bin bout dreq dresp econ eresp wretr wredis status weight act" +
		" bck chkdown lastchg downtime pid iid sid lbtot type rate rate_max hrsp_1xx hrsp_2xx hrsp_3xx hrsp_4xx hrsp_5xx" +
		" hrsp_other req_tot cli_abrt srv_abrt comp_in comp_out comp_byp comp_rsp lastsess qtime ctime rtime ttime mode" +
		" algo wrew connect reuse cache_lookups cache_hits qtime_max ctime_max rtime_max ttime_max eint uweight" +
		" agg_server_status agg_server_check_status agg_check_status -" + h1h2
	svCols = "pxname svname qcur qmax scur smax stot bin bout dresp econ eresp wretr wredis status weight act bck" +
		" lastchg pid iid sid lbtot type rate rate_max hrsp_1xx hrsp_2xx hrsp_3xx hrsp_4xx hrsp_5xx hrsp_other req_tot" +
		" cli_abrt srv_abrt lastsess qtime ctime rtime ttime addr mode wrew connect reuse srv_icur qtime_max ctime_max" +
		" rtime_max ttime_max eint idle_conn_cur safe_conn_cur used_conn_cur need_conn_est uweight -" +
		" ssl_sess ssl_reused_sess ssl_failed_handshake"
	svCheckCols = " chkfail chkdown downtime check_status check_duration last_chk check_desc check_rise check_fall check_health"
)

func colSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(s) {
		m[c] = true
	}
	return m
}

var (
	feSet      = colSet(feCols)
	beSet      = colSet(beCols)
	svSet      = colSet(svCols)
	svCheckSet = colSet(svCols + svCheckCols)
)

func u(v uint64) string  { return strconv.FormatUint(v, 10) }
func i64(v int64) string { return strconv.FormatInt(v, 10) }
func itoa(v int) string  { return strconv.Itoa(v) }

// Fields returns the row's values by column name; a column absent from the map is
// empty in the CSV.
func (r *Row) Fields() map[string]string {
	m, set := r.fields()
	for k := range m {
		if !set[k] && !optional[k] {
			delete(m, k)
		}
	}
	if r.Type == TypeServer && r.SLim > 0 {
		m["slim"] = i64(r.SLim)
	}
	if r.Type == TypeServer && r.QLimit > 0 {
		m["qlimit"] = i64(r.QLimit) // HAProxy: maxqueue, empty when unlimited
	}
	return m
}

// optional are the columns filled only when they have a value.
var optional = map[string]bool{"cookie": true, "check_code": true, "last_chk": true}

func (r *Row) fields() (map[string]string, map[string]bool) {
	var set map[string]bool
	switch {
	case r.Type == TypeFrontend:
		set = feSet
	case r.Type == TypeBackend:
		set = beSet
	case r.Check != nil:
		set = svCheckSet
	default:
		set = svSet
	}
	m := make(map[string]string, len(set)+4)
	for c := range set {
		m[c] = "0"
	}
	m["-"] = "-"
	m["pxname"], m["svname"] = r.PxName, r.SvName
	m["qcur"], m["qmax"] = i64(r.QCur), i64(r.QMax)
	m["scur"], m["smax"], m["stot"] = i64(r.SCur), i64(r.SMax), u(r.STot)
	if r.SLim > 0 {
		m["slim"] = i64(r.SLim)
	} else if r.Type == TypeServer {
		delete(m, "slim")
	}
	m["bin"], m["bout"] = u(r.BIn), u(r.BOut)
	m["dreq"], m["ereq"], m["econ"], m["eresp"] = u(r.DReq), u(r.EReq), u(r.EConn), u(r.EResp)
	m["wretr"], m["wredis"] = u(r.WRetr), u(r.WRedis)
	m["status"] = r.Status
	m["pid"], m["iid"], m["sid"], m["type"] = "1", itoa(r.IID), itoa(r.SID), itoa(r.Type)
	m["rate"], m["rate_max"] = u(r.Rate), u(r.RateMax)
	for k, name := range []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"} {
		m[name] = u(r.Hrsp[k])
	}
	m["req_tot"] = u(r.ReqTot)
	m["mode"] = r.Mode
	if r.Type == TypeFrontend {
		m["req_rate"], m["req_rate_max"] = u(r.ReqRate), u(r.ReqRateMax)
		m["conn_rate"], m["conn_rate_max"], m["conn_tot"] = u(r.Rate), u(r.RateMax), u(r.STot)
		m["intercepted"] = u(r.Intercepted)
		return m, set
	}
	m["weight"], m["uweight"] = itoa(r.Weight), itoa(r.UWeight)
	m["act"], m["bck"] = itoa(r.Act), itoa(r.Bck)
	m["lastchg"] = i64(r.LastChg)
	m["lbtot"] = u(r.LBTot)
	m["lastsess"] = "-1"
	if r.Type == TypeBackend {
		if r.Algo == "" {
			delete(m, "algo")
		} else {
			m["algo"] = r.Algo
		}
		m["downtime"] = "0"
		if r.Status == "DOWN" {
			m["chkdown"] = "1"
		}
		return m, set
	}
	m["addr"] = r.Addr
	if r.Cookie != "" {
		m["cookie"] = r.Cookie
	}
	if c := r.Check; c != nil {
		m["chkfail"], m["chkdown"] = u(c.Fails), u(c.Downs)
		m["downtime"] = i64(int64(c.Downtime.Seconds()))
		m["check_status"] = c.Status
		m["check_duration"] = i64(c.Duration.Milliseconds())
		if c.Code > 0 {
			m["check_code"] = itoa(c.Code)
		}
		m["last_chk"], m["check_desc"] = c.Info, c.Desc
		m["check_rise"], m["check_fall"], m["check_health"] = itoa(c.Rise), itoa(c.Fall), itoa(c.Health)
		if c.Info == "" {
			delete(m, "last_chk")
		}
	}
	return m, set
}

// CSVHeader is the first line of `show stat` and of the `;csv` export.
func CSVHeader() string { return "# " + strings.Join(Columns, ",") + ",\n" }

// csvEscape quotes a value that holds a comma or a quote.
func csvEscape(s string) string {
	if !strings.ContainsAny(s, ",\"\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// WriteCSV writes the header and one line per row, as `show stat`: every line ends
// with a comma; an empty line ends the output.
func WriteCSV(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(CSVHeader())
	for i := range rows {
		f := rows[i].Fields()
		for _, c := range Columns {
			bw.WriteString(csvEscape(f[c]))
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// typedTags are the origin, nature and scope tags and the type of each field in
// `show stat typed` (management.txt §9.1).
var typedTags = func() map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Fields("pxname=KNS:str svname=KNS:str qcur=MGP:u32 qmax=MMP:u32 scur=MGP:u32 smax=MMP:u32" +
		" slim=CLP:u32 stot=MCP:u64 bin=MCP:u64 bout=MCP:u64 dreq=MCP:u64 dresp=MCP:u64 ereq=MCP:u64 econ=MCP:u64" +
		" eresp=MCP:u64 wretr=MCP:u64 wredis=MCP:u64 status=SGP:str weight=MaP:u32 act=MGP:u32 bck=MGP:u32" +
		" chkfail=MCP:u64 chkdown=MCP:u64 lastchg=MAP:u32 downtime=MCP:u32 pid=KGP:u32 iid=KGS:u32 sid=KGS:u32" +
		" lbtot=MCP:u64 type=CGS:u32 rate=MRP:u32 rate_lim=CLP:u32 rate_max=MMP:u32 check_status=SGP:str" +
		" check_code=MGP:u32 check_duration=MaP:u64 req_rate=MRP:u32 req_rate_max=MMP:u32 req_tot=MCP:u64" +
		" cli_abrt=MCP:u64 srv_abrt=MCP:u64 lastsess=MAP:s32 last_chk=MGP:str qtime=MaP:u32 ctime=MaP:u32" +
		" rtime=MaP:u32 ttime=MaP:u32 check_desc=CGS:str check_rise=MaP:u32 check_fall=MaP:u32" +
		" check_health=SGP:u32 addr=CGS:str cookie=CGS:str mode=CGS:str algo=CGS:str conn_rate=MRP:u32" +
		" conn_rate_max=MMP:u32 conn_tot=MCP:u64 intercepted=MCP:u64 srv_icur=MGP:u32 qtime_max=MMP:u32" +
		" ctime_max=MMP:u32 rtime_max=MMP:u32 ttime_max=MMP:u32 uweight=MaP:u32 agg_server_status=MGP:u32" +
		" agg_server_check_status=MGP:u32 agg_check_status=MGP:u32 idle_conn_cur=MGP:u32 safe_conn_cur=MGP:u32" +
		" used_conn_cur=MGP:u32 need_conn_est=MGP:u32 h2_open_connections=MGP:u64 h2_backend_open_streams=MGP:u64" +
		" h1_open_connections=MGP:u64 h1_open_streams=MGP:u64") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}()

// typedOverrides are the fields whose tags depend on the kind of row.
var typedOverrides = map[string]string{"B.rate": "MGP:u32", "B.rate_max": "MGP:u32", "S.act": "SGP:u32", "S.bck": "SGP:u32"}

// WriteTyped writes `show stat typed`: one line per non-empty field,
// "F.IID.SID.INDEX.NAME.1:TAGS:TYPE:VALUE". As in HAProxy, the "-" separator column has
// no index.
func WriteTyped(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	for i := range rows {
		r := &rows[i]
		f := r.Fields()
		obj := [...]string{"F", "B", "S"}[r.Type]
		idx := -1
		for _, c := range Columns {
			if c == "-" {
				continue
			}
			idx++
			v, ok := f[c]
			if !ok || v == "" {
				continue
			}
			tags := typedOverrides[obj+"."+c]
			if tags == "" {
				tags = typedTags[c]
			}
			if tags == "" {
				tags = "MCP:u64"
			}
			bw.WriteString(obj + "." + itoa(r.IID) + "." + itoa(r.SID) + "." + itoa(idx) + "." + c + ".1:" + tags + ":" + v + "\n")
		}
	}
	bw.WriteByte('\n')
	return bw.Flush()
}
