package checkers

import (
	"slices"
	"sort"

	"github.com/crossfire-dev/crossfire/history"
)

// Costs is what a design cost its clients in one run, from the history alone: how long
// acknowledged operations took at each leader, and how many of the operations begun while a
// fault was in force were acknowledged, against those begun while none was. It is no verdict:
// a table a team reads beside the anomalies ("multi-leader buys this latency, and costs these
// anomalies"). The final reads (meta.final) are left out: they run after healing.
type Costs struct {
	Leaders    []LeaderCosts `json:"leaders"`
	UnderFault Availability  `json:"under_fault"`
	Clear      Availability  `json:"clear"`
}

// LeaderCosts is the latency of the operations a leader acknowledged.
type LeaderCosts struct {
	Node  string `json:"node"`
	OK    int    `json:"ok"`
	P50NS int64  `json:"p50_ns"`
	P99NS int64  `json:"p99_ns"`
}

// Availability counts client operations begun in a span of the run, and those acknowledged.
type Availability struct {
	Ops int64 `json:"ops"`
	OK  int64 `json:"ok"`
}

// Fraction is the share acknowledged, or -1 when no operation was begun.
func (a Availability) Fraction() float64 {
	if a.Ops == 0 {
		return -1
	}
	return float64(a.OK) / float64(a.Ops)
}

// Worst is the highest p50 and the highest p99 of any leader: what the slowest region's clients
// see.
func (c Costs) Worst() (p50, p99 int64) {
	for _, l := range c.Leaders {
		p50, p99 = max(p50, l.P50NS), max(p99, l.P99NS)
	}
	return p50, p99
}

// CostMeter measures Costs op by op (Observe, then Costs): it keeps a latency per acknowledged
// op and a start time per client op, not the ops. The zero CostMeter is ready, and knows no
// fault kind (NewCostMeter does).
type CostMeter struct {
	p       history.Matcher[startedOp]
	w       windowTracker
	latency map[string][]int64
	started []startedOp
}

type startedOp struct {
	start int64
	final bool
	ok    bool
}

// NewCostMeter measures a history whose faults are named as faults says.
func NewCostMeter(faults *history.Faults) *CostMeter {
	return &CostMeter{w: windowTracker{faults: faults}}
}

// Observe takes the history's next op.
func (s *CostMeter) Observe(op history.Op) {
	s.w.observe(op)
	if op.IsNemesis() {
		return
	}
	st, ok := s.p.Observe(op, startedOp{start: op.Time, final: op.Type == history.Invoke && op.MetaBool("final")})
	if !ok || op.Type == history.Invoke || st.final {
		return
	}
	st.ok = op.Type == history.OK
	s.started = append(s.started, st)
	if st.ok && op.Node != "" {
		if s.latency == nil {
			s.latency = map[string][]int64{}
		}
		s.latency[op.Node] = append(s.latency[op.Node], op.Time-st.start)
	}
}

// Costs is what the ops observed so far cost.
func (s *CostMeter) Costs() Costs {
	for st := range s.p.Pending() {
		if !st.final {
			s.started = append(s.started, st) // never completed: not acknowledged
		}
	}
	var c Costs
	nodes := make([]string, 0, len(s.latency))
	for n := range s.latency {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		l := s.latency[n]
		slices.Sort(l)
		c.Leaders = append(c.Leaders, LeaderCosts{Node: n, OK: len(l), P50NS: quantile(l, 0.50), P99NS: quantile(l, 0.99)})
	}
	ws := s.w.windows()
	sort.Slice(s.started, func(i, j int) bool { return s.started[i].start < s.started[j].start })
	for _, st := range s.started {
		a := &c.Clear
		for _, w := range ws {
			if w.Start <= st.start && st.start <= w.End {
				a = &c.UnderFault
				break
			}
		}
		a.Ops++
		if st.ok {
			a.OK++
		}
	}
	return c
}

// quantile is the q-quantile of sorted values (nearest rank).
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// CostsOf measures a history's Costs, its faults named as faults says.
func CostsOf(ops []history.Op, faults *history.Faults) Costs {
	s := NewCostMeter(faults)
	for _, op := range ops {
		s.Observe(op)
	}
	return s.Costs()
}
