package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"crossfire/history"
)

// CartName is the cart checker's name.
const CartName = "cart"

// Causes an anomaly is attributed to.
const (
	CauseClockSkew = "clock-skew" // a write that decided the outcome was stamped by a skewed clock
	CauseMergeRule = "merge-rule" // the merge of concurrent versions brought back what was removed
	CauseLWW       = "lww"        // last-writer-wins dropped a concurrent write, no skew involved
)

// CartChecker judges carts by their final reads (those marked meta.final, or, in a history
// without the marker, the last successful read of each cart at each leader):
//
//   - a lost add is an item whose add was acknowledged, missing from a leader's final read, with
//     no remove of it made (a remove of unknown outcome may have happened, and explains it);
//   - a resurrected item is one present in a leader's final read although an acknowledged remove
//     of it had seen every acknowledged add of it (its version vector includes theirs): a remove
//     that had not seen an add is concurrent with it, and under add-wins semantics the add
//     rightly stays; an add attempt of unknown outcome may take effect later, and explains it.
//
// Both are definite: they rest on acknowledged operations and final reads alone. Items are added
// once each (a retry re-adds the same one), so an item's presence speaks of its own add. Each anomaly is attributed
// where the evidence allows: to clock skew when the write that won (the version the final read
// shows, found by its origin and timestamp) or the lost write itself was stamped while the clock
// nemesis had its leader's clock off, to the merge rule when a removed item came back with no
// skew to explain it, else to last-writer-wins.
type CartChecker struct{}

// Name implements Checker.
func (CartChecker) Name() string { return CartName }

// Check implements Checker.
func (c CartChecker) Check(ctx context.Context, ops []history.Op) Result {
	return checkByStreaming(ctx, c, ops)
}

// Stream implements Streamer.
func (CartChecker) Stream() Stream {
	return &cartStream{items: map[string]map[string]*cartItem{},
		finals: map[string]map[string]cartFinal{}, skew: map[string][]skewSpan{}, byCart: map[string][]*cartWrite{}}
}

type cartItem struct {
	ops                  []int64
	addOK, addInfo       bool
	addDone, addInvoke   int64 // times
	addNode              string
	add                  *cartWrite   // the first acknowledged add's version
	adds                 []*cartWrite // every acknowledged add's version (retries and redeliveries add again)
	removes              []*cartWrite // every acknowledged remove's version
	removeOK, removeInfo bool
}

// cartWrite is an acknowledged cart write: its version, when it completed, and the clock skew
// its leader was under then ("" for none).
type cartWrite struct {
	origin      string
	ts          int64
	vv          map[string]uint64
	time, index int64
	skew        string
}

// writeOf reads the version an acknowledged write reported in its meta (origin, ts, vv), with
// one decode of the meta; ok is false when it reported no version vector or no origin.
func writeOf(op history.Op) (w *cartWrite, ok bool) {
	w = &cartWrite{time: op.Time, index: op.Index}
	var m struct {
		Origin string            `json:"origin"`
		TS     int64             `json:"ts"`
		VV     map[string]uint64 `json:"vv"`
	}
	if len(op.Meta) == 0 || json.Unmarshal(op.Meta, &m) != nil {
		return w, false
	}
	w.origin, w.ts, w.vv = m.Origin, m.TS, m.VV
	return w, len(m.VV) > 0 && m.Origin != ""
}

// sawEveryAdd returns an acknowledged remove whose version includes every acknowledged add of the
// item (so it removed them all, whatever the strategy), or nil.
func (it *cartItem) sawEveryAdd() *cartWrite {
	if len(it.adds) == 0 {
		return nil
	}
	for _, r := range it.removes {
		all := len(r.vv) > 0
		for _, a := range it.adds {
			all = all && coversVV(r.vv, a.vv)
		}
		if all {
			return r
		}
	}
	return nil
}

func coversVV(x, y map[string]uint64) bool {
	for n, c := range y {
		if x[n] < c {
			return false
		}
	}
	return true
}

// concurrent reports whether neither version includes the other.
func concurrentVV(a, b map[string]uint64) bool {
	return !coversVV(a, b) && !coversVV(b, a)
}

type cartFinal struct {
	items    map[string]bool
	index    int64
	start    int64  // the read's invoke time: it can speak only of writes acknowledged before
	strategy string // the store's cart strategy, as the read reported it
}

type skewSpan struct {
	start, end  int64
	description string
}

type cartStream struct {
	p      pairer
	w      windowTracker
	fr     finalReads
	ops    int                             // cart ops seen
	items  map[string]map[string]*cartItem // cart -> item -> what happened to it
	byCart map[string][]*cartWrite         // cart -> its acknowledged writes
	finals map[string]map[string]cartFinal // cart -> leader -> final read
	skew   map[string][]skewSpan           // node -> spans its clock was off
	open   map[string]int                  // node -> index into skew of the span not yet ended
	bad    []string
}

