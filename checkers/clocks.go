package checkers

import (
	"slices"

	"github.com/crossfire-dev/crossfire/history"
)

// clockSkews follows a history's clock faults (the nemesis ops its faults say skew a clock):
// which leader's clock was off, from when to when, so that a checker can tell which timestamps a
// skewed clock made. The zero value is ready.
type clockSkews struct {
	faults *history.Faults       // how the history names its faults
	skew   map[string][]skewSpan // node -> spans its clock was off
	open   map[string]int        // node -> index into skew of the span not yet ended
}

type skewSpan struct {
	start, end  int64
	description string
}

func (c *clockSkews) observe(op history.Op) {
	if !op.IsNemesis() {
		return
	}
	if c.open == nil {
		c.open, c.skew = map[string]int{}, map[string][]skewSpan{}
	}
	switch {
	case op.Type == history.Invoke && c.faults.SkewsClock(op.F):
		for _, node := range history.ClockNodes(op.Value) {
			c.open[node] = len(c.skew[node])
			c.skew[node] = append(c.skew[node], skewSpan{start: op.Time, end: -1, description: describe(op)})
		}
	case op.Type == history.Fail && c.faults.SkewsClock(op.F):
		// The skew could not be applied: no span.
		for _, node := range history.ClockNodes(op.Value) {
			if i, ok := c.open[node]; ok {
				c.skew[node] = append(c.skew[node][:i], c.skew[node][i+1:]...)
				delete(c.open, node)
			}
		}
	case op.Type != history.Invoke && c.faults.UndoesClock(op.F):
		nodes := history.ClockNodes(op.Value)
		for node, i := range c.open {
			if len(nodes) == 0 || slices.Contains(nodes, node) {
				c.skew[node][i].end = op.Time
				delete(c.open, node)
			}
		}
	}
}

// at describes the skew in force on node at time t, or "".
func (c *clockSkews) at(node string, t int64) string {
	for _, sp := range c.skew[node] {
		if sp.start <= t && (sp.end < 0 || t <= sp.end) {
			return sp.description
		}
	}
	return ""
}
