package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/crossfire-dev/crossfire/history"
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
// must be in some leader's records.
//
// A store that gives versions without vectors (meta.ts and meta.origin, no meta.vv) cannot tell a
// concurrent write from a later one: what it can log is every replicated version that replaced a
// row another origin wrote last, and that is what its records are held to. Where the history
// shows a leader holding a version of one origin (a read there, or a write there, which made its
// own) and later one of another origin b that is not the leader itself, a replicated version of b
// replaced another origin's there in between; intervals that do not overlap are as many
// replacements, and the leader's records must hold at least as many whose incoming version is
// b's, applied over a version of another origin.
//
// Whatever the history holds, the records must agree with one another: two leaders that resolved
// the same two versions and each kept the one the other discarded ended apart (a split
// resolution: last-writer-wins met a tie of timestamps and each leader broke it its own way, or
// the rule is not the same everywhere).
//
// Writes with no version at all (inventory, stores that give none), without records that show
// versions either, are not its business: such a history is "not applicable". It judges the
// history against the conflict records the database gave (Input.Records: a run folder's
// conflicts.jsonl); where the run has none it is not applicable, and says why, and where none
// were looked for it cannot judge.
type Conflicts struct{}

// Name implements Checker.
func (Conflicts) Name() string { return ConflictsName }

// Check implements Checker.
func (c Conflicts) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, c, in)
}

// Stream implements Streamer.
func (Conflicts) Stream(in Input) Stream {
	return &conflictsStream{rec: in.Records, writes: map[string][]*cartWrite{}, reach: map[string]map[string][]heldAt{},
		unversioned: map[string]map[string][]int64{}, stamped: map[string]map[string][]stampSeen{},
		lastRead: map[string]map[string]map[string]uint64{}, madeBy: map[writeStamp]int64{}}
}

type conflictsStream struct {
	rec    Records // the conflict records, as the run kept them
	p      pairer
	writes map[string][]*cartWrite // key -> acknowledged writes with version vectors
	// key -> leader -> the versions the history shows it held (its reads and its own writes), in
	// the order they completed
	reach map[string]map[string][]heldAt
	any   bool // a write of a built-in workload was seen
	// key -> leader -> when its writes of unknown version (info, or acknowledged without a version
	// vector) began: such a write may have relayed others' writes
	unversioned map[string]map[string][]int64
	// key -> leader -> the versions without vectors (meta.ts and meta.origin) its reads and writes
	// showed
	stamped map[string]map[string][]stampSeen
	// key -> leader -> the vector of the last version its reads showed (by completion)
	lastRead map[string]map[string]map[string]uint64
	// the acknowledged writes that named their version by origin and timestamp: which op made it
	madeBy map[writeStamp]int64
}

// ver is a version as its origin, timestamp and value name it (under a frozen clock one
// leader's writes share a timestamp: the value tells them apart).
type ver struct {
	origin string
	ts     int64
	value  string
}

// writeStamp is a version a write made to a key.
type writeStamp struct {
	key string
	ver
}

// writtenValue is the value a write or cas puts in the register, compact, or "".
func writtenValue(inv history.Op) string {
	switch inv.F {
	case "write":
		return string(compactValue(inv.Value))
	case "cas":
		var pair []json.RawMessage
		if json.Unmarshal(inv.Value, &pair) == nil && len(pair) == 2 {
			return string(compactValue(pair[1]))
		}
	}
	return ""
}

// stampSeen is a version without a vector that an operation at a leader showed, and when that
// operation ran: the version was the leader's at some moment between invoke and done.
type stampSeen struct {
	invoke, done, index int64
	origin              string
}

// heldAt is a version a leader held by a moment of the history: the version one of its reads
// returned, or one of its own writes made. Only the latter is its whole state: a read may return
// one version of several the leader holds (last-writer-wins shows the winner).
type heldAt struct {
	time  int64
	vv    map[string]uint64
	write bool
	index int64 // the completion's index
}

