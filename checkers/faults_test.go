package checkers

import (
	"testing"

	"crossfire/history"
	_ "crossfire/nemesis" // the nemesis catalog registers how histories name faults
)

// TestWindowsOfAToolsOwnFaults: a history written by another tool names its faults its own way;
// once the tool registers them, its windows open and close like crossfire's.
func TestWindowsOfAToolsOwnFaults(t *testing.T) {
	h := []history.Op{
		{Index: 0, Time: 0, Process: -1, Type: history.Invoke, F: "start-partition"},
		{Index: 1, Time: 5, Process: -1, Type: history.Info, F: "start-partition"},
		{Index: 2, Time: 30, Process: -1, Type: history.Invoke, F: "stop-partition"},
		{Index: 3, Time: 40, Process: -1, Type: history.Info, F: "stop-partition"},
		{Index: 4, Time: 90, Process: 0, Type: history.Invoke, F: "read"},
	}
	if ws := Windows(h); len(ws) != 2 || ws[0].End != 90 {
		t.Fatalf("unregistered faults: each is a window to the end of the history, got %+v", ws)
	}
	history.RegisterFaults(history.FaultKind{Faults: []string{"start-partition"}, Undo: "stop-partition"})
	ws := Windows(h)
	if len(ws) != 1 || ws[0].F != "start-partition" || ws[0].End != 40 || ws[0].EndIndex != 3 {
		t.Fatalf("registered faults: one window closed by its undo, got %+v", ws)
	}
}
