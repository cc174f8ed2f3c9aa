package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/crossfire-dev/crossfire/checkers/txn"
	"github.com/crossfire-dev/crossfire/history"
)

// IsolationName is the isolation checker's name.
const IsolationName = "isolation"

// Isolation judges transactions over many keys (HISTORY.md's txn op: the list-append and
// rw-register workloads, and Jepsen's :txn histories) against a consistency model. It infers the
// version order of each key from the values read (list-append: the longest list read, of which
// every other read must be a prefix; rw-register: the initial version first, and the orders the
// inference options allow), the dependencies between transactions (ww, wr, rw) and their process
// and real-time orders, then finds the cycles and classifies them (G0, G1c, G-single,
// G-nonadjacent, G2-item; -process or -realtime when an order edge is needed) beside the
// anomalies that need no cycle (G1a, G1b, dirty-update, internal, future-read,
// duplicate-elements, incompatible-order, garbage-read, lost-update, cyclic-versions). See
// package txn.
//
// The verdict is invalid only for an anomaly the model rules out; anomalies it allows are kept
// in the stats ("allowed"), and every model the history rules out is listed ("not"). Every
// anomaly is definite: a transaction of unknown outcome enters a cycle only through a write that
// a read shows, so it committed. Where the search for a cycle type the model forbids was cut
// short, or a key wrote one value twice (a read of it names no one write), and nothing forbidden
// was found, the verdict is unknown and says why.
type Isolation struct {
	// Model is the consistency model; "" is the test's (test.json's consistency_model), else
	// strict-serializable.
	Model string
	// Options are the rw-register inferences to make.
	Options txn.Options
}

// Name implements Checker.
func (Isolation) Name() string { return IsolationName }

// Check implements Checker.
func (c Isolation) Check(ctx context.Context, in Input) Result { return checkByStreaming(ctx, c, in) }

// Stream implements Streamer.
func (c Isolation) Stream(in Input) Stream {
	return &isolationStream{c: c, in: in, b: txn.NewBuilder(), w: windowTracker{faults: in.Faults}}
}

type isolationStream struct {
	c  Isolation
	in Input
	b  *txn.Builder
	w  windowTracker
}

func (s *isolationStream) Observe(op history.Op) {
	s.w.observe(op)
	s.b.Observe(op)
}

// maxExamples bounds the anomalies listed of one type; the stats count them all.
const maxExamples = 8

func (s *isolationStream) Result(ctx context.Context) Result {
	h, err := s.b.History()
	if err != nil {
		return Result{Valid: Unknown, Error: "the transactions cannot be read: " + err.Error()}
	}
	if len(h.Txns) == 0 {
		return notApplicable("no txn op (list-append or rw-register transactions) in the history")
	}
	name := s.c.Model
	if name == "" {
		name = testModel(s.in.Test)
	}
	model, err := txn.LookupModel(name)
	if err != nil {
		return Result{Valid: Unknown, Error: err.Error()}
	}
	a := txn.Analyze(ctx, h, s.c.Options)
	windows := s.w.windows()
	counts := map[string]int{}
	allowed := map[string]int{}
	var out []Anomaly
	var examples []string
	for _, an := range a.Anomalies {
		counts[an.Type]++
		if !model.RulesOut(an.Type) {
			if allowed[an.Type]++; allowed[an.Type] == 1 {
				examples = append(examples, an.Type+": "+an.Text)
			}
			continue
		}
		if counts[an.Type] > maxExamples {
			continue
		}
		out = append(out, isolationAnomaly(h, an, windows, model))
	}
	types := slices.Sorted(maps.Keys(counts))
	stats := map[string]any{
		"model":          model.Name,
		"workload":       a.Workload,
		"txns":           a.Txns,
		"committed":      a.Committed,
		"indeterminate":  a.Indeterminate,
		"failed":         a.Failed,
		"keys":           a.Keys,
		"edges":          a.Edges,
		"anomaly_types":  types,
		"anomaly_counts": counts,
		"not":            txn.Weakest(types),
		"also_not":       txn.RuledOut(types),
	}
	if len(a.Anomalies) == 0 {
		stats["anomaly_types"] = []string{}
		stats["not"] = []string{}
		stats["also_not"] = []string{}
	}
	if a.Components > 0 {
		stats["cyclic_components"] = a.Components
		stats["largest_component"] = a.LargestComponent
	}
	if len(allowed) > 0 {
		stats["allowed"] = allowed
		stats["allowed_examples"] = examples
	}
	r := Result{Valid: True, Anomalies: out, Stats: stats}
	if len(out) > 0 {
		r.Valid = False
		return r
	}
	if a.Committed == 0 {
		r.Valid = Unknown
		r.Error = fmt.Sprintf("none of the %d transactions committed, so no read shows anything", a.Txns)
		return r
	}
	var undecided []string
	for _, t := range a.Searched {
		if model.RulesOut(t) {
			undecided = append(undecided, t)
		}
	}
	if len(undecided) > 0 || a.Partial {
		r.Valid = Unknown
		r.Error = strings.Join(a.Unknown, "; ")
	}
	return r
}

// testModel is the consistency model test.json names, or the default.
func testModel(test json.RawMessage) string {
	var t struct {
		Model string `json:"consistency_model"`
	}
	if len(test) > 0 && json.Unmarshal(test, &t) == nil && t.Model != "" {
		return t.Model
	}
	return txn.DefaultModel
}

// isolationAnomaly turns one of the model's anomalies into the checker's.
func isolationAnomaly(h *txn.History, an txn.Anomaly, windows []Window, model txn.Model) Anomaly {
	out := Anomaly{Kind: an.Type, Key: an.Key, Definite: true}
	from, to := int64(-1), int64(-1)
	var lines []string
	for _, ti := range an.Txns {
		t := &h.Txns[ti]
		idx := t.Complete
		if idx < 0 {
			idx = t.Invoke
		}
		out.Ops = append(out.Ops, idx)
		if t.Node != "" && !slices.Contains(out.Nodes, t.Node) {
			out.Nodes = append(out.Nodes, t.Node)
		}
		if from < 0 || t.Start < from {
			from = t.Start
		}
		if t.End > to {
			to = t.End
		}
		lines = append(lines, txnLine(h, ti))
	}
	sort.Strings(out.Nodes)
	if to < from {
		to = from
	}
	out.Nemesis = During(windows, from, to)
	for _, st := range an.Steps {
		out.Cycle = append(out.Cycle, CycleStep{From: h.Txns[st.From].Invoke, To: h.Txns[st.To].Invoke, Kind: st.Kind.String(), Key: st.Key, Why: st.Why})
	}
	out.Description = fmt.Sprintf("%s; %s rules it out. The transactions: %s", an.Text, model.Name, strings.Join(lines, "; "))
	return out
}

// txnLine describes a transaction: its name, process, leader, time, outcome and micro-ops.
func txnLine(h *txn.History, ti int32) string {
	t := &h.Txns[ti]
	la := false
	for _, m := range t.Mops {
		la = la || m.Kind == txn.Append || m.List != nil
	}
	mops := make([]string, len(t.Mops))
	for i, m := range t.Mops {
		mops[i] = h.MopText(m, la)
	}
	node := ""
	if t.Node != "" {
		node = " at " + t.Node
	}
	return fmt.Sprintf("T%d (process %d%s, %s, %s) [%s]", t.Invoke, t.Process, node, atTime(t.Start), t.Status, strings.Join(mops, " "))
}

func atTime(ns int64) string {
	return fmt.Sprintf("%.3f s", float64(ns)/1e9)
}
