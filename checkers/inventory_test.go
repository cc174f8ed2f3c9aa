package checkers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/history"
)

// hist builds histories op by op, with times and indices in order.
type hist struct {
	ops  []history.Op
	proc int
}

func (h *hist) add(op history.Op) {
	op.Index, op.Time = int64(len(h.ops)), int64(len(h.ops))*10
	h.ops = append(h.ops, op)
}

// do records a whole op on a fresh process: invoke, then completion.
func (h *hist) do(node, f, key, req, arg string, typ history.Type, result string, final bool) {
	p := h.proc
	h.proc++
	inv := history.Op{Process: p, Type: history.Invoke, F: f, Key: key, Node: node, Req: req}
	if arg != "" {
		inv.Value = history.Value(rawJSON(arg))
	}
	if final {
		inv.SetMeta("final", true, "quiesce_ns", 1500000, "converged", true)
	}
	h.add(inv)
	done := history.Op{Process: p, Type: typ, F: f, Key: key, Node: node, Req: req}
	if result != "" {
		done.Value = history.Value(rawJSON(result))
	}
	h.add(done)
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// sale builds a history: restock 2 units of s1, the buys given, and final reads at n1 and n2
// showing rows (the same rows at both unless rows2 is given).
func sale(buys func(h *hist), rows string, rows2 ...string) []history.Op {
	h := &hist{}
	h.do("n1", "restock", "s1", "", "2", history.OK, "", false)
	buys(h)
	second := rows
	if len(rows2) > 0 {
		second = rows2[0]
	}
	h.do("n1", "read-orders", "s1", "", "null", history.OK, rows, true)
	h.do("n2", "read-orders", "s1", "", "null", history.OK, second, true)
	return h.ops
}

func ord(id, req, node string) string {
	return `{"order":"` + id + `","sku":"s1","qty":1,"req":"` + req + `","node":"` + node + `"}`
}

func TestDedup(t *testing.T) {
	retried := func(h *hist) {
		h.do("n1", "buy", "s1", "a", "1", history.Info, "", false)
		h.do("n2", "buy", "s1", "a", "1", history.OK, `"n2-4"`, false)
	}
	cases := []struct {
		name  string
		ops   []history.Op
		want  Valid
		kinds string
	}{
		{"one row for a retried request", sale(retried, "["+ord("n2-4", "a", "n2")+"]"), True, ""},
		{"a retry that became two rows", sale(retried, "["+ord("n1-3", "a", "n1")+","+ord("n2-4", "a", "n2")+"]"), False, "duplicate-order"},
		{"rows split across leaders still count", sale(retried, "["+ord("n1-3", "a", "n1")+"]", "["+ord("n2-4", "a", "n2")+"]"), False, "duplicate-order"},
		{"a row nobody asked for", sale(retried, "["+ord("n2-4", "a", "n2")+","+ord("n3-1", "zz", "n3")+"]"), False, "phantom-order"},
		{"no final reads", (&hist{}).ops, Unknown, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Dedup{}, in(c.ops))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.kinds == "" {
				return
			}
			a := r.Anomalies[0]
			if a.Kind != c.kinds || !a.Definite || len(a.Ops) == 0 || len(a.Nodes) == 0 || a.Key != "s1" {
				t.Fatalf("anomaly %+v", a)
			}
		})
	}
}

