package history

import (
	"encoding/json"
	"slices"
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

// Faults is how a history names its faults: the kinds a reader is told of. Which nemesis op
// undoes which fault is not in a history's lines, so whoever hands a history to a reader hands
// it this too (crossfire's nemesis catalog gives its own: nemesis.Faults). A nil or zero Faults
// knows no kind: every nemesis op is then a fault of its own that nothing undoes.
type Faults struct {
	byFault map[string]FaultKind
	byUndo  map[string][]string
}

// NewFaults knows the given kinds; a name given twice means what it was given last.
func NewFaults(kinds ...FaultKind) *Faults {
	f := &Faults{byFault: map[string]FaultKind{}, byUndo: map[string][]string{}}
	for _, k := range kinds {
		for _, name := range k.Faults {
			f.byFault[name] = k
			if !slices.Contains(f.byUndo[k.Undo], name) {
				f.byUndo[k.Undo] = append(f.byUndo[k.Undo], name)
			}
		}
	}
	return f
}

// Undoes returns the fault fs that a nemesis op named name undoes, and whether it undoes any.
func (f *Faults) Undoes(name string) ([]string, bool) {
	if f == nil {
		return nil, false
	}
	fs, ok := f.byUndo[name]
	return fs, ok
}

// SkewsClock reports whether a nemesis op named name starts a clock fault.
func (f *Faults) SkewsClock(name string) bool {
	return f != nil && f.byFault[name].Clock
}

// UndoesClock reports whether a nemesis op named name undoes a clock fault.
func (f *Faults) UndoesClock(name string) bool {
	fs, ok := f.Undoes(name)
	return ok && slices.ContainsFunc(fs, f.SkewsClock)
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
