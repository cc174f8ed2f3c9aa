package checkers

import (
	"testing"

	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
)

// in is the input of a history crossfire recorded: its faults named as the nemesis catalog
// names them.
func in(ops []history.Op) Input { return Input{History: ops, Faults: nemesis.Faults()} }

// withRecords is in(ops) with the run's records.
func withRecords(ops []history.Op, r Records) Input {
	i := in(ops)
	i.Records = r
	return i
}

// TestWindowsOfAToolsOwnFaults: a history written by another tool names its faults its own way;
// once the tool says how, its windows open and close like crossfire's.
func TestWindowsOfAToolsOwnFaults(t *testing.T) {
	start, stop := "start-split", "stop-split"
	h := []history.Op{
		{Index: 0, Time: 0, Process: -1, Type: history.Invoke, F: start},
		{Index: 1, Time: 5, Process: -1, Type: history.Info, F: start},
		{Index: 2, Time: 30, Process: -1, Type: history.Invoke, F: stop},
		{Index: 3, Time: 40, Process: -1, Type: history.Info, F: stop},
		{Index: 4, Time: 90, Process: 0, Type: history.Invoke, F: "read"},
	}
	if ws := Windows(h, nemesis.Faults()); len(ws) != 2 || ws[0].End != 90 {
		t.Fatalf("faults of names crossfire does not know: each is a window to the end of the history, got %+v", ws)
	}
	ws := Windows(h, history.NewFaults(history.FaultKind{Faults: []string{start}, Undo: stop}))
	if len(ws) != 1 || ws[0].F != start || ws[0].End != 40 || ws[0].EndIndex != 3 {
		t.Fatalf("faults named as the tool says: one window closed by its undo, got %+v", ws)
	}
}