func TestOversell(t *testing.T) {
	two := func(h *hist) {
		h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
		h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-2"`, false)
	}
	three := func(h *hist) {
		two(h)
		h.do("n3", "buy", "s1", "c", "1", history.OK, `"n3-2"`, false)
	}
	rows2 := "[" + ord("n1-2", "a", "n1") + "," + ord("n2-2", "b", "n2") + "]"
	rows3 := "[" + ord("n1-2", "a", "n1") + "," + ord("n2-2", "b", "n2") + "," + ord("n3-2", "c", "n3") + "]"
	cases := []struct {
		name     string
		ops      []history.Op
		want     Valid
		kind     string
		definite bool
	}{
		{"sold what was there", sale(two, rows2), True, "", false},
		{"sold one more than there was", sale(three, rows3), False, "oversell", true},
		{"an unknown restock could cover it", sale(func(h *hist) {
			h.do("n3", "restock", "s1", "", "1", history.Info, "", false)
			three(h)
		}, rows3), Unknown, "oversell", false},
		{"an unknown restock that cannot cover it", sale(func(h *hist) {
			h.do("n3", "restock", "s1", "", "1", history.Info, "", false)
			three(h)
			h.do("n3", "buy", "s1", "d", "1", history.OK, `"n3-3"`, false)
		}, "["+ord("n1-2", "a", "n1")+","+ord("n2-2", "b", "n2")+","+ord("n3-2", "c", "n3")+","+ord("n3-3", "d", "n3")+"]"), False, "oversell", true},
		{"a failed restock adds nothing", sale(func(h *hist) {
			h.do("n3", "restock", "s1", "", "5", history.Fail, "", false)
			three(h)
		}, rows3), False, "oversell", true},
		{"a sale the buyer was told of is missing", sale(two, "["+ord("n1-2", "a", "n1")+"]"), False, "lost-sale", true},
		{"told sold out, sold anyway", sale(func(h *hist) {
			h.do("n1", "buy", "s1", "a", "1", history.Fail, "", false)
		}, "["+ord("n1-2", "a", "n1")+"]"), False, "sold-out-but-sold", true},
		{"an unknown buy may have sold", sale(func(h *hist) {
			h.do("n1", "buy", "s1", "a", "1", history.Info, "", false)
		}, "["+ord("n1-2", "a", "n1")+"]"), True, "", false},
		{"a sold-out attempt then a retry that sold", sale(func(h *hist) {
			h.do("n1", "buy", "s1", "a", "1", history.Fail, "", false)
			h.do("n2", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
		}, "["+ord("n1-2", "a", "n1")+"]"), True, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Oversell{}, in(c.ops))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.kind == "" {
				return
			}
			a := r.Anomalies[0]
			if a.Kind != c.kind || a.Definite != c.definite || len(a.Ops) == 0 || len(a.Nodes) == 0 {
				t.Fatalf("anomaly %+v, want kind %s definite %v", a, c.kind, c.definite)
			}
		})
	}
}

// withStock adds final read-stock results (one per leader) to a sale history.
func withStock(ops []history.Op, stocks ...string) []history.Op {
	h := &hist{ops: ops, proc: 1000}
	for i, v := range stocks {
		h.do([]string{"n1", "n2", "n3"}[i], "read-stock", "s1", "", "null", history.OK, v, true)
	}
	return h.ops
}

func TestOversellOverTime(t *testing.T) {
	rows3 := "[" + ord("n1-2", "a", "n1") + "," + ord("n2-2", "b", "n2") + "," + ord("n3-2", "c", "n3") + "]"
	three := func(h *hist) {
		h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
		h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-2"`, false)
		h.do("n3", "buy", "s1", "c", "1", history.OK, `"n3-2"`, false)
	}
	unknownFirst := func(h *hist) {
		h.do("n3", "restock", "s1", "", "1", history.Info, "", false)
		three(h)
	}
	cases := []struct {
		name     string
		ops      []history.Op
		want     Valid
		kind     string
		definite bool
	}{
		{"a later restock does not excuse an oversell", sale(func(h *hist) {
			three(h)
			h.do("n1", "restock", "s1", "", "5", history.OK, "", false)
		}, rows3), False, "oversell", true},
		{"a restock under way covers a sale completed after it began", sale(func(h *hist) {
			h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
			h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-2"`, false)
			p := h.proc
			h.proc++
			h.add(history.Op{Process: p, Type: history.Invoke, F: "restock", Key: "s1", Node: "n1", Value: history.Value(1)})
			h.do("n3", "buy", "s1", "c", "1", history.OK, `"n3-2"`, false)
			h.add(history.Op{Process: p, Type: history.OK, F: "restock", Key: "s1", Node: "n1"})
		}, rows3), True, "", false},
		{"the final stock shows the unknown restock arrived", withStock(sale(unknownFirst, rows3), "0", "0"), True, "", false},
		{"the final stock shows it never did", withStock(sale(unknownFirst, rows3), "-1", "-1"), False, "oversell", true},
		{"leaders disagree: the final stock settles nothing", withStock(sale(unknownFirst, rows3), "0", "-1"), Unknown, "oversell", false},
		{"a final stock no restocks explain", withStock(sale(three, rows3), "4", "4"), False, "stock-mismatch", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Oversell{}, in(c.ops))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.kind == "" {
				return
			}
			a := r.Anomalies[0]
			if a.Kind != c.kind || a.Definite != c.definite {
				t.Fatalf("anomaly %+v, want kind %s definite %v", a, c.kind, c.definite)
			}
		})
	}
}

