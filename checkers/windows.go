package checkers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/crossfire-dev/crossfire/history"
)

// Window is a span of the run during which a fault was in force, from the nemesis op that began
// applying it to the completion of the op that undid it (or the end of the history).
type Window struct {
	F           string `json:"f"`
	Description string `json:"description"`
	Start       int64  `json:"start"` // ns since the run's start
	End         int64  `json:"end"`
	StartIndex  int64  `json:"start_index"`
	EndIndex    int64  `json:"end_index"` // -1 when the fault was never undone
}

// Windows finds the nemesis windows of a history. Which op undoes which fault is what faults
// says (the nemesis catalog's, for a history crossfire recorded), not a list of its own. A fault starts at its invoke; an undoing op (heal, restart, resume, clock-reset …)
// closes, at its completion, the open windows it undoes whose fault had the same value (the
// runner records an undo with its fault's value), or every one of them when it has no value
// (the heal at the end of a run). A nemesis op that no registered kind undoes is a window from
// its invoke to the end of the history. A fault whose op failed (it could not be applied) opens
// no window.
func Windows(ops []history.Op, faults *history.Faults) []Window {
	w := windowTracker{faults: faults}
	for _, op := range ops {
		w.observe(op)
	}
	return w.windows()
}

// windowTracker finds windows op by op; it holds the windows, not the ops.
type windowTracker struct {
	faults *history.Faults // how the history names its faults
	out    []Window
	values [][]byte         // the value of each window's fault, compact
	open   map[string][]int // fault f -> indices into out
	failed map[int]bool     // windows whose fault could not be applied
	last   int              // the window of the latest fault invoked
	end    int64
}

func (w *windowTracker) observe(op history.Op) {
	if op.Time > w.end {
		w.end = op.Time
	}
	if !op.IsNemesis() {
		return
	}
	if w.open == nil {
		w.open = map[string][]int{}
	}
	if op.Type == history.Invoke {
		if _, isUndo := w.faults.Undoes(op.F); isUndo {
			return
		}
		w.last = len(w.out)
		w.open[op.F] = append(w.open[op.F], len(w.out))
		w.out = append(w.out, Window{F: op.F, Description: describe(op), Start: op.Time, End: -1, StartIndex: op.Index, EndIndex: -1})
		w.values = append(w.values, compactValue(op.Value))
		return
	}
	fs, isUndo := w.faults.Undoes(op.F)
	if !isUndo {
		// The nemesis is one process: this completes the latest fault invoked.
		if op.Type == history.Fail && w.last < len(w.out) && w.out[w.last].F == op.F {
			if w.failed == nil {
				w.failed = map[int]bool{}
			}
			w.failed[w.last] = true
		}
		return
	}
	{
		v := compactValue(op.Value)
		for _, f := range fs {
			kept := w.open[f][:0]
			for _, i := range w.open[f] {
				if len(v) == 0 || bytes.Equal(v, w.values[i]) {
					w.out[i].End, w.out[i].EndIndex = op.Time, op.Index
				} else {
					kept = append(kept, i)
				}
			}
			w.open[f] = kept
		}
	}
}

// compactValue is a value's compact JSON, or nil for none and for null.
func compactValue(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

func (w *windowTracker) windows() []Window {
	out := make([]Window, 0, len(w.out))
	for i, win := range w.out {
		if w.failed[i] {
			continue
		}
		if win.End < 0 {
			win.End = w.end
		}
		out = append(out, win)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

func describe(op history.Op) string {
	if len(op.Value) == 0 || string(op.Value) == "null" {
		return op.F
	}
	return fmt.Sprintf("%s %s", op.F, op.Value)
}

// During describes the windows that overlap the span [from, to].
func During(ws []Window, from, to int64) []string {
	var out []string
	for _, w := range ws {
		if w.Start <= to && w.End >= from {
			out = append(out, w.Description)
		}
	}
	return out
}
