package history

import (
	"encoding/json"
	"slices"
	"sync"
)

// FaultKind is how a history names one kind of fault: the fs of the nemesis ops that start it
// and the f of the op that undoes it (partition and heal; clock-bump, clock-strobe, clock-drift
// and clock-reset). Clock says that the fault skews the clock of the node its value names
// ({"node": …}, or several: {"nodes": […]}), so that checkers can tell which timestamps a skewed
// clock made.
type FaultKind struct {
	Faults []string
	Undo   string
	Clock  bool
}

var faultKinds struct {
	sync.RWMutex
	byFault map[string]FaultKind
	byUndo  map[string][]string
}

// RegisterFaults tells every reader of histories how a kind of fault is named. The nemesis
// package registers its whole catalog; a tool that records faults of its own registers them
// the same way. Registering a name again replaces what it meant.
func RegisterFaults(k FaultKind) {
	faultKinds.Lock()
	defer faultKinds.Unlock()
	if faultKinds.byFault == nil {
		faultKinds.byFault, faultKinds.byUndo = map[string]FaultKind{}, map[string][]string{}
	}
	for _, f := range k.Faults {
		faultKinds.byFault[f] = k
		if !slices.Contains(faultKinds.byUndo[k.Undo], f) {
			faultKinds.byUndo[k.Undo] = append(faultKinds.byUndo[k.Undo], f)
		}
	}
}

// Undoes returns the fault fs that a nemesis op named f undoes, and whether f undoes any.
func Undoes(f string) ([]string, bool) {
	faultKinds.RLock()
	defer faultKinds.RUnlock()
	fs, ok := faultKinds.byUndo[f]
	return fs, ok
}

// SkewsClock reports whether a nemesis op named f starts a clock fault.
func SkewsClock(f string) bool {
	faultKinds.RLock()
	defer faultKinds.RUnlock()
	return faultKinds.byFault[f].Clock
}

// ClockNodes are the nodes whose clocks a clock fault's value names: its "nodes", or else its
// "node"; none when it names neither (a reset of every clock).
func ClockNodes(value json.RawMessage) []string {
	var v struct {
		Node  string   `json:"node"`
		Nodes []string `json:"nodes"`
	}
	if json.Unmarshal(value, &v) != nil {
		return nil
	}
	if len(v.Nodes) > 0 {
		return v.Nodes
	}
	if v.Node != "" {
		return []string{v.Node}
	}
	return nil
}
