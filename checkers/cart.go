package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
)

// CartName is the cart checker's name.
const CartName = "cart"

// Causes an anomaly is attributed to.
const (
	CauseClockSkew = "clock-skew" // a write that decided the outcome was stamped by a skewed clock
	CauseMergeRule = "merge-rule" // the merge of concurrent versions brought back what was removed
	CauseLWW       = "lww"        // last-writer-wins dropped a concurrent write, no skew involved
	// CauseTimestampTie: two versions carried the same timestamp, and last-writer-wins broke the
	// tie differently at different leaders.
	CauseTimestampTie = "timestamp-tie"
)

// CartChecker judges carts by their final reads (those marked meta.final, or, in a history
// without the marker, the last successful read of each cart at each leader). A final read speaks
// only of writes acknowledged before it began (real-time order).
//
// Everything turns on whether a remove had seen an add (add-wins: a remove takes away only the
// adds it observed). The checker decides it from the strongest evidence there is:
//
//   - version vectors, where the store gives them (meta.vv and meta.origin): the remove saw the
//     add when its vector counts the add's own event (the add's origin's entry);
//   - the leader's own writes: a remove at the leader that acknowledged the add, begun after that
//     acknowledgement, saw it;
//   - the remove's own answer: an acknowledged remove means its leader showed the item (a remove
//     of an item the leader does not show fails, HISTORY.md), so when the item had one add attempt
//     only, the remove saw that add;
//   - real-time order: a remove that completed before an add began cannot have seen it.
//
// When none decides, the anomaly is possible, not definite, and the verdict unknown with the
// reason. The anomalies:
//
//   - lost-add: an acknowledged add missing from a leader's final read, which no remove saw (a
//     remove of unknown outcome that may have seen it explains it);
//   - resurrected: an item in a leader's final read although an acknowledged remove had seen every
//     acknowledged add of it (an add attempt of unknown outcome may land later, and explains it);
//   - failed-add-present: an item whose every add failed, in a final read;
//   - phantom-item: an item nobody added, in a final read.
//
// Causes are named only where the history shows them: clock skew when a write that could have
// beaten the lost one under last-writer-wins (concurrent by version vectors, with a later
// timestamp), or the lost write itself, was made while the clock nemesis had its leader's clock
// off; last-writer-wins when such a write exists without skew; the merge rule when a removed item
// came back at a leader that reports merging concurrent versions (meta.resolution "merge").
type CartChecker struct{}

// Name implements Checker.
func (CartChecker) Name() string { return CartName }

// Check implements Checker.
func (c CartChecker) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, c, in)
}

// Stream implements Streamer.
func (CartChecker) Stream(in Input) Stream {
	s := &cartStream{clocks: clockSkews{faults: in.Faults}, items: map[string]map[string]*cartItem{},
		finals: map[string]map[string]cartFinal{}, byCart: map[string][]*cartWrite{}}
	s.opPass = newOpPass(in, "cart", s.complete, "add", "remove", "read")
	return s
}

type cartItem struct {
	ops        []int64
	adds       []*cartWrite // acknowledged adds (retries and redeliveries add again)
	removes    []*cartWrite // acknowledged removes
	infoRemove []*cartWrite // removes of unknown outcome (done is after everything)
	attempts   int          // add invokes, whatever their outcome
	addInfo    bool         // an add of unknown outcome
	addFail    int          // adds that failed
}

