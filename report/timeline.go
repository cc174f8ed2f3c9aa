package report

import (
	"errors"
	"io"
	"sort"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
)

// Outcome codes of an op in the page's data.
const (
	outcomeOK      = 0
	outcomeFail    = 1
	outcomeInfo    = 2
	outcomePending = 3 // no completion in the history (a run that was killed)
)

// timelineData is what the page's script draws, column by column (one entry per client op, in
// the order of their invokes) so that 100,000 ops stay a few megabytes.
type timelineData struct {
	End     int64        `json:"end"` // µs since the run's start of the last event
	Nodes   []string     `json:"nodes"`
	Lanes   []laneData   `json:"lanes"`   // in drawing order: grouped by leader, then by process
	Fs      []string     `json:"fs"`      // distinct op names
	Keys    []string     `json:"keys"`    // distinct keys
	Lane    []int32      `json:"lane"`    // the op's lane
	Start   []int64      `json:"start"`   // µs at invoke
	Stop    []int64      `json:"stop"`    // µs at completion (the history's end when pending)
	Outcome []int8       `json:"outcome"` // outcome code (not bytes: those would encode as base64)
	F       []int32      `json:"f"`       // index into Fs
	Key     []int32      `json:"key"`     // index into Keys
	Node    []int32      `json:"node"`    // index into Nodes
	Inv     []int64      `json:"inv"`     // history index of the invoke
	Cmp     []int64      `json:"cmp"`     // history index of the completion, -1 when pending
	Detail  [][5]string  `json:"detail"`  // argument, result, error, req, meta (clipped)
	Windows []windowData `json:"windows"`
}

// laneData is one lane: one process's ops at one leader. A client that retried at another leader
// has a lane under each leader it used, so every leader's lanes show all it served.
type laneData struct {
	Process int `json:"p"`
	Node    int `json:"n"` // index into Nodes
}

type windowData struct {
	F           string `json:"f"`
	Description string `json:"d"`
	Start       int64  `json:"s"` // µs
	End         int64  `json:"e"` // µs
}

type timeline struct {
	data      timelineData
	windows   []checkers.Window
	nOps      int
	truncated bool
}