// A stock row that lost updates (last-writer-wins on the row) shows a final stock no restocks
// explain; the order rows may still prove an oversell, and then both are reported.
func TestStockMismatchDoesNotHideAnOversell(t *testing.T) {
	two := func(h *hist) {
		h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
		h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-2"`, false)
	}
	three := func(h *hist) {
		two(h)
		h.do("n3", "buy", "s1", "c", "1", history.OK, `"n3-2"`, false)
	}
	rows2 := "[" + ord("n1-2", "a", "n1") + "," + ord("n2-2", "b", "n2") + "]"
	rows3 := "[" + ord("n1-2", "a", "n1") + "," + ord("n2-2", "b", "n2") + "," + ord("n3-2", "c", "n3") + "]"
	kinds := func(r Result) []string {
		var out []string
		for _, a := range r.Anomalies {
			require.True(t, a.Definite, "%+v", a)
			out = append(out, a.Kind)
		}
		return out
	}
	r := Run(context.Background(), Oversell{}, in(withStock(sale(three, rows3), "1", "1")))
	require.Equal(t, False, r.Valid)
	assert.Equal(t, []string{"stock-mismatch", "oversell"}, kinds(r))

	r = Run(context.Background(), Oversell{}, in(withStock(sale(two, rows2), "1", "1")))
	require.Equal(t, False, r.Valid)
	assert.Equal(t, []string{"stock-mismatch"}, kinds(r), "two units restocked, two sold: no oversell")

	r = Run(context.Background(), Oversell{}, in(withStock(sale(two, rows2), "0", "0")))
	assert.Equal(t, True, r.Valid, "%s", r)

	// The same from a store that gives no metadata at all (no meta.final: the last read of each
	// key at each leader counts as final).
	bare := func(ops []history.Op) []history.Op {
		for i := range ops {
			ops[i].Meta = nil
		}
		return ops
	}
	r = Run(context.Background(), Oversell{}, in(bare(withStock(sale(three, rows3), "1", "1"))))
	require.Equal(t, False, r.Valid, "%s", r)
	assert.Equal(t, []string{"stock-mismatch", "oversell"}, kinds(r))
	r = Run(context.Background(), Oversell{}, in(bare(withStock(sale(two, rows2), "0", "0"))))
	assert.Equal(t, True, r.Valid, "%s", r)
}