func (h heldAt) what() string {
	if h.write {
		return "write"
	}
	return "read"
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
func (s *conflictsStream) held(key, leader string, t int64, vv map[string]uint64, write bool, index int64) {
	if leader == "" || len(vv) == 0 {
		return
	}
	if s.reach[key] == nil {
		s.reach[key] = map[string][]heldAt{}
	}
	s.reach[key][leader] = append(s.reach[key][leader], heldAt{t, vv, write, index})
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
	if len(w.vv) == 0 && w.origin != "" && w.ts != 0 {
		leader := w.origin // a write made its own version where it ran
		if inv.F == "read" {
			leader, _ = jsonString(op.MetaField("served_by"))
			if leader == "" {
				leader = inv.Node
			}
		}
		s.stamp(inv.Key, leader, stampSeen{inv.Time, op.Time, op.Index, w.origin})
	}
	if inv.F != "read" && w.origin != "" && w.ts != 0 {
		s.madeBy[writeStamp{inv.Key, ver{w.origin, w.ts, writtenValue(inv)}}] = op.Index
	}
	if inv.F == "read" {
		by, _ := jsonString(op.MetaField("served_by"))
		if by == "" {
			by = inv.Node
		}
		s.held(inv.Key, by, op.Time, w.vv, false, op.Index)
		if len(w.vv) > 0 && by != "" {
			if s.lastRead[inv.Key] == nil {
				s.lastRead[inv.Key] = map[string]map[string]uint64{}
			}
			s.lastRead[inv.Key][by] = w.vv
		}
		return
	}
	if !versioned {
		s.markUnversioned(inv.Key, inv.Node, inv.Time)
		return
	}
	w.invoke = inv.Time
	s.held(inv.Key, w.origin, op.Time, w.vv, true, op.Index)
	s.writes[inv.Key] = append(s.writes[inv.Key], w)
}

func (s *conflictsStream) stamp(key, leader string, v stampSeen) {
	if s.stamped[key] == nil {
		s.stamped[key] = map[string][]stampSeen{}
	}
	s.stamped[key][leader] = append(s.stamped[key][leader], v)
}

func (s *conflictsStream) Result(context.Context) Result {
	if !s.any {
		return notApplicable("no register or cart write (write, cas, add, remove) in the history")
	}
	if !s.rec.ConflictsKept && s.rec.NoConflicts != "" {
		return notApplicable(s.rec.NoConflicts) // the run has none, and says why
	}
	nWrites := 0
	for _, ws := range s.writes {
		nWrites += len(ws)
	}
	versionedRecords := slices.ContainsFunc(s.rec.Conflicts, func(r history.ConflictRecord) bool {
		return r.Incoming.Origin != "" && (len(r.Incoming.VV) > 0 || r.Incoming.TS != 0)
	})
	if nWrites == 0 && len(s.stamped) == 0 && !versionedRecords {
		return notApplicable("no acknowledged write reported a version (meta.vv or meta.ts, with meta.origin), and no conflict record shows one: concurrency cannot be told")
	}
	if !s.rec.ConflictsKept {
		return Result{Valid: Unknown, Error: "no conflict records were given (check a run folder whose database gives them)"}
	}
	byKey := map[string][]history.ConflictRecord{}
	for _, r := range s.rec.Conflicts {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	r := Result{Valid: True, Stats: map[string]any{"logged_conflicts": len(s.rec.Conflicts)}}
	pairs, perLeader, silent := 0, 0, 0
	if nWrites == 0 {
		// Versions without vectors: the records are held to the replacements the history shows.
		replaced, missing := s.replacements(byKey, &r)
		r.Stats["replacements_shown"] = replaced
		r.Stats["silent"] = missing
		splitResolutions(s.rec.Conflicts, s.madeBy, &r)
		if len(r.Anomalies) > 0 {
			r.Valid = False
		}
		return r
	}
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
		p, l := s.judgePairs(key, s.writes[key], byKey[key], report)
		pairs += p
		perLeader += l
	}
	r.Stats["concurrent_pairs"] = pairs
	r.Stats["judged_per_leader"] = perLeader
	arrivals, unlogged := s.chains(byKey, &r)
	r.Stats["chained_arrivals"] = arrivals
	r.Stats["silent"] = silent + unlogged
	splitResolutions(s.rec.Conflicts, s.madeBy, &r)
	if len(r.Anomalies) > 0 {
		r.Valid = False
	}
	return r
}

// replacements holds each leader's records to the replacements of one origin's version by
// another's that its reads and writes show (see Conflicts): for each leader, key and incoming
// origin, as many intervals that do not overlap, each from an operation that showed a version of
// another origin to a later one that showed the incoming origin's, as records there whose
// incoming version is that origin's and was applied over another origin's. It returns how many
// replacements the history shows, and how many of them no record accounts for.
func (s *conflictsStream) replacements(byKey map[string][]history.ConflictRecord, r *Result) (shown, missing int) {
	for _, key := range slices.Sorted(maps.Keys(s.stamped)) {
		byLeader := s.stamped[key]
		for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
			seen := byLeader[leader]
			sort.Slice(seen, func(i, j int) bool { return seen[i].done < seen[j].done })
			// For each origin b: the intervals [X.invoke, Y.done] in which b's version replaced
			// another's, Y showing b's and X, done before Y began, another origin's (the last such
			// X to complete).
			type interval struct{ from, to, before, after int64 }
			into := map[string][]interval{}
			for _, y := range seen {
				if y.origin == leader {
					continue // its own writes replace nothing by replication
				}
				i := sort.Search(len(seen), func(i int) bool { return seen[i].done >= y.invoke }) - 1
				for ; i >= 0 && seen[i].origin == y.origin; i-- {
				}
				if i >= 0 {
					x := seen[i]
					into[y.origin] = append(into[y.origin], interval{x.invoke, y.done, x.index, y.index})
				}
			}
			for _, b := range slices.Sorted(maps.Keys(into)) {
				ivs := into[b]
				sort.Slice(ivs, func(i, j int) bool { return ivs[i].to < ivs[j].to })
				var picked []interval
				end := int64(-1 << 62)
				for _, iv := range ivs {
					if iv.from > end {
						picked = append(picked, iv)
						end = iv.to
					}
				}
				logged := 0
				for _, rec := range byKey[key] {
					if rec.Node == leader && rec.Incoming.Origin == b && rec.Winner.Origin == b && len(rec.Local) > 0 && rec.Local[0].Origin != b {
						logged++
					}
				}
				shown += len(picked)
				if logged >= len(picked) {
					continue
				}
				missing += len(picked) - logged
				var ops []int64
				for _, iv := range picked {
					ops = append(ops, iv.before, iv.after)
				}
				if len(r.Anomalies) < 50 {
					r.Anomalies = append(r.Anomalies, Anomaly{Kind: "silent-conflict", Key: key, Ops: ops, Nodes: []string{leader, b}, Definite: true,
						Description: fmt.Sprintf("%s: %s's operations show %s's version replacing another origin's %d time(s), in intervals that do not overlap, but its log holds %d record(s) of %s's version applied over another's",
							key, leader, b, len(picked), logged, b)})
				}
			}
		}
	}
	return shown, missing
}

