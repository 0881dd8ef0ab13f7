package haproxy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
	"tandem/internal/stick"
)

// stickTableSyntax is the form tandem reads (HAProxy 2.6's, without peers).
const stickTableSyntax = "type ip|ipv6|integer|string [len <n>]|binary [len <n>] size <n>[k|m|g] [expire <time>] [nopurge] [srvkey name|addr] [store <data_type>[,...]]..."

// kwStickTable reads `stick-table …` (configuration.txt §4.2 "stick-table").
func kwStickTable(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	def, warns, err := parseStickTable(args)
	for _, w := range warns {
		p.warnf(st.pos, "stick-table: %s", w)
	}
	if err != nil {
		p.errorf(st.pos, "stick-table: %v", err)
		return
	}
	if px.stickTable != nil {
		p.errorf(st.pos, "stick-table: this %s already has a table (line %d); HAProxy allows one per proxy: declare more in backend sections of their own",
			sectionName(px.kind), px.stickTable.Pos.Line)
		return
	}
	def.Name = px.name
	px.stickTable = &config.StickTable{Pos: st.pos, Def: def}
}

// parseStickTable reads the arguments of a `stick-table` line. warns are HAProxy's
// warnings (a data type stored twice).
func parseStickTable(args []string) (def stick.Def, warns []string, err error) {
	typed := false
	for i := 0; i < len(args); i++ {
		word := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("missing argument after %q", word)
			}
			i++
			return args[i], nil
		}
		switch word {
		case "type":
			v, err := next()
			if err != nil {
				return def, warns, err
			}
			kt, ok := stick.ParseKeyType(v)
			if !ok {
				return def, warns, fmt.Errorf("unknown type %q (expected ip, ipv6, integer, string or binary)", v)
			}
			def.Type, def.KeyLen, typed = kt, 0, true
			if (kt == stick.KeyString || kt == stick.KeyBinary) && i+1 < len(args) && args[i+1] == "len" {
				i++
				v, err := next()
				if err != nil {
					return def, warns, err
				}
				n, perr := strconv.Atoi(v)
				if perr != nil || n < 1 {
					return def, warns, fmt.Errorf("invalid len %q (expected the key length in bytes, at least 1)", v)
				}
				def.KeyLen = n
			}
		case "size":
			v, err := next()
			if err != nil {
				return def, warns, err
			}
			n, err := parseTableSize(v)
			if err != nil {
				return def, warns, err
			}
			def.Size = n
		case "expire":
			v, err := next()
			if err != nil {
				return def, warns, err
			}
			d, err := parseTime(v)
			if err != nil {
				return def, warns, fmt.Errorf("expire: %v", err)
			}
			def.Expire = d.Truncate(time.Millisecond)
		case "nopurge":
			def.NoPurge = true
		case "peers":
			if _, err := next(); err != nil {
				return def, warns, err
			}
			return def, warns, fmt.Errorf("peers: peers sections are not supported by tandem (the table would not be replicated); remove \"peers NAME\"")
		case "srvkey":
			v, err := next()
			if err != nil {
				return def, warns, err
			}
			if v != "name" && v != "addr" {
				return def, warns, fmt.Errorf("unknown server key type %q (expected name or addr)", v)
			}
			def.SrvKey = v
		case "store":
			if i+1 >= len(args) {
				continue // HAProxy accepts a bare "store"
			}
			i++
			w, err := parseStore(&def.Store, args[i])
			warns = append(warns, w...)
			if err != nil {
				return def, warns, err
			}
		default:
			return def, warns, fmt.Errorf("unknown argument %q (expected %s)", word, stickTableSyntax)
		}
	}
	if !typed {
		return def, warns, fmt.Errorf("missing type (expected %s)", stickTableSyntax)
	}
	if def.Size == 0 {
		return def, warns, fmt.Errorf("missing size (expected size <entries>, e.g. size 100k)")
	}
	if def.KeyLen == 0 && (def.Type == stick.KeyString || def.Type == stick.KeyBinary) {
		def.KeyLen = stick.DefaultKeyLen
	}
	if def.SrvKey == "" {
		def.SrvKey = "name"
	}
	return def, warns, nil
}

// parseTableSize reads a size with an optional k, m or g suffix (2^10, 2^20, 2^30); the
// result must fit 32 bits, as HAProxy's.
func parseTableSize(v string) (int, error) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q (expected a number of entries with an optional k, m or g suffix)", v)
	}
	n, err := strconv.ParseUint(v[:i], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large (at most 4294967295 entries)", v)
	}
	mult := uint64(1)
	switch strings.ToLower(v[i:]) {
	case "":
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("invalid size %q: unexpected %q (expected a number with an optional k, m or g suffix)", v, v[i:])
	}
	if n*mult > 0xffffffff {
		return 0, fmt.Errorf("size %q is too large (at most 4294967295 entries)", v)
	}
	return int(n * mult), nil
}