func (s *cartStream) item(cart, item string) *cartItem {
	if s.items[cart] == nil {
		s.items[cart] = map[string]*cartItem{}
	}
	it := s.items[cart][item]
	if it == nil {
		it = &cartItem{}
		s.items[cart][item] = it
	}
	return it
}

func (s *cartStream) Observe(op history.Op) {
	s.w.observe(op)
	if op.IsNemesis() {
		s.observeClock(op)
		return
	}
	if op.Type == history.Invoke {
		if op.F == "add" || op.F == "remove" || op.F == "read" {
			s.p.observe(op)
			s.ops++
		}
		return
	}
	inv, ok := s.p.observe(op)
	if !ok {
		return
	}
	s.complete(inv, op)
}

// observeClock follows the clock faults (those registered as skewing a clock): which leader's
// clock was off, when.
func (s *cartStream) observeClock(op history.Op) {
	if s.open == nil {
		s.open = map[string]int{}
	}
	switch {
	case op.Type == history.Invoke && history.SkewsClock(op.F):
		var v struct {
			Node string `json:"node"`
		}
		if json.Unmarshal(op.Value, &v) != nil || v.Node == "" {
			return
		}
		s.open[v.Node] = len(s.skew[v.Node])
		s.skew[v.Node] = append(s.skew[v.Node], skewSpan{start: op.Time, end: -1, description: describe(op)})
	case op.Type == history.Info && undoesClock(op.F):
		var v struct {
			Node string `json:"node"`
		}
		_ = json.Unmarshal(op.Value, &v)
		for node, i := range s.open {
			if v.Node == "" || v.Node == node {
				s.skew[node][i].end = op.Time
				delete(s.open, node)
			}
		}
	}
}

// undoesClock reports whether a nemesis op named f undoes a clock fault.
func undoesClock(f string) bool {
	fs, ok := history.Undoes(f)
	return ok && slices.ContainsFunc(fs, history.SkewsClock)
}

// skewedAt describes the skew in force on node at time t, or "".
func (s *cartStream) skewedAt(node string, t int64) string {
	for _, sp := range s.skew[node] {
		if sp.start <= t && (sp.end < 0 || t <= sp.end) {
			return sp.description
		}
	}
	return ""
}

func (s *cartStream) complete(inv, done history.Op) {
	cart := inv.Key
	switch inv.F {
	case "add", "remove":
		item, ok := jsonString(inv.Value)
		if !ok {
			s.bad = append(s.bad, fmt.Sprintf("op %d: %s value %s is not an item", inv.Index, inv.F, inv.Value))
			return
		}
		it := s.item(cart, item)
		if len(it.ops) < maxEvidence {
			it.ops = append(it.ops, inv.Index, done.Index)
		}
		var w *cartWrite
		if done.Type == history.OK {
			w, _ = writeOf(done)
			w.skew = s.skewedAt(w.origin, done.Time)
			s.byCart[cart] = append(s.byCart[cart], w)
		}
		if inv.F == "add" {
			switch done.Type {
			case history.OK:
				if !it.addOK {
					it.addOK, it.addInvoke, it.addDone, it.addNode, it.add = true, inv.Time, done.Time, inv.Node, w
				}
				it.adds = append(it.adds, w)
			case history.Info:
				it.addInfo = true
			}
			return
		}
		switch done.Type {
		case history.OK:
			it.removeOK = true
			it.removes = append(it.removes, w)
		case history.Info:
			it.removeInfo = true
		}
	case "read":
		s.fr.observe(inv, done)
	}
}

// takeFinals reads the final cart reads that the history's rule picks (see finalReads).
func (s *cartStream) takeFinals() string {
	picks, rule := s.fr.picks()
	for _, p := range picks {
		var items []string
		if err := json.Unmarshal(p.value, &items); err != nil {
			s.bad = append(s.bad, fmt.Sprintf("op %d: read value is not a list of items: %v", p.index, err))
			continue
		}
		f := cartFinal{items: map[string]bool{}, index: p.index, start: p.start}
		for _, it := range items {
			f.items[it] = true
		}
		f.strategy, _ = jsonString(history.Op{Meta: p.meta}.MetaField("strategy"))
		if s.finals[p.key] == nil {
			s.finals[p.key] = map[string]cartFinal{}
		}
		s.finals[p.key][p.node] = f
	}
	return rule
}

