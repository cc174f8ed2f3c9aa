package checkers

import (
	"context"
	"testing"
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
	r := Run(context.Background(), c.checker, handWritten(t, c.history))
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
		{name: "a leader's final read-orders failed", checker: Oversell{}, history: soldAtN3 + `fail read-orders s0 - n3`,
			want: Unknown, kind: "lost-sale", definite: false},
		{name: "every leader answered and none shows the sale", checker: Oversell{}, history: soldAtN3 + `ok read-orders s0 [] n3`,
			want: False, kind: "lost-sale", definite: true},
	} {
		t.Run(c.name, c.run)
	}
}
