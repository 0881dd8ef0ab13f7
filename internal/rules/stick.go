package rules

import (
	"fmt"
	"strconv"
	"strings"

	"tandem/internal/sample"
	"tandem/internal/track"
)

// This file compiles and runs the stick-counter actions (configuration.txt §4.2):
// track-sc0/1/2 KEY [table T], sc-inc-gpc0(N), sc-inc-gpc1(N), sc-inc-gpc(IDX,N),
// sc-set-gpt0(N) VALUE and sc-set-gpt(IDX,N) VALUE. The data path's sample.Txn carries
// them out through track.Txn.

// parseStick compiles a stick-counter action named name (as written) into r.
func (p *ruleParser) parseStick(name string, r *Rule) error {
	switch {
	case strings.HasPrefix(name, "track-sc"):
		n, err := strconv.Atoi(name[len("track-sc"):])
		if err != nil || n < 0 || n >= track.Slots {
			return fmt.Errorf("%s: unknown action %q (track-sc0, track-sc1 or track-sc2)", p.kw, name)
		}
		r.Action, r.Slot = TrackSC, n
		text, err := p.word("key sample expression")
		if err != nil {
			return err
		}
		if r.Expr, err = sample.ParseExpr(text, p.ctx); err != nil {
			return fmt.Errorf("%s: %w", p.kw, err)
		}
		if p.peek() == "table" {
			if r.Table, err = p.value("table"); err != nil {
				return err
			}
			if p.ctx.UseTable != nil {
				p.ctx.UseTable(r.Table)
			}
		}
		return nil
	case strings.HasPrefix(name, "sc-inc-gpc"), strings.HasPrefix(name, "sc-set-gpt"):
		set := strings.HasPrefix(name, "sc-set-gpt")
		rest := name[len("sc-inc-gpc"):]
		open := strings.IndexByte(rest, '(')
		if open < 0 || !strings.HasSuffix(rest, ")") {
			return fmt.Errorf("%s: expected %s(<sc-id>)", p.kw, name)
		}
		idxText, inner := rest[:open], rest[open+1:len(rest)-1]
		var idx int
		switch idxText {
		case "0", "1":
			idx = int(idxText[0] - '0')
			if set && idx == 1 {
				return fmt.Errorf("%s: unknown action %q (sc-set-gpt0 or sc-set-gpt)", p.kw, name)
			}
		case "":
			i := strings.IndexByte(inner, ',')
			if i < 0 {
				return fmt.Errorf("%s: expected %s(<idx>,<sc-id>)", p.kw, name)
			}
			var err error
			if idx, err = strconv.Atoi(strings.TrimSpace(inner[:i])); err != nil || idx < 0 || idx >= 100 {
				return fmt.Errorf("%s: invalid index %q (0 to 99)", p.kw, inner[:i])
			}
			inner = inner[i+1:]
		default:
			return fmt.Errorf("%s: unknown action %q", p.kw, name)
		}
		n, err := strconv.Atoi(strings.TrimSpace(inner))
		if err != nil || n < 0 || n >= track.Slots {
			return fmt.Errorf("%s: invalid stick counter %q (0, 1 or 2)", p.kw, inner)
		}
		r.Slot, r.GPC = n, idx
		r.Action = SCIncGPC
		if !set {
			return nil
		}
		r.Action = SCSetGPT
		text, err := p.word("value (an integer or a sample expression)")
		if err != nil {
			return err
		}
		if _, e := strconv.ParseInt(text, 10, 64); e == nil {
			text = "int(" + text + ")"
		}
		if r.Expr, err = sample.ParseExpr(text, p.ctx); err != nil {
			return fmt.Errorf("%s: %w", p.kw, err)
		}
		return nil
	}
	return fmt.Errorf("%s: unknown action %q", p.kw, name)
}

// runStick carries out a stick-counter action on t (nothing when t does not track).
func runStick(r *Rule, t sample.Txn) {
	tt, ok := t.(track.Txn)
	if !ok {
		return
	}
	switch r.Action {
	case TrackSC:
		if tt.Tracked(r.Slot) != nil {
			return // the first tracker of a slot wins
		}
		tab := tt.Table(r.Table)
		if tab == nil {
			return
		}
		v, ok := r.Expr.Eval(t)
		if !ok {
			return
		}
		if k, ok := track.Key(tab, v, true); ok {
			tt.Track(r.Slot, tab, k)
		}
	case SCIncGPC:
		if e := tt.Tracked(r.Slot); e != nil {
			e.IncGPC(r.GPC, tt.Now())
		}
	case SCSetGPT:
		e := tt.Tracked(r.Slot)
		if e == nil {
			return
		}
		if v, ok := r.Expr.Eval(t); ok && (v.Type == sample.TInt || v.Type == sample.TBool) {
			e.SetGPT(r.GPC, uint32(v.I), tt.Now())
		}
	}
}

// parseStickRule compiles an `http-request|http-response track-sc*|sc-*` rule.
func parseStickRule(ph Phase, name string, args []string, env *Env) (*Rule, error) {
	kw := ph.String() + " " + name
	if ph == AfterResponse || ph == Response && strings.HasPrefix(name, "track-sc") {
		return nil, fmt.Errorf("%s: tandem carries out track-sc in http-request and tcp-request rules, and sc-* actions in http-request and http-response rules", kw)
	}
	p := newParser(env, ph.Where(), kw, args)
	r := &Rule{}
	if err := p.parseStick(name, r); err != nil {
		return nil, err
	}
	var err error
	if r.Cond, err = p.cond(); err != nil {
		return nil, err
	}
	return r, nil
}