// buildTimeline reads a history and pairs every client invoke with its completion.
func buildTimeline(r io.Reader) (*timeline, error) {
	hr := history.NewReader(r)
	d := timelineData{}
	fIdx, keyIdx, nodeIdx := map[string]int32{}, map[string]int32{}, map[string]int32{}
	intern := func(m map[string]int32, list *[]string, s string) int32 {
		if i, ok := m[s]; ok {
			return i
		}
		i := int32(len(*list))
		m[s] = i
		*list = append(*list, s)
		return i
	}
	type laneKey struct {
		process int
		node    int32
	}
	laneOf := map[laneKey]int32{}    // (process, leader) -> lane
	var laneNode []int32             // lane -> node index
	var laneProc []int               // lane -> process
	var pending history.Matcher[int] // each process's op awaiting its completion
	var faults []history.Op          // the nemesis's ops, for the windows
	var last int64
	for {
		op, err := hr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		last = op.Time
		if op.IsNemesis() {
			faults = append(faults, history.Op{Index: op.Index, Time: op.Time, Process: op.Process, Type: op.Type, F: op.F, Value: op.Value})
			continue
		}
		us := op.Time / 1000
		if op.Type == history.Invoke {
			node := intern(nodeIdx, &d.Nodes, op.Node)
			lane, ok := laneOf[laneKey{op.Process, node}]
			if !ok {
				lane = int32(len(laneProc))
				laneOf[laneKey{op.Process, node}] = lane
				laneProc = append(laneProc, op.Process)
				laneNode = append(laneNode, node)
			}
			pending.Invoke(op, len(d.Start))
			d.Lane = append(d.Lane, lane)
			d.Start = append(d.Start, us)
			d.Stop = append(d.Stop, -1)
			d.Outcome = append(d.Outcome, outcomePending)
			d.F = append(d.F, intern(fIdx, &d.Fs, op.F))
			d.Key = append(d.Key, intern(keyIdx, &d.Keys, op.Key))
			d.Node = append(d.Node, intern(nodeIdx, &d.Nodes, op.Node))
			d.Inv = append(d.Inv, op.Index)
			d.Cmp = append(d.Cmp, -1)
			d.Detail = append(d.Detail, [5]string{clip(compact(op.Value), maxDetail), "", "", clip(op.Req, maxDetail), clip(compact(op.Meta), maxDetail)})
			continue
		}
		i, ok := pending.Complete(op)
		if !ok {
			continue // a completion without its invoke: well-formed says so; nothing to draw
		}
		d.Stop[i] = us
		d.Cmp[i] = op.Index
		switch op.Type {
		case history.OK:
			d.Outcome[i] = outcomeOK
		case history.Fail:
			d.Outcome[i] = outcomeFail
		default:
			d.Outcome[i] = outcomeInfo
		}
		det := &d.Detail[i]
		det[1] = clip(compact(op.Value), maxDetail)
		det[2] = clip(op.Error, maxDetail)
		if m := compact(op.Meta); m != "" {
			det[4] = clip(m, maxDetail)
		}
	}
	d.End = last / 1000
	for i := range d.Stop {
		if d.Stop[i] < 0 {
			d.Stop[i] = d.End
		}
	}

	// Leaders in name order.
	byName := make([]int32, len(d.Nodes))
	for i := range byName {
		byName[i] = int32(i)
	}
	sort.Slice(byName, func(a, b int) bool { return d.Nodes[byName[a]] < d.Nodes[byName[b]] })
	renamed := make([]int32, len(byName))
	sorted := make([]string, len(byName))
	for pos, old := range byName {
		renamed[old] = int32(pos)
		sorted[pos] = d.Nodes[old]
	}
	d.Nodes = sorted
	for i, n := range d.Node {
		d.Node[i] = renamed[n]
	}
	for i, n := range laneNode {
		laneNode[i] = renamed[n]
	}

	// Lanes in drawing order: by leader, then by process; ops point at the new order.
	order := make([]int32, len(laneProc))
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool {
		na, nb := d.Nodes[laneNode[order[a]]], d.Nodes[laneNode[order[b]]]
		if na != nb {
			return na < nb
		}
		return laneProc[order[a]] < laneProc[order[b]]
	})
	newPos := make([]int32, len(order))
	for pos, old := range order {
		newPos[old] = int32(pos)
		d.Lanes = append(d.Lanes, laneData{Process: laneProc[old], Node: int(laneNode[old])})
	}
	for i, l := range d.Lane {
		d.Lane[i] = newPos[l]
	}

	ws := checkers.Windows(faults, nemesis.Faults())
	for _, w := range ws {
		end := w.End
		if w.EndIndex < 0 || end > last {
			end = last
		}
		d.Windows = append(d.Windows, windowData{F: w.F, Description: w.Description, Start: w.Start / 1000, End: end / 1000})
	}
	d.emptyNotNull()
	return &timeline{data: d, windows: ws, nOps: len(d.Start), truncated: hr.Truncated()}, nil
}

// emptyNotNull makes every list that holds nothing an empty list, which JSON writes as [] and
// the page can walk, rather than null: a run with no fault has no windows, an empty history no
// ops and no lanes.
func (d *timelineData) emptyNotNull() {
	orEmpty(&d.Nodes)
	orEmpty(&d.Lanes)
	orEmpty(&d.Fs)
	orEmpty(&d.Keys)
	orEmpty(&d.Lane)
	orEmpty(&d.Start)
	orEmpty(&d.Stop)
	orEmpty(&d.Outcome)
	orEmpty(&d.F)
	orEmpty(&d.Key)
	orEmpty(&d.Node)
	orEmpty(&d.Inv)
	orEmpty(&d.Cmp)
	orEmpty(&d.Detail)
	orEmpty(&d.Windows)
}

func orEmpty[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}
