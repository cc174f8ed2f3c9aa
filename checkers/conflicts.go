package checkers

import (
	"context"
	"fmt"
	"sort"

	"crossfire/history"
)

// ConflictsName is the conflicts checker's name.
const ConflictsName = "conflicts"

// Conflicts checks that every conflict a leader resolved is in that leader's log. A conflict is
// a pair of acknowledged writes to a key from two leaders that were concurrent: neither had seen
// the other, as the writes' version vectors show (meta.vv and meta.origin; a write is the event
// its origin counted in its own entry, and a version saw it when it counts that far).
//
// A leader resolved the pair when the second of the two reached it while it held the first,
// unless the second reached it inside a version that had seen the first too (relayed by a third
// leader that had resolved it). So where the history shows a leader holding one and not the
// other (a write of its own whose version counts the one and not the other; a read shows one
// version, not all a leader holds) and later the other (a read or write there whose version
// counts it), and no acknowledged write of another leader could have relayed both, nor a write
// of unknown version, that leader's records must hold one whose local versions count the first
// and whose incoming version is the second itself (each leader's writes reaching another in
// their order, as streamed replication delivers them) or a third leader's version counting it. Elsewhere the pair
// must be in some leader's records. Writes without a version vector (inventory, stores that give
// none) are not its business: a history without any is "not applicable". Its input is the
// history and the conflict records the database gave (Logs: a run folder's conflicts.jsonl);
// without them it cannot judge.
type Conflicts struct {
	Logs   []history.ConflictRecord
	Loaded bool // the records were looked for (no record is an answer too)
}

// Name implements Checker.
func (Conflicts) Name() string { return ConflictsName }

// Check implements Checker.
func (c Conflicts) Check(ctx context.Context, ops []history.Op) Result {
	return checkByStreaming(ctx, c, ops)
}

// Stream implements Streamer.
func (c Conflicts) Stream() Stream {
	return &conflictsStream{c: c, writes: map[string][]*cartWrite{}, reach: map[string]map[string][]heldAt{},
		unversioned: map[string]map[string][]int64{}}
}

type conflictsStream struct {
	c      Conflicts
	p      pairer
	writes map[string][]*cartWrite // key -> acknowledged writes with version vectors
	// key -> leader -> the versions the history shows it held (its reads and its own writes), in
	// the order they completed
	reach map[string]map[string][]heldAt
	any   bool // a write of a built-in workload was seen
	// key -> leader -> when its writes of unknown version (info, or acknowledged without a version
	// vector) began: such a write may have relayed others' writes
	unversioned map[string]map[string][]int64
}

// heldAt is a version a leader held by a moment of the history: the version one of its reads
// returned, or one of its own writes made. Only the latter is its whole state: a read may return
// one version of several the leader holds (last-writer-wins shows the winner).
type heldAt struct {
	time  int64
	vv    map[string]uint64
	write bool
}

// heldWithout returns when the history first shows leader holding held and not in: a write of
// its own whose version counts the one and not the other (a read showing a version without in
// does not show that the leader did not hold in beside it).
func (s *conflictsStream) heldWithout(key, leader string, held, in *cartWrite) (int64, bool) {
	for _, h := range s.reach[key][leader] {
		if h.write && sawDot(h.vv, held) && !sawDot(h.vv, in) {
			return h.time, true
		}
	}
	return 0, false
}

// shown returns when the history first shows leader holding a version that counts w, if it does.
func (s *conflictsStream) shown(key, leader string, w *cartWrite) (int64, bool) {
	for _, h := range s.reach[key][leader] {
		if sawDot(h.vv, w) {
			return h.time, true
		}
	}
	return 0, false
}

func (s *conflictsStream) markUnversioned(key, leader string, invoke int64) {
	if s.unversioned[key] == nil {
		s.unversioned[key] = map[string][]int64{}
	}
	s.unversioned[key][leader] = append(s.unversioned[key][leader], invoke)
}

// sawDot reports whether a version (vv) counts the write w.
func sawDot(vv map[string]uint64, w *cartWrite) bool { return vv[w.origin] >= w.vv[w.origin] }

// held records that leader held a version including vv of key by time t (write: one it made).
func (s *conflictsStream) held(key, leader string, t int64, vv map[string]uint64, write bool) {
	if leader == "" || len(vv) == 0 {
		return
	}
	if s.reach[key] == nil {
		s.reach[key] = map[string][]heldAt{}
	}
	s.reach[key][leader] = append(s.reach[key][leader], heldAt{t, vv, write})
}

// writeFs are the writes of the built-in workloads whose concurrency the records must cover.
var writeFs = map[string]bool{"write": true, "cas": true, "add": true, "remove": true}

func (s *conflictsStream) Observe(op history.Op) {
	if op.IsNemesis() {
		return
	}
	if !writeFs[op.F] && op.F != "read" {
		return
	}
	if op.Type == history.Invoke {
		s.p.observe(op)
		s.any = s.any || writeFs[op.F]
		return
	}
	inv, ok := s.p.observe(op)
	if !ok || op.Type == history.Fail {
		return
	}
	if op.Type != history.OK {
		if inv.F != "read" {
			s.markUnversioned(inv.Key, inv.Node, inv.Time)
		}
		return
	}
	w, versioned := writeOf(op)
	if inv.F == "read" {
		by, _ := jsonString(op.MetaField("served_by"))
		if by == "" {
			by = inv.Node
		}
		s.held(inv.Key, by, op.Time, w.vv, false)
		return
	}
	if !versioned {
		s.markUnversioned(inv.Key, inv.Node, inv.Time)
		return
	}
	w.invoke = inv.Time
	s.held(inv.Key, w.origin, op.Time, w.vv, true)
	s.writes[inv.Key] = append(s.writes[inv.Key], w)
}

