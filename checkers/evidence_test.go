package checkers

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
)

// evidenceCase is one history written as a store that gives no crossfire metadata would write it,
// and what one checker must answer.
type evidenceCase struct {
	name    string
	checker Checker
	history string
	want    Valid
	kind    string // an anomaly of this kind must be among the results ("" for none expected)
	// definite is whether that anomaly must be definite (certain from ok ops) or possible.
	definite bool
}

func (c evidenceCase) run(t *testing.T) {
	t.Helper()
	r := Run(context.Background(), c.checker, in(handWritten(t, c.history)))
	if r.Valid != c.want {
		t.Fatalf("%s: valid %v, want %v: %s", c.checker.Name(), r.Valid, c.want, r)
	}
	if r.NotApplicable != "" {
		t.Fatalf("%s judged nothing: %s", c.checker.Name(), r.NotApplicable)
	}
	if c.want == True && len(r.Anomalies) > 0 {
		t.Fatalf("valid with anomalies: %s", r)
	}
	if c.want == Unknown && r.Error == "" {
		t.Fatalf("unknown without a reason: %s", r)
	}
	if c.kind == "" {
		return
	}
	for _, a := range r.Anomalies {
		if a.Kind == c.kind && a.Definite == c.definite {
			return
		}
	}
	t.Fatalf("no %s anomaly (definite %v) in %s", c.kind, c.definite, r)
}

// TestRegistersWithoutMetadata: a failed cas is evidence that the register did not hold the
// expected value, unless the store says it refused the cas before comparing.
func TestRegistersWithoutMetadata(t *testing.T) {
	for _, c := range []evidenceCase{
		{name: "a cas failed while the register held what it expected", checker: Linearizable{}, history: `
			0 invoke write r0 1 n1
			0 ok write r0 - n1
			1 invoke cas r0 [1,2] n2
			1 fail cas r0 - n2
			2 invoke read r0 null n1
			2 ok read r0 1 n1`, want: False, kind: "nonlinearizable", definite: true},
		{name: "a cas refused before comparing", checker: Linearizable{}, history: `
			0 invoke write r0 1 n1
			0 ok write r0 - n1
			1 invoke cas r0 [1,2] n2
			1 fail cas r0 - n2 - meta={"refused":true}
			2 invoke read r0 null n1
			2 ok read r0 1 n1`, want: True},
		{name: "a cas failed on another value", checker: Linearizable{}, history: `
			0 invoke write r0 1 n1
			0 ok write r0 - n1
			1 invoke cas r0 [5,2] n2
			1 fail cas r0 - n2
			2 invoke read r0 null n1
			2 ok read r0 1 n1`, want: True},
		{name: "a failed cas explained by a concurrent write", checker: Linearizable{}, history: `
			0 invoke write r0 1 n1
			0 ok write r0 - n1
			1 invoke cas r0 [1,2] n2
			2 invoke write r0 3 n1
			2 ok write r0 - n1
			1 fail cas r0 - n2
			3 invoke read r0 null n1
			3 ok read r0 3 n1`, want: True},
		{name: "a failed cas on a register never written, expecting null", checker: Linearizable{}, history: `
			1 invoke cas r0 [null,2] n2
			1 fail cas r0 - n2
			2 invoke read r0 null n1
			2 ok read r0 null n1`, want: False, kind: "nonlinearizable", definite: true},
	} {
		t.Run(c.name, c.run)
	}
}

