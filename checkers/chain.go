package checkers

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/crossfire-dev/crossfire/history"
)

// A leader's conflict records for one key are a chain: each record's local version is the
// leader's whole state when the record was made (a merged state, one version with its vector),
// and its winner the state after it. Between two consecutive records the leader applied the
// events that its state's vector gained; each that arrived while the leader's state counted an
// event it had not seen was a conflict, and needs a record of its own between the two. So an
// event of another origin that the next record's state counts and the previous record's state
// did not, whose own vector misses an event the previous record's winner counts (or one of the
// leader's own writes that completed before the event began), is a conflict the leader resolved
// without a record. The same holds after the last record, up to what the leader's last read
// shows it held.

// event is one write to a key, as a vector names it: its origin and its count there.
type event struct {
	origin string
	n      uint64
}

// eventInfo is what is known of an event: its version vector, and, for a write in the history,
// when it began and its completion's index (-1 for one known from a record only).
type eventInfo struct {
	vv     map[string]uint64
	invoke int64
	index  int64
}

// missedBy returns an origin whose events state counts further than vv does, or "".
func missedBy(state, vv map[string]uint64) string {
	first := ""
	for o, n := range state {
		if n > vv[o] && (first == "" || o < first) {
			first = o
		}
	}
	return first
}

// chains checks each leader's records of each key as a chain (see above) and reports the
// conflicts missing from it. lastRead gives, per key and leader, the vector of the last version
// the leader's reads showed.
func (s *conflictsStream) chains(byKey map[string][]history.ConflictRecord, r *Result) (checked, missing int) {
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		events := map[event]eventInfo{}
		for _, w := range s.writes[key] {
			if n := w.vv[w.origin]; n > 0 {
				events[event{w.origin, n}] = eventInfo{w.vv, w.invoke, w.index}
			}
		}
		byNode := map[string][]history.ConflictRecord{}
		for _, rec := range byKey[key] {
			in := rec.Incoming
			if n := in.VV[in.Origin]; in.Origin != "" && n > 0 {
				if _, known := events[event{in.Origin, n}]; !known {
					events[event{in.Origin, n}] = eventInfo{in.VV, -1, -1}
				}
			}
			// Only records of a whole state: one local version, and a winner whose vector counts
			// it and the incoming event (an observed-remove set's, which counts what it applied
			// of each origin). A record of siblings (last-writer-wins keeps one of them) does not
			// show the leader's whole state.
			if len(rec.Local) == 1 && len(rec.Local[0].VV) > 0 && coversVV(rec.Winner.VV, rec.Local[0].VV) &&
				in.Origin != "" && rec.Winner.VV[in.Origin] >= in.VV[in.Origin] {
				byNode[rec.Node] = append(byNode[rec.Node], rec)
			}
		}
		for _, node := range slices.Sorted(maps.Keys(byNode)) {
			recs := byNode[node]
			sum := func(vv map[string]uint64) (n uint64) {
				for _, c := range vv {
					n += c
				}
				return n
			}
			sort.SliceStable(recs, func(i, j int) bool { return sum(recs[i].Local[0].VV) < sum(recs[j].Local[0].VV) })
			// The leader's own writes: they are in its state once they completed.
			var own []*cartWrite
			for _, w := range s.writes[key] {
				if w.origin == node {
					own = append(own, w)
				}
			}
			judge := func(after history.ConflictRecord, upTo map[string]uint64, next *history.ConflictRecord) {
				post := after.Winner.VV
				if !coversVV(upTo, post) {
					return // not a chain: the later state does not hold the earlier one
				}
				for _, o := range slices.Sorted(maps.Keys(upTo)) {
					if o == node {
						continue
					}
					for n := post[o] + 1; n <= upTo[o]; n++ {
						e, ok := events[event{o, n}]
						if !ok {
							continue
						}
						if next != nil && next.Incoming.Origin == o && next.Incoming.VV[o] == n {
							continue // the next record is this very arrival
						}
						checked++
						why := ""
						if p := missedBy(post, e.vv); p != "" {
							why = fmt.Sprintf("its state after the record logged at %d counted %s's event %d, which the write had not seen", after.Time, p, post[p])
						} else if h, p := s.heldBefore(key, node, event{o, n}, e.vv, upTo); p != "" {
							why = fmt.Sprintf("its %s (op %d) showed it holding %s's event %d before the write arrived, and the write had not seen it", h.what(), h.index, p, h.vv[p])
						} else if e.invoke >= 0 {
							for _, w := range own {
								if w.time < e.invoke && w.vv[node] > e.vv[node] && w.vv[node] <= upTo[node] {
									why = fmt.Sprintf("its own write (op %d) had completed before that write began, and the write had not seen it", w.index)
									break
								}
							}
						}
						if why == "" {
							continue
						}
						missing++
						if len(r.Anomalies) >= 50 {
							continue
						}
						ops := []int64{}
						if e.index >= 0 {
							ops = append(ops, e.index)
						}
						r.Anomalies = append(r.Anomalies, Anomaly{Kind: "silent-conflict", Key: key, Ops: ops, Nodes: union([]string{node}, []string{o}), Definite: true,
							Description: fmt.Sprintf("%s: %s applied %s's write %d (%s) while holding what that write had not seen, with no record of it in its chain of records: %s",
								key, node, o, n, describeVV(e.vv), why)})
					}
				}
			}
			// Before the first record the leader's state was empty, so far as the records
			// say: what it held then, its reads and writes show.
			judge(history.ConflictRecord{Node: node, Winner: history.LoggedVersion{VV: map[string]uint64{}}}, recs[0].Local[0].VV, &recs[0])
			for i := 0; i+1 < len(recs); i++ {
				judge(recs[i], recs[i+1].Local[0].VV, &recs[i+1])
			}
			if last := s.lastRead[key][node]; len(last) > 0 {
				judge(recs[len(recs)-1], last, nil)
			}
		}
	}
	return checked, missing
}

// describeVV shows a vector as {n1:3 n2:1}.
func describeVV(vv map[string]uint64) string {
	out := "{"
	for i, o := range slices.Sorted(maps.Keys(vv)) {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s:%d", o, vv[o])
	}
	return out + "}"
}

// heldBefore finds a version the history shows node holding before the event e arrived there (a
// read there, or a write of its own, whose vector does not count e yet lies within upTo, the
// state of the leader's next record) that counts an event e's vector misses: the leader's state
// counted that event when e arrived. It returns the version and that event's origin.
func (s *conflictsStream) heldBefore(key, node string, e event, vv, upTo map[string]uint64) (heldAt, string) {
	for _, h := range s.reach[key][node] {
		if h.vv[e.origin] >= e.n || !coversVV(upTo, h.vv) {
			continue
		}
		if p := missedBy(h.vv, vv); p != "" {
			return h, p
		}
	}
	return heldAt{}, ""
}
