// Package txn is the model behind crossfire's isolation checker: transactions over many
// objects, the versions their reads and writes reveal, the dependencies between them, and the
// cycles and other anomalies that rule out a consistency model.
//
// A history of transactions (HISTORY.md's `txn` operation, Jepsen's `:f :txn`) holds, per
// transaction, a list of micro-operations: `append k v` and `r k` for list-append (a read returns
// the whole list of key k), `w k v` and `r k` for rw-register (a read returns the value). Written
// values are unique per key, so a value read names the one write that made it.
//
// From that alone the package infers, after Adya's thesis and the Elle paper (Kingsbury and
// Alvaro, VLDB 2020):
//
//   - a version order per key: for list-append, the longest list read (every other read must be
//     a prefix of it); for rw-register, the initial version before every write, and on request
//     the orders that writes-follow-reads, per-process (sequential) or real-time (linearizable)
//     keys imply;
//   - dependencies between transactions: write-write (ww: T2 installed the version after T1's),
//     write-read (wr: T2 read T1's version) and read-write (rw: T2 installed the version after the
//     one T1 read), and the orders of the clients: process (the next transaction of a process)
//     and real time (T2 began after T1 completed);
//   - cycles of those dependencies, each classified by its edges (G0, G1c, G-single,
//     G-nonadjacent, G2-item, with -process or -realtime where an order edge is needed), and the
//     anomalies that need no cycle (aborted and intermediate reads, dirty updates, internal
//     inconsistency, duplicated or unwritten values, incompatible orders, lost updates, future
//     reads, cyclic version orders).
//
// Whether an anomaly makes a history invalid depends on the consistency model it is held to;
// models.go names the models and what each forbids.
package txn

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is a micro-operation's function.
type Kind uint8

// The micro-operations.
const (
	Append Kind = iota + 1 // append a value to a key's list
	Write                  // write a register
	Read                   // read a key: its whole list, or its register's value
)

func (k Kind) String() string {
	switch k {
	case Append:
		return "append"
	case Write:
		return "w"
	case Read:
		return "r"
	}
	return "?"
}

// Value is a value written or read, interned: an integer stands for itself; any other value
// (a string, a number with a fraction) for its entry in the History's table of names.
type Value int64

// Nil is a register read of a key never written.
const Nil Value = math.MinInt64

// named values start here; integers at or beyond it are named too, so that no two collide.
const namedBase = Value(1) << 61

// Mop is one micro-operation of a transaction.
type Mop struct {
	Kind Kind
	Key  int32 // the key, interned (History.Keys)
	Arg  Value // the value appended or written
	// Known says whether a read's result is known: true for the reads of a committed
	// transaction, false for the rest and at the invocation.
	Known bool
	List  []Value // a list-append read: the list, in order (nil or empty for an empty key)
	Reg   Value   // a rw-register read: the value, or Nil
}

// Status is how a transaction ended.
type Status uint8

// The three endings.
const (
	OK   Status = iota + 1 // it committed
	Info                   // unknown: it may have committed or not
	Fail                   // it certainly did not commit
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Info:
		return "info"
	case Fail:
		return "fail"
	}
	return "?"
}

// Txn is one transaction: its invocation and completion in the history, and its micro-ops as
// the completion gave them (the invocation's, with unknown reads, when it did not commit).
type Txn struct {
	Invoke   int64 // history index of the invocation
	Complete int64 // history index of the completion; -1 when the history ends before it
	Start    int64 // time of the invocation, ns
	End      int64 // time of the completion, ns; -1 without one
	Process  int
	Node     string
	Status   Status
	Error    string
	Mops     []Mop
}

// History is the transactions of a history, in the order they were invoked, with the names of
// their keys and values.
type History struct {
	Txns  []Txn
	Keys  []string // key names by id
	names []string // named values, from namedBase
	keyID map[string]int32
	valID map[string]Value
}

// NewHistory starts an empty history; Builder fills one from a crossfire history.
func NewHistory() *History {
	return &History{keyID: map[string]int32{}, valID: map[string]Value{}}
}

// Key interns a key name.
func (h *History) Key(name string) int32 {
	if id, ok := h.keyID[name]; ok {
		return id
	}
	id := int32(len(h.Keys))
	h.Keys = append(h.Keys, name)
	h.keyID[name] = id
	return id
}

// Int is the Value of an integer.
func (h *History) Int(n int64) Value {
	if n > -int64(namedBase) && n < int64(namedBase) {
		return Value(n)
	}
	return h.Named(numberMark + strconv.FormatInt(n, 10))
}

// Named interns a value that is no small integer, by its text (a string's text without
// quotes; a JSON number's literal with a marker, so that "1.5" and 1.5 stay apart).
func (h *History) Named(text string) Value {
	if v, ok := h.valID[text]; ok {
		return v
	}
	v := namedBase + Value(len(h.names))
	h.names = append(h.names, text)
	h.valID[text] = v
	return v
}

// Name writes a value as the history gave it.
func (h *History) Name(v Value) string {
	switch {
	case v == Nil:
		return "nil"
	case v >= namedBase && int(v-namedBase) < len(h.names):
		return strings.TrimPrefix(h.names[v-namedBase], numberMark)
	default:
		return strconv.FormatInt(int64(v), 10)
	}
}

// numberMark sets the literal of a number that is no small integer apart from a string of the
// same text.
const numberMark = "\x00#"

// ListText writes a list read, shortened in the middle when long.
func (h *History) ListText(l []Value) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range l {
		if len(l) > 12 && i == 4 {
			fmt.Fprintf(&b, " … (%d more)", len(l)-8)
		}
		if len(l) > 12 && i >= 4 && i < len(l)-4 {
			continue
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h.Name(v))
	}
	b.WriteByte(']')
	return b.String()
}

// MopText writes a micro-op as Jepsen would: [append x 3], [r x [1 2]], [w y 4], [r y nil].
func (h *History) MopText(m Mop, listAppend bool) string {
	k := h.Keys[m.Key]
	switch m.Kind {
	case Append, Write:
		return fmt.Sprintf("[%s %s %s]", m.Kind, k, h.Name(m.Arg))
	}
	if !m.Known {
		return fmt.Sprintf("[r %s ?]", k)
	}
	if listAppend {
		return fmt.Sprintf("[r %s %s]", k, h.ListText(m.List))
	}
	return fmt.Sprintf("[r %s %s]", k, h.Name(m.Reg))
}
