package checkers

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/history"
)

// stockRead records a final read-stock at node answering units, with meta.ledger set to ledger
// (raw JSON) unless it is empty.
func (h *hist) stockRead(node string, units, ledger string) {
	p := h.proc
	h.proc++
	inv := history.Op{Process: p, Type: history.Invoke, F: "read-stock", Key: "s1", Node: node, Value: history.Null}
	inv.SetMeta("final", true)
	h.add(inv)
	done := history.Op{Process: p, Type: history.OK, F: "read-stock", Key: "s1", Node: node, Value: history.Value(rawJSON(units))}
	if ledger != "" {
		done.SetMeta("ledger", rawJSON(ledger))
	}
	h.add(done)
}

func entry(node, req, units string) string {
	return `{"node":"` + node + `","req":"` + req + `","units":` + units + `}`
}

func ledgerOf(entries ...string) string { return "[" + strings.Join(entries, ",") + "]" }

// ledgerSale is a flash sale of one SKU: restock r1 of 2 units at n1, buyer a told ok at n1
// (order n1-1), buyer b told ok at n2 (order n2-1), then each leader's final stock with its
// ledger and its order rows.
func ledgerSale(extra func(h *hist), n1Stock, n1Ledger, n1Rows, n2Stock, n2Ledger, n2Rows string) []history.Op {
	h := &hist{}
	h.do("n1", "restock", "s1", "r1", "2", history.OK, "", false)
	h.do("n1", "buy", "s1", "a", "1", history.OK, `"n1-1"`, false)
	h.do("n2", "buy", "s1", "b", "1", history.OK, `"n2-1"`, false)
	if extra != nil {
		extra(h)
	}
	h.stockRead("n1", n1Stock, n1Ledger)
	h.do("n1", "read-orders", "s1", "", "null", history.OK, n1Rows, true)
	h.stockRead("n2", n2Stock, n2Ledger)
	h.do("n2", "read-orders", "s1", "", "null", history.OK, n2Rows, true)
	return h.ops
}

func TestLedgerNamesHalfAppliedPurchases(t *testing.T) {
	full := ledgerOf(entry("n1", "r1", "2"), entry("n1", "a", "-1"), entry("n2", "b", "-1"))
	rows := "[" + ord("n1-1", "a", "n1") + "," + ord("n2-1", "b", "n2") + "]"
	cases := []struct {
		name    string
		ops     []history.Op
		want    Valid
		kinds   []string
		mention string
	}{
		{"every purchase whole at every leader", ledgerSale(nil, "0", full, rows, "0", full, rows), True, nil, ""},
		{
			// n2's stock lost a's decrement (its row was written over by one that never held it)
			// while a's order row reached n2: the stocks disagree, so the count alone says nothing.
			"an order row whose unit the stock never gave up",
			ledgerSale(nil, "0", full, rows, "1", ledgerOf(entry("n1", "r1", "2"), entry("n2", "b", "-1")), rows),
			False, []string{"half-applied-sale"}, `n2 holds order rows of s1 whose units its stock never gave up`,
		},
		{
			// c's purchase took a unit at n1 and its buyer never heard back; its order row is
			// nowhere.
			"a unit given up with no order row",
			ledgerSale(func(h *hist) {
				h.do("n1", "restock", "s1", "r2", "1", history.OK, "", false)
				h.do("n1", "buy", "s1", "c", "1", history.Info, "", false)
			},
				"0", ledgerOf(entry("n1", "r1", "2"), entry("n1", "a", "-1"), entry("n2", "b", "-1"), entry("n1", "r2", "1"), entry("n1", "c", "-1")), rows,
				"0", ledgerOf(entry("n1", "r1", "2"), entry("n1", "a", "-1"), entry("n2", "b", "-1"), entry("n1", "r2", "1"), entry("n1", "c", "-1")), rows),
			// The count sees a unit gone with no order row (stock-mismatch); the ledgers say whose.
			False, []string{"stock-mismatch", "half-applied-sale", "half-applied-sale"}, `req "c" taken at n1: 1 unit(s) taken, 0 in order rows`,
		},
		{
			"an acknowledged restock one leader's stock lost",
			ledgerSale(func(h *hist) { h.do("n2", "restock", "s1", "r2", "3", history.OK, "", false) },
				"0", full, rows, "3", ledgerOf(entry("n1", "r1", "2"), entry("n1", "a", "-1"), entry("n2", "b", "-1"), entry("n2", "r2", "3")), rows),
			False, []string{"lost-restock"}, `n1's final stock of s1 does not hold 1 acknowledged restock(s), 3 units: r2`,
		},
		{
			"units that are not what the ledger comes to",
			ledgerSale(nil, "1", full, rows, "1", full, rows),
			False, []string{"stock-mismatch", "ledger-mismatch", "ledger-mismatch"}, `holds 1 units, but the 3 sales and restocks its ledger holds come to 0`,
		},
		{
			"a restock of unknown outcome need not be anywhere",
			ledgerSale(func(h *hist) { h.do("n2", "restock", "s1", "r2", "3", history.Info, "", false) }, "0", full, rows, "0", full, rows),
			True, nil, "",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), Oversell{}, in(c.ops))
			require.Equal(t, c.want, r.Valid, "%+v", r)
			var kinds []string
			var text string
			for _, a := range r.Anomalies {
				kinds = append(kinds, a.Kind)
				text += a.Description + "\n"
				assert.True(t, a.Definite, a.Description)
			}
			assert.Equal(t, c.kinds, kinds)
			assert.Contains(t, text, c.mention)
			assert.Equal(t, 2, r.Stats["ledgers"])
		})
	}
}