func TestOversellNamesTheFirstUnitPastTheStock(t *testing.T) {
	h := &hist{}
	h.do("n1", "restock", "s1", "", "1", history.OK, "", false)
	h.add(history.Op{Process: -1, Type: history.Invoke, F: "partition", Value: history.Value(map[string]any{"cut": []string{"n1->n2"}})})
	h.add(history.Op{Process: -1, Type: history.Info, F: "partition", Value: history.Value(map[string]any{"cut": []string{"n1->n2"}})})
	h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
	h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-1"`, false)
	h.add(history.Op{Process: -1, Type: history.Invoke, F: "heal"})
	h.add(history.Op{Process: -1, Type: history.Info, F: "heal"})
	h.do("n1", "read-orders", "s1", "", "null", history.OK, "["+ord("n1-2", "a", "n1")+","+ord("n2-1", "b", "n2")+"]", true)
	r := Run(context.Background(), Oversell{}, in(h.ops))
	if r.Valid != False || len(r.Anomalies) != 1 {
		t.Fatalf("%s", r)
	}
	a := r.Anomalies[0]
	if !strings.Contains(a.Description, "acknowledged by op 7 on n2 sold a unit that did not exist") || len(a.Nemesis) != 1 {
		t.Fatalf("anomaly does not name the sale past the stock or its partition: %+v", a)
	}
}

// The sale past the stock may be a row no client was told of (its buy timed out): it is named
// by its row, and no op is credited with acknowledging it.
func TestOversellNamesAnUntoldRowByItsRow(t *testing.T) {
	h := &hist{}
	h.do("n1", "restock", "s1", "", "1", history.OK, "", false)
	h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
	h.do("n2", "buy", "s1", "b", "1", history.Info, "", false)
	h.do("n1", "read-orders", "s1", "", "null", history.OK, "["+ord("n1-2", "a", "n1")+","+ord("n2-1", "b", "n2")+"]", true)
	for _, bare := range []bool{false, true} {
		ops := slices.Clone(h.ops)
		if bare {
			// No leader and no metadata on any op: a history crossfire did not write.
			for i := range ops {
				ops[i].Node, ops[i].Meta = "", nil
			}
		}
		r := Run(context.Background(), Oversell{}, in(ops))
		require.Equal(t, False, r.Valid, "bare %v: %s", bare, r)
		require.Len(t, r.Anomalies, 1)
		a := r.Anomalies[0]
		assert.True(t, a.Definite)
		assert.Contains(t, a.Description, `order row n2-1@n2 (request "b"), of which no client was told, sold a unit that did not exist: by then 1 units had been restocked and 2 sold`)
		assert.NotContains(t, a.Description, "acknowledged by op")
		assert.Equal(t, []int64{0, 7}, a.Ops, "the restock and the final read, and no op for the untold sale")
	}

	// Told of, the same sale is credited to the op that acknowledged it.
	h = &hist{}
	h.do("n1", "restock", "s1", "", "1", history.OK, "", false)
	h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
	h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-1"`, false)
	h.do("n1", "read-orders", "s1", "", "null", history.OK, "["+ord("n1-2", "a", "n1")+","+ord("n2-1", "b", "n2")+"]", true)
	r := Run(context.Background(), Oversell{}, in(h.ops))
	require.Equal(t, False, r.Valid, "%s", r)
	assert.Contains(t, r.Anomalies[0].Description, "the sale acknowledged by op 5 on n2 sold a unit that did not exist")
	assert.Equal(t, []int64{0, 7, 5}, r.Anomalies[0].Ops)
}

func TestConvergence(t *testing.T) {
	final := func(values ...string) []history.Op {
		h := &hist{}
		for i, v := range values {
			node := []string{"n1", "n2", "n3"}[i]
			if v == "-" {
				h.do(node, "read-stock", "s1", "", "null", history.Info, "", true)
				continue
			}
			h.do(node, "read-stock", "s1", "", "null", history.OK, v, true)
			h.do(node, "read-orders", "s1", "", "null", history.OK, "["+ord("n1-1", "a", "n1")+","+ord("n2-1", "b", "n2")+"]", true)
		}
		return h.ops
	}
	cases := []struct {
		name string
		ops  []history.Op
		want Valid
	}{
		{"all agree", final("3", "3", "3"), True},
		{"one disagrees", final("3", "4", "3"), False},
		{"a leader gave no final read", final("3", "3", "-"), Unknown},
		{"no final reads", nil, Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Convergence{}, in(c.ops))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.want == False {
				a := r.Anomalies[0]
				if a.Kind != "divergence" || len(a.Nodes) != 3 || !strings.Contains(a.Description, "n2: 4") {
					t.Fatalf("anomaly %+v", a)
				}
			}
			if c.want == True && r.Stats["quiesce_ns"] != int64(1500000) {
				t.Fatalf("quiesce time not reported: %v", r.Stats)
			}
		})
	}
	// Lists are compared as sets: the same rows in another order agree.
	h := &hist{}
	h.do("n1", "read", "cart", "", "null", history.OK, `["a","b"]`, true)
	h.do("n2", "read", "cart", "", "null", history.OK, `["b", "a"]`, true)
	if r := Run(context.Background(), Convergence{}, in(h.ops)); r.Valid != True {
		t.Fatalf("reordered lists judged %s", r)
	}
}

