// Package history is crossfire's record of a test run: the Op type and its JSON Lines codec.
//
// A history is plain data, written in the v1 format that HISTORY.md specifies: one operation per
// line, in the order the events happened. Every client operation appears as an invoke followed,
// on the same process, by its completion (ok, fail or info); the nemesis records its faults the
// same way under process -1. The Writer appends ops without ever blocking a client on disk and
// makes the file durable at least every 200 ms, so an interrupted run still leaves a history
// that the Reader (streaming, line-numbered errors) and the checkers can judge offline.
//
// history imports only the standard library, so every other package may import it.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Type is the kind of a history event: the start of an operation or one of its three endings.
type Type string

// The four event types of HISTORY.md.
const (
	Invoke Type = "invoke" // the operation began
	OK     Type = "ok"     // it happened; Value holds the result
	Fail   Type = "fail"   // it certainly did not take effect
	Info   Type = "info"   // unknown: it may take effect at any later time, or never
)

// Valid reports whether t is one of the four types.
func (t Type) Valid() bool {
	return t == Invoke || t == OK || t == Fail || t == Info
}

// NemesisProcess is the process number of every nemesis operation.
const NemesisProcess = -1

// Op is one line of a history. The zero Value (nil) means the field is absent; JSON null is
// the raw message "null".
type Op struct {
	// Index is the position in the history, from 0.
	Index int64 `json:"index"`
	// Time is nanoseconds since the run's start, from a monotonic clock; it never decreases.
	Time int64 `json:"time"`
	// Process is the logical client, from 0; NemesisProcess (-1) is the nemesis.
	Process int `json:"process"`
	// Type is invoke, ok, fail or info.
	Type Type `json:"type"`
	// F is the operation's name: read, write, cas, buy, partition …
	F string `json:"f"`
	// Key is what the op was about; empty means the single key "".
	Key string `json:"key,omitempty"`
	// Value is the argument on invoke and the result on ok, as raw JSON.
	Value json.RawMessage `json:"value,omitempty"`
	// Node is the leader the client sent the op to.
	Node string `json:"node,omitempty"`
	// Req is the idempotency id; retries of one logical request share it.
	Req string `json:"req,omitempty"`
	// Error says why the op failed or is indeterminate.
	Error string `json:"error,omitempty"`
	// Meta holds anything else worth keeping (write timestamps, retry counts, clock offsets), as
	// a raw JSON object: readers decode it only when they need it. See MetaField and SetMeta.
	Meta json.RawMessage `json:"meta,omitempty"`
}

// MetaField returns one field of Meta as raw JSON, or nil when it is absent.
func (o Op) MetaField(name string) json.RawMessage {
	if len(o.Meta) == 0 || !bytes.Contains(o.Meta, []byte(name)) {
		return nil // cheaply: most ops have no such field
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(o.Meta, &m) != nil {
		return nil
	}
	return m[name]
}

// MetaInt returns an integer field of Meta, or 0.
func (o Op) MetaInt(name string) int64 {
	var n int64
	_ = json.Unmarshal(o.MetaField(name), &n)
	return n
}

// MetaBool returns a boolean field of Meta, or false.
func (o Op) MetaBool(name string) bool {
	return string(o.MetaField(name)) == "true"
}

// SetMeta sets the named fields of Meta, keeping the others. Pairs are name, value, name, value …
func (o *Op) SetMeta(pairs ...any) {
	m := map[string]json.RawMessage{}
	if len(o.Meta) > 0 {
		_ = json.Unmarshal(o.Meta, &m)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[fmt.Sprint(pairs[i])] = Value(pairs[i+1])
	}
	o.Meta = Value(m)
}

// MetaRefused marks a fail completion that the store refused before doing anything at all (the
// connection was refused, the input was rejected): for a cas it says that no comparison was
// made, so the failure tells nothing of the register's value. A failed cas without it is a
// comparison that failed (HISTORY.md).
const MetaRefused = "refused"

// Refused returns a fail completion marked MetaRefused, with err as its error.
func Refused(err string) Op {
	o := Op{Type: Fail, Error: err}
	o.SetMeta(MetaRefused, true)
	return o
}

// IsNemesis reports whether the op was done by the nemesis.
func (o Op) IsNemesis() bool { return o.Process == NemesisProcess }

// String is a compact one-line rendering for logs and error messages.
func (o Op) String() string {
	s := fmt.Sprintf("#%d p%d %s %s", o.Index, o.Process, o.Type, o.F)
	if o.Key != "" {
		s += " key=" + o.Key
	}
	if len(o.Value) > 0 {
		s += " value=" + string(o.Value)
	}
	if o.Node != "" {
		s += " node=" + o.Node
	}
	if o.Error != "" {
		s += " error=" + o.Error
	}
	return s
}

// Value encodes v as a raw JSON value for Op.Value. A value that cannot be encoded (a channel, a
// function) becomes its fmt rendering as a JSON string, so recording never fails.
func Value(v any) json.RawMessage {
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := Marshal(v)
	if err != nil {
		b, _ = Marshal(fmt.Sprint(v))
	}
	return b
}

// Marshal is json.Marshal without HTML escaping, so that "n1->n2" stays readable in histories.
// What is shown in a browser is escaped where it is shown.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Null is the raw JSON null, the value of a read's invoke.
var Null = json.RawMessage("null")
