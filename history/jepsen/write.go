package jepsen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"olympos.io/encoding/edn"

	"github.com/crossfire-dev/crossfire/history"
)

// Models are the shapes a crossfire history is written in for Jepsen's checkers.
const (
	// ModelCASRegister is Knossos's cas-register: :read, :write and :cas, on jepsen.independent
	// tuples ([key value]) when the history has more than the one key "". Any other workload's
	// ops are written as they are, with their key in :key.
	ModelCASRegister = "cas-register"
	// ModelRWRegister is Elle's rw-register: each read a transaction [[:r k v]], each write
	// [[:w k v]], each cas the transaction that read the expected value and wrote the new one,
	// [[:r k old] [:w k new]].
	ModelRWRegister = "rw-register"
)

// Models lists the models Write knows.
var Models = []string{ModelCASRegister, ModelRWRegister}

// Format is how the ops are written: EDN (history.edn, as Jepsen writes it) or JSON lines of
// the same maps with plain keys (as Elle's command line reads them).
type Format string

const (
	EDN  Format = "edn"
	JSON Format = "json"
)

// Write writes ops as Jepsen would have recorded them: one map per line with :index, :time
// (nanoseconds from the start), :type, :process (a client's number; :nemesis for faults, whose
// invocation and completion are both :info, as Jepsen's nemesis records them), :f and :value;
// processes are already retired after :info, as Jepsen does. :node, :req, :error and :meta keep
// what crossfire knew; Jepsen's checkers ignore keys they do not read.
func Write(w io.Writer, ops []history.Op, format Format, model string) error {
	independent := false
	for _, op := range ops {
		independent = independent || Independent(op)
	}
	e, err := NewEncoder(w, format, model, independent)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if err := e.Encode(op); err != nil {
			return err
		}
	}
	return e.Flush()
}

// Independent reports whether op makes a history's register ops jepsen.independent tuples
// ([key value]): a client's op with a key. A history is written so if any of its ops is.
func Independent(op history.Op) bool { return !op.IsNemesis() && op.Key != "" }

// Encoder writes a history one op at a time, as Write does, holding only the ops in flight:
// a history of any length is exported in the memory its open operations take.
type Encoder struct {
	bw          *bufio.Writer
	format      Format
	model       string
	independent bool
	invoked     map[int]history.Op // each process's op in flight
}

// NewEncoder writes to w in the format and model given; independent says whether the history
// has keyed register ops (Independent of any of its ops), which must be known before the
// first op is written.
func NewEncoder(w io.Writer, format Format, model string, independent bool) (*Encoder, error) {
	if err := CheckShape(format, model); err != nil {
		return nil, err
	}
	return &Encoder{bw: bufio.NewWriter(w), format: format, model: model, independent: independent, invoked: map[int]history.Op{}}, nil
}

// CheckShape reports whether Write and NewEncoder know the format and the model.
func CheckShape(format Format, model string) error {
	if !slices.Contains(Models, model) {
		return fmt.Errorf("model %q: want one of %v", model, Models)
	}
	if format != EDN && format != JSON {
		return fmt.Errorf("format %q: want edn or json", format)
	}
	return nil
}

// Encode writes the next op of the history.
func (e *Encoder) Encode(op history.Op) error {
	if op.Type == history.Invoke {
		e.invoked[op.Process] = op
	} else if inv, ok := e.invoked[op.Process]; ok {
		delete(e.invoked, op.Process)
		if (e.model == ModelRWRegister && (op.F == "write" || op.F == "cas") || op.F == "txn") && op.Value == nil {
			// Elle reads a write's value from its completion, which in Jepsen repeats the
			// transaction.
			op.Value = inv.Value
		}
	}
	m, err := opMap(op, e.model, e.independent)
	if err != nil {
		return fmt.Errorf("op %d: %w", op.Index, err)
	}
	if e.format == EDN {
		writeOp(e.bw, m)
	} else {
		b, err := json.Marshal(jsonMap(m))
		if err != nil {
			return fmt.Errorf("op %d: %w", op.Index, err)
		}
		e.bw.Write(b)
	}
	return e.bw.WriteByte('\n')
}

// Flush writes out what Encode has buffered; call it after the last op.
func (e *Encoder) Flush() error { return e.bw.Flush() }

// registerF are the register's ops, which the models give a shape of their own.
var registerF = []string{"read", "write", "cas"}

