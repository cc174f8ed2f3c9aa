package checkers

import (
	"fmt"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/history"
	_ "github.com/crossfire-dev/crossfire/nemesis" // the nemesis catalog registers how histories name faults
)

// TestWindowsOfAToolsOwnFaults: a history written by another tool names its faults its own way;
// once the tool registers them, its windows open and close like crossfire's.
func TestWindowsOfAToolsOwnFaults(t *testing.T) {
	// Names of their own for each run of the test: the registry outlives it (go test -count).
	start, stop := fmt.Sprintf("start-split-%d", time.Now().UnixNano()), fmt.Sprintf("stop-split-%d", time.Now().UnixNano())
	h := []history.Op{
		{Index: 0, Time: 0, Process: -1, Type: history.Invoke, F: start},
		{Index: 1, Time: 5, Process: -1, Type: history.Info, F: start},
		{Index: 2, Time: 30, Process: -1, Type: history.Invoke, F: stop},
		{Index: 3, Time: 40, Process: -1, Type: history.Info, F: stop},
		{Index: 4, Time: 90, Process: 0, Type: history.Invoke, F: "read"},
	}
	if ws := Windows(h); len(ws) != 2 || ws[0].End != 90 {
		t.Fatalf("unregistered faults: each is a window to the end of the history, got %+v", ws)
	}
	history.RegisterFaults(history.FaultKind{Faults: []string{start}, Undo: stop})
	ws := Windows(h)
	if len(ws) != 1 || ws[0].F != start || ws[0].End != 40 || ws[0].EndIndex != 3 {
		t.Fatalf("registered faults: one window closed by its undo, got %+v", ws)
	}
}