func TestLedgerSeesPerLeaderWhatTheCountMisses(t *testing.T) {
	// Both leaders' stock is 0 and both hold both rows: the count agrees (2 restocked, 2 sold).
	// But n2's ledger shows b's unit taken twice and a's never: a's decrement was written over
	// there by a second copy of b's. Only the ledger names it.
	full := ledgerOf(entry("n1", "r1", "2"), entry("n1", "a", "-1"), entry("n2", "b", "-1"))
	odd := ledgerOf(entry("n1", "r1", "2"), entry("n2", "b", "-1"), entry("n2", "b", "-1"))
	rows := "[" + ord("n1-1", "a", "n1") + "," + ord("n2-1", "b", "n2") + "]"
	r := Run(context.Background(), Oversell{}, in(ledgerSale(nil, "0", full, rows, "0", odd, rows)))
	require.Equal(t, False, r.Valid)
	var kinds []string
	for _, a := range r.Anomalies {
		kinds = append(kinds, a.Kind)
		assert.Contains(t, a.Nodes, "n2", a.Description)
		assert.True(t, strings.HasPrefix(a.Description, "n2 "), "n1's stock and rows agree: %s", a.Description)
	}
	assert.Equal(t, []string{"half-applied-sale", "half-applied-sale"}, kinds)
	without := Run(context.Background(), Oversell{}, in(ledgerSale(nil, "0", "", rows, "0", "", rows)))
	assert.Equal(t, True, without.Valid, "%+v", without)
	assert.Nil(t, without.Stats["ledgers"])
}

func TestLedgerThatCannotBeReadIsUnknown(t *testing.T) {
	rows := "[" + ord("n1-1", "a", "n1") + "," + ord("n2-1", "b", "n2") + "]"
	r := Run(context.Background(), Oversell{}, in(ledgerSale(nil, "0", `{"not":"a list"}`, rows, "0", "", rows)))
	assert.Equal(t, Unknown, r.Valid, "%+v", r)
	assert.Contains(t, r.Error, "meta.ledger is not a list of changes")
}

func TestLedgerWithoutOrderRowsJudgesRestocksAlone(t *testing.T) {
	// n2 never answered its final read-orders: its ledger is held against the restocks only.
	h := &hist{}
	h.do("n1", "restock", "s1", "r1", "2", history.OK, "", false)
	h.do("n2", "restock", "s1", "r2", "1", history.OK, "", false)
	h.stockRead("n1", "3", ledgerOf(entry("n1", "r1", "2"), entry("n2", "r2", "1")))
	h.do("n1", "read-orders", "s1", "", "null", history.OK, "[]", true)
	h.stockRead("n2", "2", ledgerOf(entry("n1", "r1", "2")))
	h.do("n2", "read-orders", "s1", "", "null", history.Info, "", true)
	r := Run(context.Background(), Oversell{}, in(h.ops))
	require.Equal(t, False, r.Valid, "%+v", r)
	require.Len(t, r.Anomalies, 1)
	assert.Equal(t, "lost-restock", r.Anomalies[0].Kind)
	assert.Equal(t, []string{"n2"}, r.Anomalies[0].Nodes)
}
