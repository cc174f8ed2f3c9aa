package checkers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
)

// TestCosts: latencies per leader from acknowledged ops only, and what share of the ops begun
// under a fault were acknowledged, against those begun with none; final reads left out.
func TestCosts(t *testing.T) {
	var h hist
	op := func(p int, node string, typ history.Type, took int64, final bool) {
		inv := history.Op{Process: p, Type: history.Invoke, F: "read", Key: "r0", Node: node}
		if final {
			inv.SetMeta("final", true)
		}
		h.add(inv)
		done := history.Op{Process: p, Type: typ, F: "read", Key: "r0", Node: node}
		done.Index, done.Time = int64(len(h.ops)), h.ops[len(h.ops)-1].Time+took
		h.ops = append(h.ops, done)
	}
	op(0, "n1", history.OK, 2, false)
	op(1, "n1", history.OK, 4, false)
	op(2, "n2", history.OK, 9, false)
	cut := history.Value(map[string]any{"cut": []string{"n1->n2"}})
	h.add(history.Op{Process: -1, Type: history.Invoke, F: "partition", Value: cut})
	h.add(history.Op{Process: -1, Type: history.Info, F: "partition", Value: cut})
	op(3, "n2", history.Fail, 1, false)
	op(4, "n1", history.OK, 6, false)
	op(5, "n2", history.Info, 1, false)
	h.add(history.Op{Process: -1, Type: history.Invoke, F: "heal"})
	h.add(history.Op{Process: -1, Type: history.Info, F: "heal"})
	op(6, "n1", history.OK, 1000, true) // a final read: not a cost of the design

	c := CostsOf(h.ops, nemesis.Faults())
	require.Len(t, c.Leaders, 2)
	assert.Equal(t, LeaderCosts{Node: "n1", OK: 3, P50NS: 4, P99NS: 6}, c.Leaders[0])
	assert.Equal(t, LeaderCosts{Node: "n2", OK: 1, P50NS: 9, P99NS: 9}, c.Leaders[1])
	assert.Equal(t, Availability{Ops: 3, OK: 1}, c.UnderFault)
	assert.Equal(t, Availability{Ops: 3, OK: 3}, c.Clear)
	assert.InDelta(t, 1.0/3, c.UnderFault.Fraction(), 1e-9)
	p50, p99 := c.Worst()
	assert.Equal(t, []int64{9, 9}, []int64{p50, p99})
	assert.Equal(t, -1.0, Availability{}.Fraction())
}
