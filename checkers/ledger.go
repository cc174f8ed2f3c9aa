package checkers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// A stock ledger is what a store may say of a stock row beside its units (HISTORY.md: a
// read-stock's meta.ledger): each sale and restock the row holds, with the leader that made it
// and its request. A purchase is one transaction (the unit taken, the order row inserted), and
// the ledger lets the oversell checker see each half at each leader: a leader whose final order
// rows hold a sale its stock does not show taken, or whose stock shows a sale taken with no order
// row for it, holds that purchase half-applied. It also names an acknowledged restock that a
// leader's stock lost, and a row whose units are not what its ledger comes to (a change of the
// units written over by a stale read-modify-write, or a torn row).

// ledgerEntry is one change a stock row holds.
type ledgerEntry struct {
	Node  string `json:"node"`
	Req   string `json:"req"`
	Units int64  `json:"units"`
}

// ledgerRead is a leader's final read-stock of a SKU that carried a ledger, and where it was
// taken that leader's final read-orders of the SKU (its pick, in finish's picks).
type ledgerRead struct {
	sku, node string
	index     int64 // the read-stock's completion
	units     int64
	entries   []ledgerEntry
	orders    int // the pick of the leader's final read-orders; -1 when none answered
}

// okRestock is an acknowledged restock that named itself (req), for the ledgers to hold.
type okRestock struct {
	sku, req, node string
	units          int64
	index          int64 // its completion
	invoke, end    int64 // times
}

// parseLedger reads meta.ledger from a read-stock's meta; ok is false when there is none.
func parseLedger(meta json.RawMessage) (entries []ledgerEntry, ok bool, err error) {
	if len(meta) == 0 || !bytes.Contains(meta, []byte(`"ledger"`)) {
		return nil, false, nil
	}
	var m struct {
		Ledger *[]ledgerEntry `json:"ledger"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, false, err
	}
	if m.Ledger == nil {
		return nil, false, nil
	}
	return *m.Ledger, true, nil
}

// saleKey is a sale as a ledger and an order row both name it: the leader that took it and the
// buyer's request.
type saleKey struct{ node, req string }

// ledgerAnomalies compares each final ledger with its row's units, the leader's final order
// rows (saleFacts.pickRows, as finish kept them) and the acknowledged restocks.
func (s *saleFacts) ledgerAnomalies(windows []Window) []Anomaly {
	var out []Anomaly
	restocks := map[string][]okRestock{}
	for _, r := range s.okRestocks {
		restocks[r.sku] = append(restocks[r.sku], r)
	}
	for _, l := range s.ledgers {
		var sum int64
		for _, e := range l.entries {
			sum += e.Units
		}
		read := []int64{l.index}
		if sum != l.units {
			out = append(out, Anomaly{Kind: "ledger-mismatch", Key: l.sku, Ops: read, Nodes: []string{l.node}, Definite: true,
				Description: fmt.Sprintf("%s's stock row of %s holds %d units, but the %d sales and restocks its ledger holds come to %d: "+
					"a change of the units was written over (a read-modify-write from a stale read), or the row was torn",
					l.node, l.sku, l.units, len(l.entries), sum)})
		}
		// Restocks: every acknowledged one must be in every leader's final ledger.
		have := map[string]bool{}
		for _, e := range l.entries {
			if e.Units > 0 {
				have[e.Req] = true
			}
		}
		var lost []okRestock
		var lostUnits int64
		for _, r := range restocks[l.sku] {
			if !have[r.req] {
				lost = append(lost, r)
				lostUnits += r.units
			}
		}
		if len(lost) > 0 {
			a := Anomaly{Kind: "lost-restock", Key: l.sku, Ops: read, Nodes: []string{l.node}, Definite: true,
				Nemesis: During(windows, lost[0].invoke, lost[0].end)}
			var names []string
			for _, r := range lost[:min(len(lost), 5)] {
				names = append(names, fmt.Sprintf("%s (%d units, acknowledged by %s at op %d)", r.req, r.units, r.node, r.index))
				a.Ops = append(a.Ops, r.index)
				a.Nodes = addUnique(a.Nodes, r.node)
			}
			a.Description = fmt.Sprintf("%s's final stock of %s does not hold %d acknowledged restock(s), %d units: %s", l.node, l.sku, len(lost), lostUnits,
				strings.Join(names, ", "))
			if len(lost) > 5 {
				a.Description += fmt.Sprintf(" and %d more", len(lost)-5)
			}
			sort.Strings(a.Nodes)
			out = append(out, a)
		}
		if l.orders < 0 {
			continue // no order rows to hold the sales against
		}
		out = append(out, s.halfApplied(l, windows)...)
	}
	return out
}

// halfApplied holds one leader's final ledger's sales against its final order rows: the units
// each sale (leader, request) took from the stock and the units its order rows hold.
func (s *saleFacts) halfApplied(l ledgerRead, windows []Window) []Anomaly {
	taken := map[saleKey]int64{}
	for _, e := range l.entries {
		if e.Units < 0 {
			taken[saleKey{e.Node, e.Req}] -= e.Units
		}
	}
	ordered := map[saleKey]int64{}
	rowOf := map[saleKey]string{}
	for _, r := range s.pickRows[l.orders] {
		k := saleKey{r.Node, r.Req}
		ordered[k] += r.Qty
		if _, seen := rowOf[k]; !seen {
			rowOf[k] = rowID{r.Node, r.Order}.String()
		}
	}
	var noUnit, noRow []saleKey
	for k, q := range ordered {
		if taken[k] < q {
			noUnit = append(noUnit, k)
		}
	}
	for k, q := range taken {
		if ordered[k] < q {
			noRow = append(noRow, k)
		}
	}
	var out []Anomaly
	for _, side := range []struct {
		keys []saleKey
		what string
	}{
		{noUnit, "holds order rows of %s whose units its stock never gave up (the sale's order row reached it, its stock change did not, or was written over)"},
		{noRow, "gave up units of %s for sales it holds no order row of (the sale's stock change reached it, its order row did not, or was written over)"},
	} {
		if len(side.keys) == 0 {
			continue
		}
		sort.Slice(side.keys, func(i, j int) bool {
			a, b := side.keys[i], side.keys[j]
			return a.node < b.node || a.node == b.node && a.req < b.req
		})
		a := Anomaly{Kind: "half-applied-sale", Key: l.sku, Ops: []int64{l.index, s.pickIndex[l.orders]}, Nodes: []string{l.node}, Definite: true}
		var names []string
		for _, k := range side.keys[:min(len(side.keys), 5)] {
			name := fmt.Sprintf("req %q taken at %s: %d unit(s) taken, %d in order rows", k.req, k.node, taken[k], ordered[k])
			if id, ok := rowOf[k]; ok {
				name += " (" + id + ")"
			}
			names = append(names, name)
			a.Nodes = addUnique(a.Nodes, k.node)
			if i, _ := s.reqs.find(k.req); i >= 0 {
				b := s.buyers.at(i)
				if len(a.Ops) < maxEvidence {
					a.Ops = append(a.Ops, firstOps(b.evidence())...)
				}
				if a.Nemesis == nil {
					a.Nemesis = During(windows, b.first, b.last)
				}
			}
		}
		a.Description = l.node + " " + fmt.Sprintf(side.what, l.sku) + ": " + strings.Join(names, "; ")
		if len(side.keys) > 5 {
			a.Description += fmt.Sprintf("; and %d more", len(side.keys)-5)
		}
		sort.Strings(a.Nodes)
		out = append(out, a)
	}
	return out
}