// TestSalesWithoutMetadata: order ids unique only per leader, and final read-orders that did not
// answer everywhere.
func TestSalesWithoutMetadata(t *testing.T) {
	const twoSales = `
		0 invoke restock s0 2 n1
		0 ok restock s0 - n1
		1 invoke buy s0 1 n1 a
		1 ok buy s0 "1" n1 a
		2 invoke buy s0 1 n2 b
		2 ok buy s0 "1" n2 b
		3 invoke read-orders s0 null n1
		3 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"b","node":"n2"}] n1
		4 invoke read-orders s0 null n2
		4 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"b","node":"n2"},{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"}] n2
		3 invoke read-stock s0 null n1
		3 ok read-stock s0 0 n1
		4 invoke read-stock s0 null n2
		4 ok read-stock s0 0 n2`
	const retriedAtTwoLeaders = `
		0 invoke restock s0 2 n1
		0 ok restock s0 - n1
		1 invoke buy s0 1 n1 a
		1 info buy s0 - n1 a
		2 invoke buy s0 1 n2 a
		2 ok buy s0 "1" n2 a
		3 invoke read-orders s0 null n1
		3 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"a","node":"n2"}] n1
		4 invoke read-orders s0 null n2
		4 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"a","node":"n2"}] n2`
	const soldAtN3 = `
		0 invoke restock s0 1 n1
		0 ok restock s0 - n1
		1 invoke buy s0 1 n3 a
		1 ok buy s0 "7" n3 a
		3 invoke read-orders s0 null n1
		3 ok read-orders s0 [] n1
		4 invoke read-orders s0 null n2
		4 ok read-orders s0 [] n2
		5 invoke read-orders s0 null n3
		5 `
	for _, c := range []evidenceCase{
		{name: "per-leader order ids, one sale each", checker: Oversell{}, history: twoSales, want: True},
		{name: "per-leader order ids, no duplicate", checker: Dedup{}, history: twoSales, want: True},
		{name: "per-leader order ids, one request sold twice", checker: Dedup{}, history: retriedAtTwoLeaders,
			want: False, kind: "duplicate-order", definite: true},
		{name: "two leaders each sold the last unit, each numbering it 1", checker: Oversell{}, history: `
			0 invoke restock s0 1 n1
			0 ok restock s0 - n1
			1 invoke buy s0 1 n1 a
			1 ok buy s0 "1" n1 a
			2 invoke buy s0 1 n2 b
			2 ok buy s0 "1" n2 b
			3 invoke read-orders s0 null n1
			3 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"b","node":"n2"}] n1
			4 invoke read-orders s0 null n2
			4 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"b","node":"n2"}] n2`,
			want: False, kind: "oversell", definite: true},
		{name: "a buyer told sold out, with a row", checker: Oversell{}, history: `
			0 invoke restock s0 1 n1
			0 ok restock s0 - n1
			1 invoke buy s0 1 n1 a
			1 fail buy s0 - n1 a
			3 invoke read-orders s0 null n1
			3 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"}] n1`,
			want: False, kind: "sold-out-but-sold", definite: true},
		{name: "a leader's final read-orders failed", checker: Oversell{}, history: soldAtN3 + `fail read-orders s0 - n3`,
			want: Unknown, kind: "lost-sale", definite: false},
		{name: "every leader answered and none shows the sale", checker: Oversell{}, history: soldAtN3 + `ok read-orders s0 [] n3`,
			want: False, kind: "lost-sale", definite: true},
	} {
		t.Run(c.name, c.run)
	}
}