func (s *conflictsStream) Result(context.Context) Result {
	if !s.any {
		return notApplicable("no register or cart write (write, cas, add, remove) in the history")
	}
	nWrites := 0
	for _, ws := range s.writes {
		nWrites += len(ws)
	}
	if nWrites == 0 {
		return notApplicable("no acknowledged write reported a version vector (meta.vv and meta.origin): concurrency cannot be told")
	}
	if !s.c.Loaded {
		return Result{Valid: Unknown, Error: "no conflict records were given (check a run folder whose database gives them)"}
	}
	byKey := map[string][]history.ConflictRecord{}
	for _, r := range s.c.Logs {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	r := Result{Valid: True, Stats: map[string]any{"logged_conflicts": len(s.c.Logs)}}
	pairs, perLeader, silent := 0, 0, 0
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	report := func(a Anomaly) {
		silent++
		if silent <= 50 {
			r.Anomalies = append(r.Anomalies, a)
		}
	}
	for _, key := range keys {
		ws, recs := s.writes[key], byKey[key]
		// For each write, the records that log a version including it as the held side (local),
		// as the arriving side (incoming), and as the arrival of that very write (arrival).
		local := make([][]bool, len(ws))
		incoming := make([][]bool, len(ws))
		arrival := make([][]bool, len(ws))
		for i, w := range ws {
			local[i] = make([]bool, len(recs))
			incoming[i] = make([]bool, len(recs))
			arrival[i] = make([]bool, len(recs))
			for j, rec := range recs {
				for _, v := range rec.Local {
					local[i][j] = local[i][j] || sawDot(v.VV, w)
				}
				incoming[i][j] = sawDot(rec.Incoming.VV, w)
				from := rec.Incoming.Origin
				arrival[i][j] = incoming[i][j] && (from != "" && from != w.origin || rec.Incoming.VV[w.origin] == w.vv[w.origin])
			}
		}
		// relayed reports whether the write in may have reached held's leader inside a version of
		// a third leader that had seen held too (in's own leader sends its writes in order, so in
		// itself arrives before any later one of its leader).
		// Only a version that existed before the history shows in at held's leader could have.
		relayed := func(leader string, held, in *cartWrite, by int64) bool {
			// A write of unknown version may have seen both if it began after both began.
			for l, ts := range s.unversioned[key] {
				if l == leader || l == in.origin {
					continue
				}
				for _, t := range ts {
					if t < by && t > held.invoke && t > in.invoke {
						return true
					}
				}
			}
			for _, v := range ws {
				if v.origin != leader && v.origin != in.origin && v.invoke < by && sawDot(v.vv, held) && sawDot(v.vv, in) {
					return true
				}
			}
			return false
		}
		// loggedAt reports whether leader logged the arrival of ws[in] while holding ws[held].
		loggedAt := func(leader string, held, in int) bool {
			for j, rec := range recs {
				if rec.Node == leader && arrival[in][j] && local[held][j] {
					return true
				}
			}
			return false
		}
		leaders := make([]string, 0, len(s.reach[key]))
		for l := range s.reach[key] {
			leaders = append(leaders, l)
		}
		sort.Strings(leaders)
		for i := range ws {
			for k := i + 1; k < len(ws); k++ {
				a, b := ws[i], ws[k]
				if a.origin == b.origin || sawDot(a.vv, b) || sawDot(b.vv, a) {
					continue
				}
				pairs++
				judged := false
				for _, leader := range leaders {
					for _, side := range []struct {
						held, in int
					}{{i, k}, {k, i}} {
						held, in := ws[side.held], ws[side.in]
						since, ok := s.heldWithout(key, leader, held, in)
						if !ok {
							continue
						}
						by, ok := s.shown(key, leader, in)
						if !ok || by <= since || relayed(leader, held, in, by) {
							continue // the history does not show in reaching it alone, later
						}
						judged = true
						if loggedAt(leader, side.held, side.in) {
							continue
						}
						report(Anomaly{Kind: "silent-conflict", Key: key, Ops: []int64{a.index, b.index},
							Nodes: union([]string{leader}, union([]string{a.origin}, []string{b.origin})), Definite: true,
							Description: fmt.Sprintf("%s: %s resolved the concurrent writes by %s (op %d) and %s (op %d) without a record in its log: it held the one by %s when the other arrived, as its versions show",
								key, leader, a.origin, a.index, b.origin, b.index, held.origin)})
					}
				}
				if judged {
					perLeader++
					continue
				}
				logged := false
				for j := range recs {
					if local[i][j] && incoming[k][j] || incoming[i][j] && local[k][j] {
						logged = true
						break
					}
				}
				if !logged {
					report(Anomaly{Kind: "silent-conflict", Key: key, Ops: []int64{a.index, b.index},
						Nodes: union([]string{a.origin}, []string{b.origin}), Definite: true,
						Description: fmt.Sprintf("%s: concurrent writes by %s (op %d) and %s (op %d) were resolved without a conflict record at any leader",
							key, a.origin, a.index, b.origin, b.index)})
				}
			}
		}
	}
	r.Stats["concurrent_pairs"] = pairs
	r.Stats["judged_per_leader"] = perLeader
	r.Stats["silent"] = silent
	if silent > 0 {
		r.Valid = False
	}
	return r
}