func TestCheckStreamMatchesCompose(t *testing.T) {
	ops := sale(func(h *hist) {
		h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
		h.do("n2", "buy", "s1", "a", "1", history.OK, `"n2-2"`, false)
	}, "["+ord("n1-2", "a", "n1")+","+ord("n2-2", "a", "n2")+"]")
	cs := []Checker{Dedup{}, Oversell{}, Convergence{}, WellFormed{}}
	i := 0
	next := func() (history.Op, error) {
		if i == len(ops) {
			return history.Op{}, io.EOF
		}
		i++
		return ops[i-1], nil
	}
	streamed, err := CheckStream(context.Background(), next, in(nil), cs...)
	if err != nil {
		t.Fatal(err)
	}
	composed := Compose(context.Background(), in(ops), cs...)
	if streamed.Valid != composed.Valid || streamed.Anomalies() != composed.Anomalies() || streamed.Valid != False {
		t.Fatalf("streamed %v/%d, composed %v/%d", streamed.Valid, streamed.Anomalies(), composed.Valid, composed.Anomalies())
	}
}

// CheckReader, which decodes the file side by side on every core, judges as Compose does, shows
// the tap every op in order, and stops at a bad line with the error that names it.
func TestCheckReaderMatchesCompose(t *testing.T) {
	ops := sale(func(h *hist) {
		h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-2"`, false)
		h.do("n2", "buy", "s1", "a", "1", history.OK, `"n2-2"`, false)
	}, "["+ord("n1-2", "a", "n1")+","+ord("n2-2", "a", "n2")+"]")
	var file bytes.Buffer
	for _, op := range ops {
		b, _ := history.Marshal(op)
		file.Write(append(b, '\n'))
	}
	cs := []Checker{Dedup{}, Oversell{}, Convergence{}, WellFormed{}}
	var tapped []int64
	read, err := CheckReader(context.Background(), history.NewReader(bytes.NewReader(file.Bytes())), func(op history.Op) { tapped = append(tapped, op.Index) }, in(nil), cs...)
	if err != nil {
		t.Fatal(err)
	}
	composed := Compose(context.Background(), in(ops), cs...)
	if read.Valid != composed.Valid || read.Anomalies() != composed.Anomalies() || read.Valid != False {
		t.Fatalf("read %v/%d, composed %v/%d", read.Valid, read.Anomalies(), composed.Valid, composed.Anomalies())
	}
	if len(tapped) != len(ops) || !slices.IsSorted(tapped) {
		t.Fatalf("the tap saw %v", tapped)
	}
	// A checker that needs the whole history still gets it.
	if s, err := CheckReader(context.Background(), history.NewReader(bytes.NewReader(file.Bytes())), nil, in(nil), Linearizable{}); err != nil || len(s.Results) != 1 {
		t.Fatalf("a slice checker: %v %v", s.Valid, err)
	}
	bad := append(append([]byte(nil), file.Bytes()...), "not json\n"...)
	_, err = CheckReader(context.Background(), history.NewReader(bytes.NewReader(bad)), nil, in(nil), cs...)
	var le *history.LineError
	if !errors.As(err, &le) || le.Line != int64(len(ops)+1) {
		t.Fatalf("a bad last line: %v", err)
	}
}
