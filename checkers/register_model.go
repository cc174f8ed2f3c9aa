package checkers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// The compare-and-set register: the pure model the linearizable checker searches with, apart
// from the search. A register holds compact JSON, initially null; read, write and cas are its
// operations (HISTORY.md).

// regInput is one register op's argument; values are compact JSON, one pointer per distinct
// value (valueInterner), so that the model compares and boxes pointers.
type regInput struct {
	F        string
	Key      string
	Value    *string // write
	Expected *string // cas
	New      *string // cas
	Index    int64   // the invoke's history index
	Node     string
	// Twin and Rank place an info op among its twins (twinGroups): the info ops of its key with
	// the same f and value, whose effects are interchangeable. Twin is the group's number within
	// the key, -1 for an op without twins; Rank is its place in the group by call time.
	Twin, Rank int32
}

// regOutput is its result; Unknown for an info op.
type regOutput struct {
	Value   *string // read
	Unknown bool
	Failed  bool  // a cas whose comparison failed
	Index   int64 // the completion's history index, -1 if the history ended first
}

func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	if bytes.IndexAny(raw, " \t\r\n") < 0 {
		return string(raw) // already compact, as every writer of the format makes it
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// nullValue is the register's value before any write: the one pointer to "null" that every
// valueInterner hands out.
var nullValue = func() *string { s := "null"; return &s }()

// valueInterner hands out one pointer per distinct value (by its compact JSON): a history reads
// the same values it wrote, over and over, and the model then compares and boxes pointers, which
// costs Porcupine's search neither a string comparison nor an allocation per step. A lookup by
// a byte slice allocates nothing.
type valueInterner struct {
	byRaw, byValue map[string]*string
}

func newValueInterner() *valueInterner {
	return &valueInterner{byRaw: map[string]*string{}, byValue: map[string]*string{"null": nullValue}}
}

func (in *valueInterner) of(raw json.RawMessage) *string {
	if v, ok := in.byRaw[string(raw)]; ok {
		return v
	}
	v := in.value(compact(raw))
	in.byRaw[string(raw)] = v
	return v
}

// value is the pointer for a compact value.
func (in *valueInterner) value(c string) *string {
	v, ok := in.byValue[c]
	if !ok {
		v = &c
		in.byValue[c] = v
	}
	return v
}

// casPair reads a cas value [expected, new].
func (in *valueInterner) casPair(raw json.RawMessage) (*string, *string, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return nil, nil, fmt.Errorf("cas value %s is not [expected, new]", raw)
	}
	return in.of(pair[0]), in.of(pair[1]), nil
}

// twinState is a register's state once an info op with twins has been linearized: the value,
// and how many of each group of twins have been (the first so many by call time).
type twinState struct {
	value *string
	used  []uint16 // by group; a group past the end has none used
}

// stateValue and stateUsed read a state: a value pointer alone (no twin used yet) or a
// *twinState.
func stateValue(state interface{}) *string {
	if t, ok := state.(*twinState); ok {
		return t.value
	}
	return state.(*string)
}

func stateUsed(state interface{}, group int32) uint16 {
	if t, ok := state.(*twinState); ok && int(group) < len(t.used) {
		return t.used[group]
	}
	return 0
}

// withValue is state with its value replaced, the twins used kept.
func withValue(state interface{}, v *string) interface{} {
	if t, ok := state.(*twinState); ok {
		if t.value == v {
			return t
		}
		return &twinState{value: v, used: t.used}
	}
	return v
}

// registerStep is one op's effect on a register's value: whether it is legal there, and the
// value after it.
func registerStep(st *string, in *regInput, out *regOutput) (bool, *string) {
	switch in.F {
	case "read":
		return out.Unknown || out.Value == st, st
	case "write":
		return true, in.Value
	case "cas":
		if out.Unknown {
			// Linearized here, an indeterminate cas swaps exactly when it can; where it
			// cannot, it is one that failed.
			if st == in.Expected {
				return true, in.New
			}
			return true, st
		}
		if out.Failed {
			return st != in.Expected, st
		}
		return st == in.Expected, in.New
	}
	return false, st
}

// CASRegister is the Porcupine model of one register holding compact JSON, initially null. Its
// states are the pointers a valueInterner hands out, and, once an info op with twins is
// linearized, a *twinState that also counts the twins used: twins are linearized in the order
// of their calls. That loses no linearization (an info op returns after everything, so of two
// twins used at two points the one called first can always take the first point), and it
// spares the search every order of them: without it, a history whose leader was killed with
// dozens of writes of a few values in flight keeps the search busy for minutes on each subset of
// them, most of all when it must prove the history illegal.
var CASRegister = porcupine.Model{
	Init: func() interface{} { return nullValue },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in, out := input.(*regInput), output.(*regOutput)
		if in.Twin < 0 {
			ok, v := registerStep(stateValue(state), in, out)
			return ok, withValue(state, v)
		}
		if stateUsed(state, in.Twin) != uint16(in.Rank) {
			return false, state // an earlier-called twin first
		}
		_, v := registerStep(stateValue(state), in, out) // an info write or cas is legal anywhere
		next := &twinState{value: v}
		if t, ok := state.(*twinState); ok {
			next.used = append(next.used, t.used...)
		}
		for len(next.used) <= int(in.Twin) {
			next.used = append(next.used, 0)
		}
		next.used[in.Twin]++
		return true, next
	},
	Equal: func(a, b interface{}) bool {
		if a == b {
			return true
		}
		ta, okA := a.(*twinState)
		tb, okB := b.(*twinState)
		return okA && okB && ta.value == tb.value && slices.Equal(ta.used, tb.used)
	},
	DescribeState: func(state interface{}) string { return *stateValue(state) },
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(*regInput), output.(*regOutput)
		var s string
		switch in.F {
		case "read":
			s = "read() → " + *out.Value
		case "write":
			s = "write(" + *in.Value + ")"
		case "cas":
			s = "cas(" + *in.Expected + ", " + *in.New + ")"
		}
		if out.Unknown {
			s += " ?"
		}
		if out.Failed {
			s += " failed"
		}
		if in.Node == "" {
			return fmt.Sprintf("%s [#%d]", s, in.Index)
		}
		return fmt.Sprintf("%s [#%d on %s]", s, in.Index, in.Node)
	},
}