// TestCartsWithoutMetadata: what a store that gives no version vectors proves with its answers
// and real-time order alone, and where it proves nothing.
func TestCartsWithoutMetadata(t *testing.T) {
	for _, c := range []evidenceCase{
		{name: "a removed item back at every leader", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke remove c0 "x" n2
			1 ok remove c0 - n2
			2 invoke read c0 null n1
			2 ok read c0 ["x"] n1
			3 invoke read c0 null n2
			3 ok read c0 ["x"] n2`, want: False, kind: "resurrected", definite: true},
		{name: "a removed item gone everywhere", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke remove c0 "x" n2
			1 ok remove c0 - n2
			2 invoke read c0 null n1
			2 ok read c0 [] n1
			3 invoke read c0 null n2
			3 ok read c0 [] n2`, want: True},
		{name: "a re-add after the remove completed, lost", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke remove c0 "x" n1
			1 ok remove c0 - n1
			2 invoke add c0 "x" n3
			2 ok add c0 - n3
			3 invoke read c0 null n1
			3 ok read c0 [] n1
			4 invoke read c0 null n3
			4 ok read c0 [] n3`, want: False, kind: "lost-add", definite: true},
		{name: "a re-add after the remove completed, kept", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke remove c0 "x" n1
			1 ok remove c0 - n1
			2 invoke add c0 "x" n3
			2 ok add c0 - n3
			3 invoke read c0 null n1
			3 ok read c0 ["x"] n1
			4 invoke read c0 null n3
			4 ok read c0 ["x"] n3`, want: True},
		{name: "a remove at another leader, concurrent with a re-add: nothing decides", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke remove c0 "x" n2
			2 invoke add c0 "x" n3
			2 ok add c0 - n3
			1 ok remove c0 - n2
			3 invoke read c0 null n1
			3 ok read c0 [] n1
			4 invoke read c0 null n3
			4 ok read c0 [] n3`, want: Unknown, kind: "lost-add", definite: false},
		{name: "a failed add shows up", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 fail add c0 - n1
			1 invoke add c0 "y" n1
			1 ok add c0 - n1
			2 invoke read c0 null n1
			2 ok read c0 ["x","y"] n1`, want: False, kind: "failed-add-present", definite: true},
		{name: "a failed add stays out", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 fail add c0 - n1
			1 invoke add c0 "y" n1
			1 ok add c0 - n1
			2 invoke read c0 null n1
			2 ok read c0 ["y"] n1`, want: True},
		{name: "an item nobody added", checker: CartChecker{}, history: `
			1 invoke add c0 "y" n1
			1 ok add c0 - n1
			2 invoke read c0 null n2
			2 ok read c0 ["y","z"] n2`, want: False, kind: "phantom-item", definite: true},
		{name: "an add of unknown outcome may show up", checker: CartChecker{}, history: `
			0 invoke add c0 "x" n1
			0 info add c0 - n1
			2 invoke read c0 null n2
			2 ok read c0 ["x"] n2`, want: True},
	} {
		t.Run(c.name, c.run)
	}
}

// TestCartCausesNeedEvidence: a lost add is put down to last-writer-wins only when the history
// shows a concurrent write with a later timestamp; without metadata it names no cause.
func TestCartCausesNeedEvidence(t *testing.T) {
	r := Run(context.Background(), CartChecker{}, in(handWritten(t, `
		0 invoke add c0 "x" n1
		0 ok add c0 - n1
		1 invoke add c0 "y" n2
		1 ok add c0 - n2
		2 invoke read c0 null n1
		2 ok read c0 ["y"] n1`)))
	if r.Valid != False || len(r.Anomalies) != 1 || r.Anomalies[0].Kind != "lost-add" {
		t.Fatalf("want one lost add: %s", r)
	}
	if a := r.Anomalies[0]; a.Cause != "" || strings.Contains(a.Description, "timestamp") {
		t.Fatalf("a cause named without evidence: %+v", a)
	}
	r = Run(context.Background(), CartChecker{}, in(handWritten(t, `
		0 invoke add c0 "x" n1
		0 ok add c0 - n1 - meta={"origin":"n1","ts":10,"vv":{"n1":1}}
		1 invoke add c0 "y" n2
		1 ok add c0 - n2 - meta={"origin":"n2","ts":20,"vv":{"n2":1}}
		2 invoke read c0 null n1
		2 ok read c0 ["y"] n1`)))
	if len(r.Anomalies) != 1 || r.Anomalies[0].Cause != CauseLWW || !strings.Contains(r.Anomalies[0].Description, "op 3") {
		t.Fatalf("want a lost add put down to the write by n2 (op 3): %s", r)
	}
}

// TestCartOrSetRemovesOnlyWhatTheySaw: a remove that had not seen a concurrent re-add (by version
// vectors) does not excuse its loss: an OR-set whose removes take away tags they never observed
// is caught by the cart checker itself.
func TestCartOrSetRemovesOnlyWhatTheySaw(t *testing.T) {
	h := &hist{}
	cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
	cartOp(h, "n2", "remove", "x", history.OK, 20, map[string]int{"n1": 1, "n2": 1})
	cartOp(h, "n3", "add", "x", history.OK, 15, map[string]int{"n3": 1})
	cartFinalRead(h, "n1", "orset")
	cartFinalRead(h, "n3", "orset")
	r := Run(context.Background(), CartChecker{}, in(h.ops))
	if r.Valid != False || len(r.Anomalies) == 0 || r.Anomalies[0].Kind != "lost-add" || !r.Anomalies[0].Definite {
		t.Fatalf("the concurrent re-add vanished and passed: %s", r)
	}
	h = &hist{}
	cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
	cartOp(h, "n2", "remove", "x", history.OK, 20, map[string]int{"n1": 1, "n2": 1})
	cartOp(h, "n3", "add", "x", history.OK, 15, map[string]int{"n3": 1})
	cartFinalRead(h, "n1", "orset", "x")
	cartFinalRead(h, "n3", "orset", "x")
	if r := Run(context.Background(), CartChecker{}, in(h.ops)); r.Valid != True {
		t.Fatalf("add-wins kept the concurrent re-add, and was judged %s", r)
	}
}

// TestMalformedHistoriesAreNeverCertain: a history that breaks its format (a process invoking
// twice, a completion before its invoke, a completion that names another operation, an operation
// the checkers do not know) gets no definite anomaly, no false verdict and no panic, from every
// checker, on a slice or streamed.
func TestMalformedHistoriesAreNeverCertain(t *testing.T) {
	bases := map[string]string{
		"register": `
			0 invoke write r0 1 n1
			0 ok write r0 - n1
			1 invoke read r0 null n2
			1 ok read r0 2 n2`,
		"inventory": `
			0 invoke restock s0 1 n1
			0 ok restock s0 - n1
			1 invoke buy s0 1 n1 a
			1 ok buy s0 "1" n1 a
			2 invoke buy s0 1 n2 b
			2 ok buy s0 "1" n2 b
			3 invoke read-orders s0 null n1
			3 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"b","node":"n2"},{"order":"9","sku":"s0","qty":1,"req":"z","node":"n2"}] n1`,
		"cart": `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke remove c0 "x" n2
			1 ok remove c0 - n2
			2 invoke read c0 null n1
			2 ok read c0 ["x","q"] n1`,
	}
	mutations := map[string]func([]string) []string{
		"a process invoking twice": func(l []string) []string {
			return append([]string{l[0]}, l...)
		},
		"a completion before its invoke": func(l []string) []string {
			out := append([]string(nil), l...)
			out[0], out[1] = out[1], out[0]
			return out
		},
		"a completion of another operation": func(l []string) []string {
			out := append([]string(nil), l...)
			f := strings.Fields(out[1])
			f[2] = "read"
			out[1] = strings.Join(f, " ")
			return out
		},
		"an operation nobody knows": func(l []string) []string {
			return append(append([]string(nil), l...), "7 invoke frobnicate s0 1 n1", "7 ok frobnicate s0 - n1")
		},
	}
	all := []Checker{Linearizable{}, WellFormed{}, Dedup{}, Oversell{}, Convergence{}, CartChecker{}, Conflicts{}}
	for wname, base := range bases {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(base), "\n") {
			lines = append(lines, strings.TrimSpace(l))
		}
		if s := Compose(context.Background(), withRecords(handWritten(t, strings.Join(lines, "\n")), Records{ConflictsKept: true}), all...); s.Valid != False {
			t.Fatalf("%s: the well-formed base shows no anomaly, so the test proves nothing (%s)", wname, s.Valid)
		}
		for mname, mutate := range mutations {
			t.Run(wname+"/"+mname, func(t *testing.T) {
				ops := handWritten(t, strings.Join(mutate(lines), "\n"))
				i := 0
				streamed, err := CheckStream(context.Background(), func() (history.Op, error) {
					if i == len(ops) {
						return history.Op{}, io.EOF
					}
					i++
					return ops[i-1], nil
				}, withRecords(nil, Records{ConflictsKept: true}), all...)
				if err != nil {
					t.Fatal(err)
				}
				for how, s := range map[string]Summary{"composed": Compose(context.Background(), withRecords(ops, Records{ConflictsKept: true}), all...), "streamed": streamed} {
					if s.Valid == False {
						t.Errorf("%s: verdict false on a broken history", how)
					}
					for _, r := range s.Results {
						if strings.Contains(r.Error, "panicked") {
							t.Errorf("%s: %s panicked: %s", how, r.Checker, r.Error)
						}
						for _, a := range r.Anomalies {
							if a.Definite {
								t.Errorf("%s: %s found a definite %s in a broken history", how, r.Checker, a.Kind)
							}
						}
					}
				}
			})
		}
	}
}

// stuck is a checker that never finishes on its own and ignores its context.
type stuck struct{ release chan struct{} }

func (stuck) Name() string { return "stuck" }
func (s stuck) Check(context.Context, Input) Result {
	<-s.release
	return Result{Valid: True}
}

// TestEveryCheckerIsBoundedEndToEnd: past the deadline a checker's verdict is unknown, whether it
// watches its context or not, and a streamed pass stops reading.
func TestEveryCheckerIsBoundedEndToEnd(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	r := Run(ctx, stuck{release}, in(nil))
	require.Equal(t, Unknown, r.Valid)
	require.Contains(t, r.Error, "timed out")

	expired, cancel2 := context.WithCancel(context.Background())
	cancel2()
	ops := handWritten(t, `
		0 invoke write r0 1 n1
		0 ok write r0 - n1`)
	i := 0
	s, err := CheckStream(expired, func() (history.Op, error) {
		if i == len(ops) {
			return history.Op{}, io.EOF
		}
		i++
		return ops[i-1], nil
	}, in(nil), WellFormed{}, CartChecker{})
	require.NoError(t, err)
	for _, r := range s.Results {
		require.Equal(t, Unknown, r.Valid, r.Checker)
		require.NotEmpty(t, r.Error, r.Checker)
	}
	require.Equal(t, Unknown, Compose(expired, in(ops), Linearizable{}).Valid)
}

// TestAFailedFaultOpensNoWindow: a nemesis op that could not be applied (fail) is no window, and
// a clock fault that failed puts no loss down to skew.
func TestAFailedFaultOpensNoWindow(t *testing.T) {
	ops := handWritten(t, `
		-1 invoke partition - - -
		-1 fail partition - - -
		-1 invoke kill - "n2" -
		-1 info kill - "n2" -`)
	ws := Windows(ops, nemesis.Faults())
	require.Len(t, ws, 1)
	require.Equal(t, "kill", ws[0].F)

	h := &hist{}
	v := history.Value(map[string]any{"node": "n2", "offset_ns": 5000000000})
	h.add(history.Op{Process: -1, Type: history.Invoke, F: "clock-bump", Value: v})
	h.add(history.Op{Process: -1, Type: history.Fail, F: "clock-bump", Value: v, Error: "no"})
	cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
	cartOp(h, "n2", "add", "y", history.OK, 5000000020, map[string]int{"n2": 1})
	cartFinalRead(h, "n1", "lww", "y")
	r := Run(context.Background(), CartChecker{}, in(h.ops))
	require.Len(t, r.Anomalies, 1)
	require.Equal(t, CauseLWW, r.Anomalies[0].Cause, "a skew that never took effect was blamed")
}

// TestOversellSaysTheCountsAtTheSale: the oversell names the stock at the moment of the sale that
// went past it, not the totals at the end.
func TestOversellSaysTheCountsAtTheSale(t *testing.T) {
	r := Run(context.Background(), Oversell{}, in(handWritten(t, `
		0 invoke restock s0 1 n1
		0 ok restock s0 - n1
		1 invoke buy s0 1 n1 a
		1 ok buy s0 "1" n1 a
		2 invoke buy s0 1 n2 b
		2 ok buy s0 "1" n2 b
		5 invoke restock s0 5 n1
		5 ok restock s0 - n1
		3 invoke read-orders s0 null n1
		3 ok read-orders s0 [{"order":"1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"1","sku":"s0","qty":1,"req":"b","node":"n2"}] n1`)))
	require.Equal(t, False, r.Valid, r.String())
	d := r.Anomalies[0].Description
	assert.Contains(t, d, "by then 1 units had been restocked")
	assert.Contains(t, d, "and 2 sold, this sale included")
	assert.Contains(t, d, "op 5 on n2")
}
