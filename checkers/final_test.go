package checkers

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// handWritten reads a history written by hand in the documented format, as a user or another
// tool would: no crossfire metadata unless the text has it. Lines are "process type f key value
// node [req] [meta={...}]", with "-" for an absent field; indices and times are filled in.
func handWritten(t *testing.T, text string) []history.Op {
	t.Helper()
	var b strings.Builder
	i := 0
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		var meta string
		if last := f[len(f)-1]; strings.HasPrefix(last, "meta=") {
			meta, f = strings.TrimPrefix(last, "meta="), f[:len(f)-1]
		}
		if len(f) != 6 && len(f) != 7 {
			t.Fatalf("bad line %q", line)
		}
		b.WriteString(`{"index":` + itoa(i) + `,"time":` + itoa(i*10) + `,"process":` + f[0] + `,"type":"` + f[1] + `","f":"` + f[2] + `"`)
		if f[3] != "-" {
			b.WriteString(`,"key":"` + f[3] + `"`)
		}
		if f[4] != "-" {
			b.WriteString(`,"value":` + f[4])
		}
		if f[5] != "-" {
			b.WriteString(`,"node":"` + f[5] + `"`)
		}
		if len(f) == 7 && f[6] != "-" {
			b.WriteString(`,"req":"` + f[6] + `"`)
		}
		if meta != "" {
			b.WriteString(`,"meta":` + meta)
		}
		b.WriteString("}\n")
		i++
	}
	r := history.NewReader(strings.NewReader(b.String()))
	var ops []history.Op
	for {
		op, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ops
		}
		if err != nil {
			t.Fatalf("%v in\n%s", err, b.String())
		}
		ops = append(ops, op)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// TestConvergenceWithoutCrossfiresMetadata: final reads are the last successful read of each key
// at each leader when nothing marks them; they are compared as data; two leaders at least, each
// named.
func TestConvergenceWithoutCrossfiresMetadata(t *testing.T) {
	cases := []struct {
		name, history string
		want          Valid
		na            bool
		why           string
	}{
		{"the last reads agree", `
			0 invoke write r0 1 n1
			0 ok write r0 1 n1
			1 invoke read r0 null n2
			1 ok read r0 0 n2
			1 invoke read r0 null n2
			1 ok read r0 1 n2
			2 invoke read r0 null n1
			2 ok read r0 1 n1`, True, false, ""},
		{"the last reads differ", `
			1 invoke read r0 null n2
			1 ok read r0 1 n2
			2 invoke read r0 null n1
			2 ok read r0 2 n1`, False, false, ""},
		{"a failed last read does not hide an earlier one", `
			1 invoke read r0 null n2
			1 ok read r0 1 n2
			1 invoke read r0 null n2
			1 fail read r0 - n2
			2 invoke read r0 null n1
			2 ok read r0 2 n1`, False, false, ""},
		{"rows with their keys in another order, 1.0 for 1", `
			1 invoke read-orders s0 null n1
			1 ok read-orders s0 [{"order":"7","qty":1,"node":"n1"},{"order":"9","qty":2}] n1
			2 invoke read-orders s0 null n2
			2 ok read-orders s0 [{"qty":2.0,"order":"9"},{"node":"n1","qty":1e0,"order":"7"}] n2`, True, false, ""},
		{"reads that name no leader: no leaders to compare", `
			1 invoke read r0 null -
			1 ok read r0 1 -
			2 invoke read r0 null -
			2 ok read r0 2 -`, Unknown, true, "names a leader"},
		{"reads that name no leader beside ones that do", `
			1 invoke read r0 null -
			1 ok read r0 1 -
			2 invoke read r0 null n1
			2 ok read r0 2 n1
			3 invoke read r0 null n2
			3 ok read r0 2 n2`, Unknown, false, "name no leader beside"},
		{"one leader has nothing to compare with", `
			1 invoke read r0 null n1
			1 ok read r0 1 n1`, Unknown, false, "from 1 leader(s) only"},
		{"no read at all is not its business", `
			0 invoke write r0 1 n1
			0 ok write r0 1 n1`, Unknown, true, "no read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Convergence{}, in(handWritten(t, c.history)))
			if r.Valid != c.want || (r.NotApplicable != "") != c.na {
				t.Fatalf("valid %v (not applicable %q), want %v (n/a %v): %s", r.Valid, r.NotApplicable, c.want, c.na, r)
			}
			if c.why != "" && !strings.Contains(r.Error+r.NotApplicable, c.why) {
				t.Fatalf("reason %q lacks %q", r.Error+r.NotApplicable, c.why)
			}
			if !c.na && c.want != Unknown && r.Stats["final_rule"] != FinalByLast {
				t.Fatalf("rule %v", r.Stats["final_rule"])
			}
		})
	}
}

