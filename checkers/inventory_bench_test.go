package checkers

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/history"
)

// writeInventoryHistory writes a flash-sale history of about n ops (lines) to path: procs
// concurrent buyers over skus SKUs against one honest stock, buys of at most reqs distinct
// idempotency ids (the rest of the ops are stock reads), one buy in 50 timing out and retried
// with its req at another leader, restocks now and then, and final reads at three leaders.
func writeInventoryHistory(path string, n, reqs, skus, procs int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 2))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var idx int64
	emit := func(op history.Op) {
		op.Index = idx
		idx++
		b, _ := history.Marshal(op)
		w.Write(b)
		w.WriteByte('\n')
	}
	stock := make([]int64, skus)
	rows := make([][]map[string]any, skus)
	nodes := []string{"n1", "n2", "n3"}
	type pending struct {
		inv  history.Op
		done history.Op
	}
	open := map[int]pending{}  // process -> its op in flight
	live := make([]int, procs) // the processes clients use now
	for i := range live {
		live[i] = i
		open[i] = pending{}
	}
	nextProc := procs
	t := int64(0)
	buys := 0
	var retry []history.Op // buys to retry, same req
	for idx < int64(n) {
		t += 1000
		slot := r.IntN(len(live))
		p := live[slot]
		cur := open[p]
		if cur.inv.F != "" { // complete it
			cur.done.Time = t
			emit(cur.done)
			open[p] = pending{}
			if cur.done.Type == history.Info {
				// That client goes on as a fresh process.
				delete(open, p)
				live[slot] = nextProc
				open[nextProc] = pending{}
				nextProc++
			}
			continue
		}
		sku := r.IntN(skus)
		key := fmt.Sprintf("s%d", sku)
		node := nodes[r.IntN(3)]
		inv := history.Op{Time: t, Process: p, Type: history.Invoke, Key: key, Node: node}
		done := history.Op{Process: p, Type: history.OK, Key: key, Node: node}
		switch x := r.IntN(100); {
		case len(retry) > 0:
			inv = retry[0]
			retry = retry[1:]
			inv.Time, inv.Process, inv.Node = t, p, node
			inv.Meta = history.Value(map[string]int{"retry": 1})
			done = history.Op{Process: p, Type: history.Fail, F: "buy", Key: inv.Key, Node: node, Req: inv.Req, Error: "sold out"}
			sku = int(inv.Key[1] - '0')
			if stock[sku] > 0 {
				stock[sku]--
				id := fmt.Sprintf("%s-%d", node, idx)
				rows[sku] = append(rows[sku], map[string]any{"order": id, "sku": inv.Key, "qty": 1, "req": inv.Req, "node": node})
				done.Type, done.Value, done.Error = history.OK, history.Value(id), ""
			}
		case x < 2:
			units := 5 + r.IntN(11)
			inv.F, inv.Value = "restock", history.Value(units)
			done.F = "restock"
			stock[sku] += int64(units)
		case x < 90 && buys < reqs:
			buys++
			req := fmt.Sprintf("%016x", r.Uint64())
			inv.F, inv.Value, inv.Req = "buy", history.Value(1), req
			done.F, done.Req = "buy", req
			if r.IntN(50) == 0 {
				// Times out without effect; the client retries it elsewhere.
				done.Type, done.Error = history.Info, "timeout"
				retry = append(retry, history.Op{Type: history.Invoke, F: "buy", Key: key, Value: history.Value(1), Req: req})
			} else if stock[sku] > 0 {
				stock[sku]--
				id := fmt.Sprintf("%s-%d", node, idx)
				rows[sku] = append(rows[sku], map[string]any{"order": id, "sku": key, "qty": 1, "req": req, "node": node})
				done.Value = history.Value(id)
			} else {
				done.Type, done.Error = history.Fail, "sold out"
			}
		default:
			inv.F, inv.Value = "read-stock", history.Null
			done.F, done.Value = "read-stock", history.Value(stock[sku])
		}
		emit(inv)
		open[p] = pending{inv: inv, done: done}
	}
	// Complete what is open, then the final reads.
	ps := make([]int, 0, len(open))
	for p := range open {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	for _, p := range ps {
		if cur := open[p]; cur.inv.F != "" {
			t += 1000
			cur.done.Time = t
			emit(cur.done)
		}
	}
	for li, node := range nodes {
		p := nextProc + li
		for sku := 0; sku < skus; sku++ {
			key := fmt.Sprintf("s%d", sku)
			for _, f := range []string{"read-stock", "read-orders"} {
				t += 1000
				inv := history.Op{Time: t, Process: p, Type: history.Invoke, F: f, Key: key, Node: node, Value: history.Null,
					Meta: history.Value(map[string]bool{"final": true})}
				emit(inv)
				done := history.Op{Time: t + 500, Process: p, Type: history.OK, F: f, Key: key, Node: node, Value: history.Value(stock[sku])}
				if f == "read-orders" {
					done.Value = history.Value(rows[sku])
				}
				emit(done)
			}
		}
	}
	return w.Flush()
}

// benchHistory writes (once per dir) the generated history of n ops and reqs requests.
func benchHistory(b *testing.B, dir string, n, reqs int) string {
	path := filepath.Join(dir, fmt.Sprintf("history-%d-%d.jsonl", n, reqs))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := writeInventoryHistory(path, n, reqs, 10, 40, 1); err != nil {
		b.Fatal(err)
	}
	return path
}

func TestGeneratedInventoryHistoryIsValid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := writeInventoryHistory(path, 20000, 5000, 3, 10, 9); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := history.NewReader(f)
	s, err := CheckStream(context.Background(), r.Next, in(nil), Dedup{}, Oversell{}, Convergence{}, WellFormed{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Valid != True {
		t.Fatalf("generated history judged %s: %v", s.Valid, s.Results)
	}
}

// BenchmarkInventoryCheck runs dedup, oversell and convergence over generated flash-sale
// histories read from their JSONL files, and reports lines per second and the peak heap. The
// three sizes show what memory follows: the requests, not the ops.
func BenchmarkInventoryCheck(b *testing.B) {
	dir := b.TempDir() // removed when the benchmark ends; the histories take a few hundred MB
	for _, c := range []struct{ ops, reqs int }{{1_000_000, 1_000_000}, {1_000_000, 20_000}, {100_000, 20_000}} {
		b.Run(fmt.Sprintf("ops=%d/reqs=%d", c.ops, c.reqs), func(b *testing.B) {
			path := benchHistory(b, dir, c.ops, c.reqs)
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			var peak atomic.Uint64
			runtime.GC()
			// The heap is sampled through runtime/metrics, which does not stop the world as
			// ReadMemStats does: sampling every 5 ms that way cost the check about 5 %.
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			heap := func() uint64 {
				metrics.Read(sample)
				return sample[0].Value.Uint64()
			}
			base := heap()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					if h := heap(); h > peak.Load() {
						peak.Store(h)
					}
				}
			}()
			b.ResetTimer()
			var lines int64
			for i := 0; i < b.N; i++ {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				r := history.NewReader(f)
				s, err := CheckReader(context.Background(), r, nil, in(nil), Dedup{}, Oversell{}, Convergence{})
				f.Close()
				if err != nil || s.Valid != True {
					b.Fatalf("judged %v (%v): %v", s.Valid, err, s.Results)
				}
				lines += r.Line()
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base))/(1<<20), "peak-MB")
		})
	}
}