// splitResolutions flags pairs of versions that two leaders resolved each to the version the
// other discarded: they ended apart, whatever the history shows afterwards. The writes that made
// the two versions (madeBy) are the anomaly's ops, where the history names them.
func splitResolutions(recs []history.ConflictRecord, madeBy map[writeStamp]int64, r *Result) {
	id := func(v history.LoggedVersion) (ver, bool) {
		if v.Origin == "" || v.TS == 0 {
			return ver{}, false
		}
		return ver{v.Origin, v.TS, string(compactValue(v.Value))}, true
	}
	type pair struct {
		key  string
		a, b ver
	}
	kept := map[pair]map[ver][]int{} // the pair -> the version kept -> the records that kept it
	for i, rec := range recs {
		if len(rec.Local) != 1 {
			continue
		}
		l, ok1 := id(rec.Local[0])
		in, ok2 := id(rec.Incoming)
		w, ok3 := id(rec.Winner)
		if !ok1 || !ok2 || !ok3 || l == in || (w != l && w != in) {
			continue
		}
		p := pair{rec.Key, l, in}
		if in.origin < l.origin || in.origin == l.origin && in.ts < l.ts {
			p.a, p.b = in, l
		}
		if kept[p] == nil {
			kept[p] = map[ver][]int{}
		}
		kept[p][w] = append(kept[p][w], i)
	}
	splits := 0
	for p, byWinner := range kept {
		ra, rb := byWinner[p.a], byWinner[p.b]
		if len(ra) == 0 || len(rb) == 0 {
			continue
		}
		x, y := recs[ra[0]], recs[rb[0]]
		if x.Node == y.Node {
			continue
		}
		splits++
		if len(r.Anomalies) >= 50 {
			continue
		}
		var ops []int64
		for _, v := range []ver{p.a, p.b} {
			if i, ok := madeBy[writeStamp{p.key, v}]; ok && !slices.Contains(ops, i) {
				ops = append(ops, i)
			}
		}
		slices.Sort(ops)
		a := Anomaly{Kind: "split-resolution", Key: p.key, Ops: ops, Nodes: union([]string{x.Node}, []string{y.Node}), Definite: true,
			Description: fmt.Sprintf("%s: %s kept %s's version (%s) and %s kept %s's (%s) of the same two versions: the leaders resolved one conflict apart",
				p.key, x.Node, p.a.origin, p.a.value, y.Node, p.b.origin, p.b.value)}
		if p.a.ts == p.b.ts {
			a.Cause = CauseTimestampTie
			a.Description += fmt.Sprintf(", both stamped %s", stampTime(p.a.ts))
		}
		r.Anomalies = append(r.Anomalies, a)
	}
	sort.SliceStable(r.Anomalies, func(i, j int) bool { return r.Anomalies[i].Key < r.Anomalies[j].Key })
	if splits > 0 {
		r.Stats["split_resolutions"] = splits
	}
}