// parseStore reads one `store` argument: data types separated by commas, a rate with
// its period in parentheses, an array with its size (and, for gpc_rate, a period).
func parseStore(set *stick.StoreSet, list string) (warns []string, err error) {
	for list != "" {
		item := list
		if j := storeItemEnd(list); j >= 0 {
			item, list = list[:j], list[j+1:]
		} else {
			list = ""
		}
		name, arg, hasArg := strings.Cut(item, "(")
		if hasArg {
			if !strings.HasSuffix(arg, ")") {
				return warns, fmt.Errorf("missing closing parenthesis after store option %q", name)
			}
			arg = strings.TrimSuffix(arg, ")")
		}
		d, ok := stick.ParseData(name)
		if !ok {
			return warns, fmt.Errorf("unknown store option %q", name)
		}
		var period time.Duration
		count := 0
		switch {
		case (d.IsRate() || d.IsArray()) && !hasArg:
			return warns, fmt.Errorf("missing argument to store option %q (expected %s)", name, storeForm(d))
		case d.IsArray():
			n, rest, _ := strings.Cut(arg, ",")
			count, err = strconv.Atoi(n)
			if err != nil || count < 1 || count > stick.MaxArray {
				return warns, fmt.Errorf("array size is out of allowed range (1-%d) for store option %q", stick.MaxArray, name)
			}
			if d.IsRate() {
				if rest == "" {
					return warns, fmt.Errorf("missing argument to store option %q (expected %s)", name, storeForm(d))
				}
				arg = rest
			} else if rest != "" {
				return warns, fmt.Errorf("unexpected argument %q to store option %q (expected %s)", rest, name, storeForm(d))
			}
		case hasArg && !d.IsRate():
			return warns, fmt.Errorf("unexpected argument to store option %q", name)
		}
		if d.IsRate() {
			period, err = parseTime(arg)
			if err != nil {
				return warns, fmt.Errorf("store option %q: period: %v", name, err)
			}
			if period < time.Millisecond {
				return warns, fmt.Errorf("store option %q: the period must be at least 1ms", name)
			}
		}
		added := false
		if d.IsArray() {
			added = set.AddArray(d, count, period)
		} else {
			added = set.Add(d, period)
		}
		if !added {
			warns = append(warns, fmt.Sprintf("store option %q already enabled, ignored", name))
		}
	}
	for _, c := range arrayConflicts {
		if set.Has(c.array) && (set.Has(c.a) || set.Has(c.b)) {
			return warns, fmt.Errorf("simultaneous usage of '%s' and '%s' in a same table is not permitted as '%s' overrides '%s'",
				c.array, c.legacy, c.array, c.legacy)
		}
	}
	return warns, nil
}

// arrayConflicts: an array replaces the legacy types it covers (HAProxy refuses both).
var arrayConflicts = []struct {
	array, a, b stick.Data
	legacy      string
}{
	{stick.GPT, stick.GPT0, stick.GPT0, "gpt0"},
	{stick.GPC, stick.GPC0, stick.GPC1, "gpc[0/1]"},
	{stick.GPCRate, stick.GPC0Rate, stick.GPC1Rate, "gpc[0/1]_rate"},
}

// storeItemEnd returns the index of the comma that ends the first item of a store list
// (commas inside parentheses separate arguments), or -1.
func storeItemEnd(list string) int {
	depth := 0
	for i := 0; i < len(list); i++ {
		switch list[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth <= 0 {
				return i
			}
		}
	}
	return -1
}

// storeForm is how a data type that takes arguments is written.
func storeForm(d stick.Data) string {
	switch {
	case d.IsArray() && d.IsRate():
		return d.String() + "(<n>,<period>), e.g. " + d.String() + "(2,10s)"
	case d.IsArray():
		return d.String() + "(<n>), e.g. " + d.String() + "(2)"
	}
	return d.String() + "(<period>), e.g. " + d.String() + "(10s)"
}

// resolveTables lists the tables in file order, gives each proxy its own, and refuses
// two tables with one name (a frontend and a backend of the same name).
func (p *parser) resolveTables(cfg *config.Config) {
	seen := map[string]*proxyState{}
	for _, px := range p.proxies {
		st := px.stickTable
		if st == nil {
			continue
		}
		p.label = px.label
		if old := seen[px.name]; old != nil {
			p.errorf(st.Pos, "stick-table name %q conflicts with the table declared in %s %q at %s",
				px.name, sectionName(old.kind), old.name, old.stickTable.Pos)
			continue
		}
		seen[px.name] = px
		cfg.Tables = append(cfg.Tables, st)
		if px.kind == SecFrontend || px.kind == SecListen {
			if f := cfg.Frontend(px.name); f != nil {
				f.StickTable = st
			}
		}
		if px.kind == SecBackend || px.kind == SecListen {
			if b := cfg.Backend(px.name); b != nil {
				b.StickTable = st
			}
		}
	}
}
