package checkers

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// judgePairsNaive is the concurrent-pairs judgement as first written, every question a scan:
// the reference judgePairs must agree with.
func (s *conflictsStream) judgePairsNaive(key string, ws []*cartWrite, recs []history.ConflictRecord, report func(Anomaly)) (pairs, perLeader int) {
	{
		ws := ws
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
	return pairs, perLeader
}

// judgePairs answers from its indexes what the scans answer: on random keys whose versions,
// reads, records and writes of unknown version follow no store's rules (small counts, so that
// ties and edge cases are common), the same pairs, the same anomalies, in the same order.
func TestJudgePairsAgreesWithTheScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	origins := []string{"n1", "n2", "n3"}
	vv := func() map[string]uint64 {
		m := map[string]uint64{}
		for _, o := range origins {
			if rng.IntN(4) > 0 {
				m[o] = uint64(rng.IntN(5))
			}
		}
		return m
	}
	flagged, judged := 0, 0
	for round := 0; round < 3000; round++ {
		s := Conflicts{}.Stream(Input{}).(*conflictsStream)
		key := "c0"
		var ws []*cartWrite
		for i := rng.IntN(12); i > 0; i-- {
			o := origins[rng.IntN(3)]
			w := &cartWrite{origin: o, vv: vv(), invoke: int64(rng.IntN(100)), index: int64(len(ws))}
			if rng.IntN(5) > 0 {
				w.vv[o] = uint64(1 + rng.IntN(4))
			}
			ws = append(ws, w)
		}
		for _, l := range origins {
			var hs []heldAt
			for i := rng.IntN(8); i > 0; i-- {
				hs = append(hs, heldAt{time: int64(rng.IntN(100)), vv: vv(), write: rng.IntN(2) == 0, index: int64(i)})
			}
			if len(hs) > 0 {
				if s.reach[key] == nil {
					s.reach[key] = map[string][]heldAt{}
				}
				s.reach[key][l] = hs
			}
			for i := rng.IntN(3); i > 0; i-- {
				s.markUnversioned(key, l, int64(rng.IntN(100)))
			}
		}
		var recs []history.ConflictRecord
		for i := rng.IntN(10); i > 0; i-- {
			rec := history.ConflictRecord{Node: origins[rng.IntN(3)], Key: key, Incoming: history.LoggedVersion{Origin: []string{"", "n1", "n2", "n3", "n9"}[rng.IntN(5)], VV: vv()}}
			for j := rng.IntN(3); j > 0; j-- {
				rec.Local = append(rec.Local, history.LoggedVersion{VV: vv()})
			}
			recs = append(recs, rec)
		}
		var fast, slow []Anomaly
		p1, l1 := s.judgePairs(key, ws, recs, func(a Anomaly) { fast = append(fast, a) })
		p2, l2 := s.judgePairsNaive(key, ws, recs, func(a Anomaly) { slow = append(slow, a) })
		if p1 != p2 || l1 != l2 || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("round %d: pairs %d/%d, per leader %d/%d\nindexed %+v\nscans   %+v", round, p1, p2, l1, l2, fast, slow)
		}
		if len(slow) > 0 {
			flagged++
		}
		judged += l2
	}
	t.Logf("%d of 3000 keys flagged, %d pairs judged at a leader", flagged, judged)
	if flagged < 100 || flagged > 2900 || judged < 100 {
		t.Fatalf("the random keys do not exercise both verdicts: %d flagged, %d judged at a leader", flagged, judged)
	}
}