// TestNotApplicableIsNeverAPass: a checker that found nothing it judges leaves the verdict to
// the others, and alone it is unknown.
func TestNotApplicableIsNeverAPass(t *testing.T) {
	na := Result{Checker: "a", Valid: Unknown, NotApplicable: "nothing"}
	ok := Result{Checker: "b", Valid: True}
	bad := Result{Checker: "c", Valid: False}
	for _, c := range []struct {
		rs   []Result
		want Valid
	}{
		{nil, Unknown},
		{[]Result{na}, Unknown},
		{[]Result{na, ok}, True},
		{[]Result{na, bad, ok}, False},
	} {
		if got := Verdict(c.rs); got != c.want {
			t.Errorf("%+v: %v, want %v", c.rs, got, c.want)
		}
	}
}

// TestLinearizableJudgesNothingOfAnotherWorkload: an inventory history has no register op, and
// linearizable says so instead of passing it.
func TestLinearizableJudgesNothingOfAnotherWorkload(t *testing.T) {
	ops := handWritten(t, `
		0 invoke buy s0 1 n1
		0 ok buy s0 "n1-1" n1
		1 invoke read-orders s0 null n1
		1 ok read-orders s0 [] n1`)
	r := Run(context.Background(), Linearizable{}, in(ops))
	if r.NotApplicable == "" || r.Valid == True {
		t.Fatalf("judged an inventory history: %s", r)
	}
	if s := Compose(context.Background(), in(ops), Linearizable{}); s.Valid != Unknown {
		t.Fatalf("alone, a checker that judged nothing made the verdict %s", s.Valid)
	}
}

// TestCartWithoutTheFinalMarker: the last successful read of each cart at each leader is final
// when nothing marks final reads, and a read speaks only of writes acknowledged before it began.
func TestCartWithoutTheFinalMarker(t *testing.T) {
	cases := []struct {
		name, history string
		want          Valid
		kind          string
	}{
		{"an acknowledged add missing at the end", `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke read c0 null n1
			1 ok read c0 ["x"] n1
			2 invoke read c0 null n2
			2 ok read c0 [] n2`, False, "lost-add"},
		{"every leader shows it", `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke read c0 null n1
			1 ok read c0 ["x"] n1
			2 invoke read c0 null n2
			2 ok read c0 ["x"] n2`, True, ""},
		{"a last read taken before the add was acknowledged", `
			2 invoke read c0 null n2
			2 ok read c0 [] n2
			0 invoke add c0 "x" n1
			0 ok add c0 - n1
			1 invoke read c0 null n1
			1 ok read c0 ["x"] n1`, True, ""},
		{"no successful read at all", `
			0 invoke add c0 "x" n1
			0 ok add c0 - n1`, Unknown, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), CartChecker{}, in(handWritten(t, c.history)))
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.kind != "" && (len(r.Anomalies) != 1 || r.Anomalies[0].Kind != c.kind || !r.Anomalies[0].Definite) {
				t.Fatalf("anomalies %+v, want one definite %s", r.Anomalies, c.kind)
			}
		})
	}
	if r := Run(context.Background(), CartChecker{}, in(handWritten(t, `
		0 invoke write r0 1 n1
		0 ok write r0 1 n1`))); r.NotApplicable == "" {
		t.Fatalf("a register history judged as carts: %s", r)
	}
}

// TestInventoryWithoutTheFinalMarker: the last successful read-stock and read-orders of each SKU
// at each leader are final when nothing marks them.
func TestInventoryWithoutTheFinalMarker(t *testing.T) {
	ops := handWritten(t, `
		0 invoke restock s0 2 n1
		0 ok restock s0 - n1
		1 invoke buy s0 1 n1 a
		1 info buy s0 - n1 a
		2 invoke buy s0 1 n2 a
		2 ok buy s0 "n2-1" n2 a
		3 invoke read-orders s0 null n1
		3 ok read-orders s0 [{"order":"n1-1","sku":"s0","qty":1,"req":"a","node":"n1"},{"order":"n2-1","sku":"s0","qty":1,"req":"a","node":"n2"}] n1
		4 invoke read-orders s0 null n2
		4 ok read-orders s0 [{"order":"n2-1","sku":"s0","qty":1,"req":"a","node":"n2"},{"order":"n1-1","sku":"s0","qty":1,"req":"a","node":"n1"}] n2
		3 invoke read-stock s0 null n1
		3 ok read-stock s0 0 n1
		4 invoke read-stock s0 null n2
		4 ok read-stock s0 0 n2`)
	s := Compose(context.Background(), in(ops), Dedup{}, Oversell{}, Convergence{}, Linearizable{})
	got := map[string]Result{}
	for _, r := range s.Results {
		got[r.Checker] = r
	}
	if d := got[DedupName]; d.Valid != False || d.Anomalies[0].Kind != "duplicate-order" || d.Stats["final_rule"] != FinalByLast {
		t.Fatalf("dedup: %s", d)
	}
	if o := got[OversellName]; o.Valid != True {
		t.Fatalf("oversell: two units restocked, two sold: %s", o)
	}
	if c := got[ConvergenceName]; c.Valid != True {
		t.Fatalf("convergence: %s", c)
	}
	if l := got[LinearizableName]; l.NotApplicable == "" {
		t.Fatalf("linearizable judged a sale: %s", l)
	}
	if s.Valid != False {
		t.Fatalf("verdict %s", s.Valid)
	}
	if r := Run(context.Background(), Dedup{}, in(handWritten(t, "0 invoke read r0 null n1\n0 ok read r0 1 n1"))); r.NotApplicable == "" {
		t.Fatalf("dedup judged a register history: %s", r)
	}
}

