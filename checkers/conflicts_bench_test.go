package checkers

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// orsetRun simulates an observed-remove cart at three leaders, each sending its own writes to
// the others in order with random delays (up to maxDelay ops): writes (adds) and reads at every leader, about n ops
// in all, over keys keys, then every write delivered and a final read of every key at every
// leader; and each leader's conflict records, one for every arrival at a leader whose state
// counted what the arriving write had not seen. The history and the records are complete, as
// a correct store's are.
func orsetRun(n, keys, maxDelay int, seed uint64) ([]history.Op, []history.ConflictRecord) {
	r := rand.New(rand.NewPCG(seed, 7))
	leaders := []string{"n1", "n2", "n3"}
	type arrival struct {
		vv  map[string]uint64
		key string
		due int
	}
	state := map[string]map[string]map[string]uint64{} // leader -> key -> vv
	queue := map[[2]string][]arrival{}                 // from, to -> in order
	for _, l := range leaders {
		state[l] = map[string]map[string]uint64{}
	}
	var ops []history.Op
	var recs []history.ConflictRecord
	add := func(op history.Op) {
		op.Index, op.Time = int64(len(ops)), int64(len(ops))*1000
		ops = append(ops, op)
	}
	vvOf := func(l, key string) map[string]uint64 {
		if state[l][key] == nil {
			state[l][key] = map[string]uint64{}
		}
		return state[l][key]
	}
	step := 0
	deliver := func(all bool) {
		for _, from := range leaders {
			for _, to := range leaders {
				q := queue[[2]string{from, to}]
				for len(q) > 0 && (all || q[0].due <= step) {
					a := q[0]
					q = q[1:]
					st := vvOf(to, a.key)
					merged := maps.Clone(st)
					merged[from] = a.vv[from]
					if missedBy(st, a.vv) != "" {
						recs = append(recs, history.ConflictRecord{Time: int64(step), Node: to, Key: a.key, Strategy: "orset",
							Local: []history.LoggedVersion{{VV: maps.Clone(st)}}, Incoming: history.LoggedVersion{Origin: from, VV: a.vv},
							Winner: history.LoggedVersion{VV: maps.Clone(merged)}})
					}
					state[to][a.key] = merged
				}
				queue[[2]string{from, to}] = q
			}
		}
	}
	p := 0
	read := func(l, key string, final bool) {
		inv := history.Op{Process: p, Type: history.Invoke, F: "read", Key: key, Node: l, Value: history.Null}
		if final {
			inv.SetMeta("final", true)
		}
		done := history.Op{Process: p, Type: history.OK, F: "read", Key: key, Node: l, Value: history.Value([]string{})}
		done.SetMeta("origin", l, "vv", maps.Clone(vvOf(l, key)), "served_by", l)
		add(inv)
		add(done)
		p++
	}
	for len(ops) < n {
		step++
		deliver(false)
		l := leaders[r.IntN(3)]
		key := fmt.Sprintf("c%d", r.IntN(keys))
		if r.IntN(3) == 0 {
			read(l, key, false)
			continue
		}
		st := vvOf(l, key)
		st[l]++
		inv := history.Op{Process: p, Type: history.Invoke, F: "add", Key: key, Node: l, Value: history.Value(fmt.Sprintf("i%d", p))}
		done := history.Op{Process: p, Type: history.OK, F: "add", Key: key, Node: l}
		done.SetMeta("origin", l, "ts", int64(p+1), "vv", maps.Clone(st))
		for _, to := range leaders {
			if to != l {
				queue[[2]string{l, to}] = append(queue[[2]string{l, to}], arrival{maps.Clone(st), key, step + 1 + r.IntN(maxDelay)})
			}
		}
		add(inv)
		add(done)
		p++
	}
	deliver(true)
	for k := 0; k < keys; k++ {
		for _, l := range leaders {
			read(l, fmt.Sprintf("c%d", k), true)
		}
	}
	return ops, recs
}

// BenchmarkConflictsCheck: the conflicts checker on a clean observed-remove cart run, the
// concurrent pairs of each key held to the records.
//
//	go test ./checkers/ -run '^$' -bench ConflictsCheck -benchtime 3x
func BenchmarkConflictsCheck(b *testing.B) {
	for _, size := range []int{10000, 40000} {
		ops, recs := orsetRun(size, 5, 400, 1)
		b.Run(fmt.Sprintf("ops=%d/records=%d", size, len(recs)), func(b *testing.B) {
			var r Result
			for b.Loop() {
				r = Run(context.Background(), Conflicts{}, withRecords(ops, Records{ConflictsKept: true, Conflicts: recs}))
			}
			if r.Valid != True {
				b.Fatalf("a clean run judged %s: %s", r.Valid, r)
			}
			b.ReportMetric(float64(r.Stats["concurrent_pairs"].(int)), "pairs")
		})
	}
}