// cartWrite is an add or remove: the version the store reported (origin, ts, vv, where it gave
// them), where and when it ran, and the clock skew its leader was under when it completed ("" for
// none).
type cartWrite struct {
	origin       string // the leader that stamped it (meta.origin), else the leader it was sent to
	ts           int64
	vv           map[string]uint64
	node         string // the leader it was sent to
	invoke, time int64  // when it began and completed
	index        int64  // its completion's index
	skew         string
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

// seen is what the evidence says of whether a remove had seen an add.
type seen int

const (
	sawNot   seen = iota // it certainly had not
	sawMaybe             // nothing decides
	sawYes               // it certainly had
)

// saw decides whether the remove r had seen the add a (see CartChecker).
func (it *cartItem) saw(r, a *cartWrite) seen {
	switch {
	case len(r.vv) > 0 && len(a.vv) > 0 && a.origin != "":
		// The add is the event its origin counted in its own entry: the remove saw it when its
		// version counts that far for that origin (whatever else the add's version had seen,
		// since a store may deliver streams out of causal order).
		if r.vv[a.origin] >= a.vv[a.origin] {
			return sawYes
		}
		return sawNot
	case a.node != "" && a.node == r.node && a.time < r.invoke:
		return sawYes
	case it.attempts == 1 && len(it.adds) == 1:
		// The remove's leader showed the item, and the item had one add.
		return sawYes
	case r.time < a.invoke:
		return sawNot
	}
	return sawMaybe
}

// excused says whether some remove had seen the add a, or may have; a remove of unknown outcome
// explains any loss.
func (it *cartItem) excused(a *cartWrite) (seen, *cartWrite) {
	best, by := sawNot, (*cartWrite)(nil)
	for _, r := range it.removes {
		if v := it.saw(r, a); v > best {
			best, by = v, r
		}
	}
	if len(it.infoRemove) > 0 && best < sawYes {
		// A remove of unknown outcome may take effect at any later time, when its leader has
		// seen every add: that reading of the history explains the loss.
		best, by = sawYes, it.infoRemove[0]
	}
	return best, by
}

// removedAll returns the acknowledged remove that best shows it had seen every acknowledged add:
// sawYes if one certainly had, sawMaybe if one may have, and sawNot if none.
func (it *cartItem) removedAll() (seen, *cartWrite) {
	best, by := sawNot, (*cartWrite)(nil)
	if len(it.adds) == 0 {
		return best, by
	}
	for _, r := range it.removes {
		all := sawYes
		for _, a := range it.adds {
			all = min(all, it.saw(r, a))
		}
		if all > best {
			best, by = all, r
		}
	}
	return best, by
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
	items      map[string]bool
	index      int64
	start      int64  // the read's invoke time: it can speak only of writes acknowledged before
	resolution string // how the leader resolves concurrent versions, as the read reported it (meta.resolution)
}

type cartStream struct {
	opPass
	items  map[string]map[string]*cartItem // cart -> item -> what happened to it
	byCart map[string][]*cartWrite         // cart -> its acknowledged writes
	finals map[string]map[string]cartFinal // cart -> leader -> final read
	clocks clockSkews
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
	if s.observe(op) {
		s.clocks.observe(op)
	}
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
		w := &cartWrite{node: inv.Node, invoke: inv.Time, time: done.Time, index: done.Index}
		if done.Type == history.OK {
			w, _ = writeOf(done)
			w.node, w.invoke = inv.Node, inv.Time
			if w.origin == "" {
				w.origin = inv.Node
			}
			w.skew = s.clocks.at(w.origin, done.Time)
			s.byCart[cart] = append(s.byCart[cart], w)
		}
		if inv.F == "add" {
			it.attempts++
			switch done.Type {
			case history.OK:
				it.adds = append(it.adds, w)
			case history.Info:
				it.addInfo = true
			default:
				it.addFail++
			}
			return
		}
		switch done.Type {
		case history.OK:
			it.removes = append(it.removes, w)
		case history.Info:
			it.infoRemove = append(it.infoRemove, w)
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
		f.resolution, _ = jsonString(history.Op{Meta: p.meta}.MetaField("resolution"))
		if s.finals[p.key] == nil {
			s.finals[p.key] = map[string]cartFinal{}
		}
		s.finals[p.key][p.node] = f
	}
	return rule
}

func (s *cartStream) Result(context.Context) Result {
	if why := s.finish(); why != "" {
		return notApplicable(why)
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
	counts := map[string]int{}
	possible := 0
	carts := make([]string, 0, len(s.finals))
	for cart := range s.finals {
		carts = append(carts, cart)
	}
	sort.Strings(carts)
	for _, cart := range carts {
		byLeader := s.finals[cart]
		leaders := make([]string, 0, len(byLeader))
		for l := range byLeader {
			leaders = append(leaders, l)
		}
		sort.Strings(leaders)
		var finalOps []int64
		var resolution string // as the leaders' final reads report it
		for _, l := range leaders {
			finalOps = append(finalOps, byLeader[l].index)
			if byLeader[l].resolution != "" {
				resolution = byLeader[l].resolution
			}
		}
		items := make([]string, 0, len(s.items[cart]))
		for item := range s.items[cart] {
			items = append(items, item)
		}
		// Items a final read shows that no op of the history names.
		for _, l := range leaders {
			for item := range byLeader[l].items {
				if s.items[cart][item] == nil && !slices.Contains(items, item) {
					items = append(items, item)
				}
			}
		}
		sort.Strings(items)
		for _, item := range items {
			it := s.items[cart][item]
			if it == nil {
				it = &cartItem{}
			}
			for _, a := range s.judgeItem(cart, item, it, leaders, byLeader, resolution, windows) {
				a.Ops = append(append(append([]int64(nil), it.ops...), finalOps...), a.Ops...)
				if !a.Definite {
					possible++
				}
				counts[a.Kind]++
				r.Anomalies = append(r.Anomalies, a)
			}
		}
	}
	sortAnomalies(r.Anomalies)
	r.Stats["lost_adds"] = counts["lost-add"]
	r.Stats["resurrected"] = counts["resurrected"]
	for _, k := range []string{"failed-add-present", "phantom-item"} {
		if counts[k] > 0 {
			r.Stats[strings.ReplaceAll(k, "-", "_")] = counts[k]
		}
	}
	switch {
	case len(r.Anomalies) > possible:
		r.Valid = False
	case possible > 0:
		r.Valid = Unknown
		r.Stats["possible"] = possible
		r.Error = fmt.Sprintf("%d possible anomalies: whether a remove had seen an add is decided by nothing in the history (no version vectors, the add and the remove at different leaders, the item added more than once)", possible)
	}
	return r
}

// judgeItem judges one item of a cart against the leaders' final reads.
func (s *cartStream) judgeItem(cart, item string, it *cartItem, leaders []string, byLeader map[string]cartFinal, resolution string, windows []Window) []Anomaly {
	var out []Anomaly
	var shown []string
	for _, l := range leaders {
		if byLeader[l].items[item] {
			shown = append(shown, l)
		}
	}
	if len(shown) > 0 && len(it.adds) == 0 && !it.addInfo {
		kind, why := "phantom-item", "no add of it was made"
		if it.addFail > 0 {
			kind, why = "failed-add-present", fmt.Sprintf("every add of it (%d) failed", it.addFail)
		}
		return []Anomaly{{Kind: kind, Key: cart, Item: item, Nodes: shown, Definite: true,
			Description: fmt.Sprintf("%s: %s shows %s, yet %s", cart, strings.Join(shown, ","), item, why)}}
	}

	// Lost adds: an acknowledged add missing at a leader whose final read began after it, which
	// no remove had seen.
	var lost *cartWrite
	lostSeen, lostBy := sawYes, (*cartWrite)(nil)
	var missing []string
	for _, a := range it.adds {
		var gone []string
		for _, l := range leaders {
			if f := byLeader[l]; !f.items[item] && f.start > a.time {
				gone = append(gone, l)
			}
		}
		if len(gone) == 0 {
			continue
		}
		if v, by := it.excused(a); v < lostSeen {
			lost, lostSeen, lostBy, missing = a, v, by, gone
		}
	}
	if lost != nil && lostSeen < sawYes {
		a := Anomaly{Kind: "lost-add", Key: cart, Item: item, Nodes: union([]string{lost.node}, missing),
			Definite: lostSeen == sawNot, Nemesis: During(windows, lost.invoke, lost.time)}
		if lost.node == "" && len(missing) == 1 && missing[0] == "" {
			// A history that names no leader (Jepsen's): the store as a whole.
			a.Nodes = nil
			a.Description = fmt.Sprintf("cart %q: the add of %s was acknowledged (op %d), and the final read no longer shows it; ", cart, item, lost.index)
		} else {
			a.Description = fmt.Sprintf("%s: the add of %s was acknowledged by %s (op %d), and %s no longer shows it; ",
				cart, item, lost.node, lost.index, strings.Join(missing, ","))
		}
		switch {
		case lostSeen == sawMaybe:
			a.Description += fmt.Sprintf("whether the remove at %s (op %d) had seen the add, nothing in the history decides", lostBy.node, lostBy.index)
			a.Ops = append(a.Ops, lostBy.index)
		case len(it.removes)+len(it.infoRemove) == 0:
			a.Description += "no remove of it was made"
		default:
			a.Description += "no remove of it had seen that add"
		}
		a.Cause, a.Description = s.lostCause(cart, lost, a.Description)
		out = append(out, a)
	}

	// Resurrections: present at a leader whose final read began after a remove that had seen
	// every acknowledged add.
	if it.addInfo {
		return out // an add of unknown outcome may land at any later time
	}
	v, rm := it.removedAll()
	if v == sawNot {
		return out
	}
	var present []string
	for _, l := range shown {
		if byLeader[l].start > rm.time {
			present = append(present, l)
		}
	}
	if len(present) == 0 {
		return out
	}
	a := Anomaly{Kind: "resurrected", Key: cart, Item: item, Ops: []int64{rm.index}, Nodes: union([]string{rm.node}, present),
		Definite: v == sawYes, Nemesis: During(windows, it.adds[0].invoke, rm.time)}
	a.Description = fmt.Sprintf("%s: %s was removed at %s (op %d) after every add of it, and %s shows it again",
		cart, item, rm.node, rm.index, strings.Join(present, ","))
	if v == sawMaybe {
		a.Description = fmt.Sprintf("%s: %s was removed at %s (op %d) and %s shows it again; whether that remove had seen every add of it, nothing in the history decides",
			cart, item, rm.node, rm.index, strings.Join(present, ","))
	}
	a.Cause, a.Description = s.resurrectionCause(cart, rm, resolution, a.Description)
	return append(out, a)
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

// lostCause attributes a lost add, where the history shows a cause: to skew when a write that
// could have beaten its version (see beaters) was stamped by a skewed clock, or the add itself
// was; to last-writer-wins when such a write was stamped without skew. Otherwise it names none.
func (s *cartStream) lostCause(cart string, add *cartWrite, desc string) (string, string) {
	beaters := s.beaters(cart, add)
	for _, o := range beaters {
		if o.skew != "" {
			return CauseClockSkew, desc + fmt.Sprintf("; a concurrent write by %s (op %d) stamped under %s had the later timestamp", o.origin, o.index, o.skew)
		}
	}
	if add.skew != "" {
		return CauseClockSkew, desc + fmt.Sprintf("; the add was made at %s under %s", add.origin, add.skew)
	}
	if len(beaters) > 0 {
		o := beaters[0]
		return CauseLWW, desc + fmt.Sprintf("; a concurrent write by %s (op %d) with a later timestamp replaced the cart", o.origin, o.index)
	}
	return "", desc
}

// resurrectionCause attributes a resurrection undoing the remove rm, where the history shows a
// cause: to the merge rule when the store merged the versions; to skew when a write that could
// have beaten the remove's version (see beaters) was stamped by a skewed clock; to
// last-writer-wins when such a write was stamped without skew. Otherwise it names none.
func (s *cartStream) resurrectionCause(cart string, rm *cartWrite, resolution, desc string) (string, string) {
	if resolution == "merge" {
		return CauseMergeRule, desc + "; merging a concurrent version that still held it brought it back"
	}
	beaters := s.beaters(cart, rm)
	for _, o := range beaters {
		if o.skew != "" {
			return CauseClockSkew, desc + fmt.Sprintf("; a concurrent write by %s (op %d) stamped under %s had the later timestamp", o.origin, o.index, o.skew)
		}
	}
	if len(beaters) > 0 {
		o := beaters[0]
		return CauseLWW, desc + fmt.Sprintf("; a concurrent version by %s (op %d) that still held it had the later timestamp", o.origin, o.index)
	}
	return "", desc
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
