package checkers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// linearizableHistory generates n register ops over keys keys, by procs concurrent processes,
// from a simulated register: each op takes effect at a random instant between its invoke and its
// completion, so the history is linearizable. One op in 500 ends as info (its effect kept or
// dropped at random), after which its process is replaced by a fresh one.
func linearizableHistory(n, keys, procs int, seed uint64) []history.Op {
	r := rand.New(rand.NewPCG(seed, 1))
	type event struct {
		t    int64
		kind int // 0 invoke, 1 effect, 2 completion
		op   int
	}
	type plan struct {
		process int
		f, key  string
		value   any
		info    bool
		skip    bool // an info op whose effect never happened
		result  any
		ok      bool
	}
	plans := make([]plan, n)
	var events []event
	clock := make([]int64, procs)
	ids := make([]int, procs)
	for i := range ids {
		ids[i] = i
	}
	next := procs
	for i := 0; i < n; i++ {
		p := r.IntN(procs)
		start := clock[p] + 1 + r.Int64N(50)
		effect := start + 1 + r.Int64N(40)
		end := effect + 1 + r.Int64N(40)
		clock[p] = end
		pl := plan{process: ids[p], key: fmt.Sprintf("k%d", r.IntN(keys))}
		switch x := r.IntN(10); {
		case x < 5:
			pl.f = "read"
		case x < 8:
			pl.f, pl.value = "write", r.IntN(10)
		default:
			pl.f, pl.value = "cas", [2]int{r.IntN(10), r.IntN(10)}
		}
		if pl.f != "read" && r.IntN(500) == 0 {
			pl.info, pl.skip = true, r.IntN(2) == 0
			ids[p] = next
			next++
		}
		plans[i] = pl
		events = append(events, event{start, 0, i}, event{effect, 1, i}, event{end, 2, i})
	}
	sort.SliceStable(events, func(a, b int) bool { return events[a].t < events[b].t })
	state := map[string]any{}
	var ops []history.Op
	for _, e := range events {
		pl := &plans[e.op]
		switch e.kind {
		case 0:
			ops = append(ops, history.Op{Process: pl.process, Type: history.Invoke, F: pl.f, Key: pl.key, Value: history.Value(pl.value), Time: e.t})
		case 1:
			if pl.skip {
				continue
			}
			cur, seen := state[pl.key]
			switch pl.f {
			case "read":
				pl.result = cur
				if !seen {
					pl.result = nil
				}
			case "write":
				state[pl.key] = pl.value
			case "cas":
				pair := pl.value.([2]int)
				if seen && cur == any(pair[0]) {
					state[pl.key], pl.ok = pair[1], true
				}
			}
		case 2:
			done := history.Op{Process: pl.process, Type: history.OK, F: pl.f, Key: pl.key, Time: e.t}
			switch {
			case pl.info:
				done.Type = history.Info
			case pl.f == "read":
				done.Value = history.Value(pl.result)
			case pl.f == "cas" && !pl.ok:
				done.Type = history.Fail
			}
			ops = append(ops, done)
		}
	}
	for i := range ops {
		ops[i].Index = int64(i)
	}
	return ops
}

func TestGeneratedHistoryIsLinearizable(t *testing.T) {
	ops := linearizableHistory(5000, 10, 8, 1)
	if err := history.Validate(ops); err != nil {
		t.Fatal(err)
	}
	if r := Run(context.Background(), Linearizable{}, in(ops)); r.Valid != True {
		t.Fatalf("generated history judged %s: %s", r.Valid, r)
	}
	// Corrupt one read: the same history must now be caught.
	for i, op := range ops {
		if op.F == "read" && op.Type == history.OK && string(op.Value) != "null" {
			ops[i].Value = history.Value(99)
			break
		}
	}
	if r := Run(context.Background(), Linearizable{}, in(ops)); r.Valid != False {
		t.Fatalf("a read of a value never written was judged %s", r.Valid)
	}
}

// BenchmarkLinearizable100k checks a generated history of 100,000 register operations (200,000
// history lines: each an invoke and its completion) over 100 keys, by 20 processes.
func BenchmarkLinearizable100k(b *testing.B) {
	ops := linearizableHistory(100_000, 100, 20, 7)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := Run(context.Background(), Linearizable{}, in(ops)); r.Valid != True {
			b.Fatalf("judged %s: %s", r.Valid, r.Error)
		}
	}
	b.ReportMetric(float64(len(ops))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