// opMap is one op as a Jepsen map.
func opMap(op history.Op, model string, independent bool) (map[edn.Keyword]any, error) {
	m := map[edn.Keyword]any{
		"index": op.Index, "time": op.Time, "type": edn.Keyword(op.Type), "f": edn.Keyword(op.F),
	}
	value, err := fromJSON(op.Value)
	if err != nil {
		return nil, err
	}
	hasValue := op.Value != nil
	switch {
	case op.IsNemesis():
		m["process"], m["type"] = edn.Keyword("nemesis"), edn.Keyword(history.Info)
	case op.F == "txn":
		// Elle's list-append and rw-register: micro-ops [:append k v], [:r k v], [:w k v]
		m["process"] = int64(op.Process)
		mops, ok := value.([]any)
		if !ok {
			return nil, fmt.Errorf("a transaction's value is a list of micro-ops, not %s", op.Value)
		}
		out := make([]any, len(mops))
		for i, mop := range mops {
			parts, ok := mop.([]any)
			if !ok || len(parts) != 3 {
				return nil, fmt.Errorf("a micro-op is [f key value], not %v", mop)
			}
			f, _ := parts[0].(string)
			out[i] = []any{edn.Keyword(f), parts[1], parts[2]}
		}
		value = out
	case !slices.Contains(registerF, op.F):
		m["process"] = int64(op.Process)
		m["key"] = op.Key
	case model == ModelRWRegister:
		m["process"] = int64(op.Process)
		var micro edn.Keyword
		switch op.F {
		case "read":
			micro = "r"
			if op.Type == history.Invoke {
				value = nil
			}
		case "write":
			micro = "w"
		default: // cas: a transaction that read the expected value and wrote the new one
			pair, ok := value.([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("a cas's value is [expected new], not %s", op.Value)
			}
			read := pair[0]
			if op.Type == history.Invoke {
				read = nil
			}
			m["f"] = edn.Keyword("txn")
			m["value"] = []any{[]any{edn.Keyword("r"), op.Key, read}, []any{edn.Keyword("w"), op.Key, pair[1]}}
			hasValue = false
		}
		if micro != "" {
			m["f"] = edn.Keyword("txn")
			m["value"] = []any{[]any{micro, op.Key, value}}
			hasValue = false
		}
	default:
		m["process"] = int64(op.Process)
		if independent {
			m["value"] = []any{op.Key, value}
			hasValue = false
		}
	}
	if hasValue {
		m["value"] = value
	}
	if op.Node != "" {
		m["node"] = op.Node
	}
	if op.Req != "" {
		m["req"] = op.Req
	}
	if op.Error != "" {
		m["error"] = op.Error
	}
	if len(op.Meta) > 0 {
		meta, err := fromJSON(op.Meta)
		if err != nil {
			return nil, err
		}
		m["meta"] = meta
	}
	return m, nil
}

// fromJSON converts JSON to EDN values: null to nil, numbers to integers where they are whole
// (else floats), arrays to vectors, objects to maps keyed by keywords.
func fromJSON(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return ednValue(v), nil
}

func ednValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ednValue(e)
		}
		return out
	case map[string]any:
		out := map[edn.Keyword]any{}
		for k, e := range x {
			out[edn.Keyword(k)] = ednValue(e)
		}
		return out
	}
	return v
}

// jsonMap is an op map with plain keys and keywords as strings: Jepsen's JSON form.
func jsonMap(v any) any {
	switch x := v.(type) {
	case map[edn.Keyword]any:
		out := map[string]any{}
		for k, e := range x {
			out[string(k)] = jsonMap(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonMap(e)
		}
		return out
	case edn.Keyword:
		return string(x)
	}
	return v
}

// keyOrder is the order Jepsen prints an op's keys in; others follow, sorted.
var keyOrder = []edn.Keyword{"index", "time", "type", "process", "f", "value", "key", "node", "req", "error", "meta"}

// writeOp prints an op map as Jepsen does: {:index 0, :time 12, :type :invoke, …}.
func writeOp(w *bufio.Writer, m map[edn.Keyword]any) {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b edn.Keyword) int {
		ia, ib := slices.Index(keyOrder, a), slices.Index(keyOrder, b)
		if ia < 0 {
			ia = len(keyOrder)
		}
		if ib < 0 {
			ib = len(keyOrder)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(string(a), string(b))
	})
	writeMap(w, m, keys)
}

// writeMap prints a map's entries in the order of keys: {:a 1, :b 2}.
func writeMap(w *bufio.Writer, m map[edn.Keyword]any, keys []edn.Keyword) {
	w.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			w.WriteString(", ")
		}
		w.WriteString(":" + string(k) + " ")
		writeValue(w, m[k])
	}
	w.WriteByte('}')
}

// writeValue prints an EDN value: nested maps with their keys sorted, so that the same op prints
// the same way.
func writeValue(w *bufio.Writer, v any) {
	switch x := v.(type) {
	case nil:
		w.WriteString("nil")
	case bool:
		w.WriteString(strconv.FormatBool(x))
	case int64:
		w.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") { // a whole float stays a float
			s += ".0"
		}
		w.WriteString(s)
	case string:
		writeString(w, x)
	case edn.Keyword:
		w.WriteString(":" + string(x))
	case []any:
		w.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.WriteByte(' ')
			}
			writeValue(w, e)
		}
		w.WriteByte(']')
	case map[edn.Keyword]any:
		writeMap(w, x, slices.Sorted(maps.Keys(x)))
	default:
		writeString(w, fmt.Sprint(x))
	}
}

// writeString prints an EDN string: quotes, backslashes and control characters escaped.
func writeString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\t':
			w.WriteString(`\t`)
		case '\r':
			w.WriteString(`\r`)
		default:
			if r < 0x20 {
				fmt.Fprintf(w, `\u%04x`, r)
			} else {
				w.WriteRune(r)
			}
		}
	}
	w.WriteByte('"')
}