// TestConvergenceNamesItsCause: final reads that carry the version each leader holds let a
// divergence be put down to a tie of timestamps or to a skewed clock; without versions, or
// with versions that show neither, no cause is named.
func TestConvergenceNamesItsCause(t *testing.T) {
	cases := []struct {
		name, history string
		cause, why    string
	}{
		{"two origins with one timestamp: a tie", `
			0 invoke write r0 1 n1
			0 ok write r0 - n1 meta={"ts":1000,"origin":"n1"}
			1 invoke write r0 2 n2
			1 ok write r0 - n2 meta={"ts":1000,"origin":"n2"}
			2 invoke read r0 null n1
			2 ok read r0 2 n1 meta={"ts":1000,"origin":"n2"}
			3 invoke read r0 null n2
			3 ok read r0 1 n2 meta={"ts":1000,"origin":"n1"}`, CauseTimestampTie, "n1 holds n2's version and n2 holds n1's, both stamped 1970-01-01T00:00:00.000001Z"},
		{"a version written under a skewed clock", `
			-1 invoke clock-bump - {"node":"n3","offset_ns":-30000000000} -
			-1 info clock-bump - {"node":"n3","offset_ns":-30000000000} -
			0 invoke write r0 1 n1
			0 ok write r0 - n1 meta={"ts":5000,"origin":"n1"}
			1 invoke write r0 3 n3
			1 ok write r0 - n3 meta={"ts":2000,"origin":"n3"}
			-1 invoke clock-reset - {"node":"n3","offset_ns":-30000000000} -
			-1 info clock-reset - {"node":"n3","offset_ns":-30000000000} -
			2 invoke read r0 null n1
			2 ok read r0 1 n1 meta={"ts":5000,"origin":"n1"}
			3 invoke read r0 null n3
			3 ok read r0 3 n3 meta={"ts":2000,"origin":"n3"}`, CauseClockSkew, "written at n3 under clock-bump"},
		{"the same divergence with the skew over before the write: no cause", `
			-1 invoke clock-bump - {"node":"n3","offset_ns":-30000000000} -
			-1 info clock-bump - {"node":"n3","offset_ns":-30000000000} -
			-1 invoke clock-reset - {"node":"n3","offset_ns":-30000000000} -
			-1 info clock-reset - {"node":"n3","offset_ns":-30000000000} -
			0 invoke write r0 1 n1
			0 ok write r0 - n1 meta={"ts":5000,"origin":"n1"}
			1 invoke write r0 3 n3
			1 ok write r0 - n3 meta={"ts":2000,"origin":"n3"}
			2 invoke read r0 null n1
			2 ok read r0 1 n1 meta={"ts":5000,"origin":"n1"}
			3 invoke read r0 null n3
			3 ok read r0 3 n3 meta={"ts":2000,"origin":"n3"}`, "", ""},
		{"no versions: no cause", `
			2 invoke read r0 null n1
			2 ok read r0 2 n1
			3 invoke read r0 null n2
			3 ok read r0 1 n2`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Convergence{}, in(handWritten(t, c.history)))
			if r.Valid != False || len(r.Anomalies) != 1 {
				t.Fatalf("valid %v with %d anomalies: %s", r.Valid, len(r.Anomalies), r)
			}
			a := r.Anomalies[0]
			if a.Cause != c.cause || !strings.Contains(a.Description, c.why) {
				t.Fatalf("cause %q (%s), want %q with %q", a.Cause, a.Description, c.cause, c.why)
			}
		})
	}
}