func (s *cartStream) Result(context.Context) Result {
	for _, inv := range s.p.pending() {
		s.complete(inv, history.Op{Index: -1, Time: s.w.end, Type: history.Info, F: inv.F, Key: inv.Key})
	}
	if s.ops == 0 {
		return notApplicable("no cart op (add, remove, read) in the history")
	}
	rule := s.takeFinals()
	if len(s.bad) > 0 {
		return Result{Valid: Unknown, Error: strings.Join(s.bad[:min(len(s.bad), 5)], "; ")}
	}
	if len(s.finals) == 0 {
		return Result{Valid: Unknown, Error: "no successful cart read in the history: nothing shows what the carts hold"}
	}
	windows := s.w.windows()
	r := Result{Valid: True, Stats: map[string]any{"final_rule": rule}}
	lost, resurrected := 0, 0
	for cart, byLeader := range s.finals {
		leaders := make([]string, 0, len(byLeader))
		for l := range byLeader {
			leaders = append(leaders, l)
		}
		sort.Strings(leaders)
		for item, it := range s.items[cart] {
			// A final read speaks of an add only if it began after the add was acknowledged,
			// and of a remove only if it began after the remove was (real-time order: a last read
			// taken mid-run, in a history without final reads at its end, says nothing of later
			// writes).
			rm := it.sawEveryAdd()
			var missing, present []string
			var finalOps []int64
			var strategy string // as the leaders' final reads report it
			for _, l := range leaders {
				f := byLeader[l]
				switch {
				case f.items[item] && rm != nil && f.start > rm.time:
					present = append(present, l)
				case !f.items[item] && f.start > it.addDone:
					missing = append(missing, l)
				}
				finalOps = append(finalOps, f.index)
				strategy = f.strategy
			}
			switch {
			case it.addOK && !it.removeOK && !it.removeInfo && len(missing) > 0:
				a := Anomaly{Kind: "lost-add", Key: cart, Item: item, Ops: append(append([]int64(nil), it.ops...), finalOps...),
					Nodes: union([]string{it.addNode}, missing), Definite: true,
					Nemesis: During(windows, it.addInvoke, it.addDone)}
				a.Description = fmt.Sprintf("%s: the add of %s was acknowledged by %s, and %s no longer shows it; no remove of it was made",
					cart, item, it.addNode, strings.Join(missing, ","))
				a.Cause, a.Description = s.lostCause(cart, it, a.Description)
				r.Anomalies = append(r.Anomalies, a)
				lost++
			case !it.addInfo && len(present) > 0: // present counts only where a remove had seen every add
				a := Anomaly{Kind: "resurrected", Key: cart, Item: item, Ops: append(append([]int64(nil), it.ops...), finalOps...),
					Nodes: union([]string{rm.origin}, present), Definite: true,
					Nemesis: During(windows, it.addInvoke, rm.time)}
				a.Description = fmt.Sprintf("%s: %s was removed at %s (op %d) after every add of it, and %s shows it again",
					cart, item, rm.origin, rm.index, strings.Join(present, ","))
				a.Cause, a.Description = s.resurrectionCause(cart, rm, strategy, a.Description)
				r.Anomalies = append(r.Anomalies, a)
				resurrected++
			}
		}
	}
	sortAnomalies(r.Anomalies)
	r.Stats["lost_adds"] = lost
	r.Stats["resurrected"] = resurrected
	if len(r.Anomalies) > 0 {
		r.Valid = False
	}
	return r
}

// beaters lists the acknowledged writes to a cart that could have beaten w under last-writer-wins:
// concurrent with it, with a later timestamp.
func (s *cartStream) beaters(cart string, w *cartWrite) []*cartWrite {
	var out []*cartWrite
	for _, o := range s.byCart[cart] {
		if o != w && len(o.vv) > 0 && len(w.vv) > 0 && concurrentVV(o.vv, w.vv) && (o.ts > w.ts || o.ts == w.ts && o.origin > w.origin) {
			out = append(out, o)
		}
	}
	return out
}

// lostCause attributes a lost add: to skew when a write that could have beaten its version (see
// beaters) was stamped by a skewed clock, or the add itself was; else to last-writer-wins.
func (s *cartStream) lostCause(cart string, it *cartItem, desc string) (string, string) {
	if it.add != nil {
		for _, o := range s.beaters(cart, it.add) {
			if o.skew != "" {
				return CauseClockSkew, desc + fmt.Sprintf("; a concurrent write by %s (op %d) stamped under %s had the later timestamp", o.origin, o.index, o.skew)
			}
		}
		if it.add.skew != "" {
			return CauseClockSkew, desc + fmt.Sprintf("; the add was stamped by %s under %s", it.add.origin, it.add.skew)
		}
	}
	return CauseLWW, desc + "; a concurrent write with a later timestamp replaced the cart"
}

// resurrectionCause attributes a resurrection undoing the remove rm: to the merge rule when the
// store merged the versions; else to skew when a write that could have beaten the remove's
// version (see beaters) was stamped by a skewed clock; else to last-writer-wins.
func (s *cartStream) resurrectionCause(cart string, rm *cartWrite, strategy, desc string) (string, string) {
	if strategy == "merge" {
		return CauseMergeRule, desc + "; merging a concurrent version that still held it brought it back"
	}
	for _, o := range s.beaters(cart, rm) {
		if o.skew != "" {
			return CauseClockSkew, desc + fmt.Sprintf("; a concurrent write by %s (op %d) stamped under %s had the later timestamp", o.origin, o.index, o.skew)
		}
	}
	return CauseLWW, desc + "; a concurrent version that still held it had the later timestamp"
}

// union is the sorted union of two lists of names.
func union(a, b []string) []string {
	var out []string
	for _, x := range append(append([]string(nil), a...), b...) {
		out = addUnique(out, x)
	}
	sort.Strings(out)
	return out
}
