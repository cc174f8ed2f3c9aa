// Package jepsen reads and writes histories in Jepsen's format, so that a team that runs Jepsen
// can judge its history.edn files with crossfire's checkers and draw them in crossfire's report,
// and hand crossfire's histories to Knossos and Elle.
//
// A Jepsen history is a sequence of EDN maps, one per operation, usually one per line (or one
// vector of them): :type (:invoke, :ok, :fail, :info), :f, :value, :process (an integer, or
// :nemesis), :time (nanoseconds from the test's start) and :index. crossfire reads the shapes
// its checkers judge:
//
//   - registers (Knossos's cas-register): :read, :write and :cas, on one register (:value v,
//     :cas [old new]) or on independent keys (jepsen.independent's tuples: :value [k v], :cas
//     [k [old new]]);
//   - sets: :add of an element and :read of the whole set (crossfire's cart, one cart per key);
//
// and refuses, with what it found, the ones it does not (transactions of Elle's list-append and
// rw-register models, counters). Nemesis operations become fault windows: Jepsen's names
// (:start and :stop of a partition, :start-partition, :kill and :start, :pause and :resume,
// :bump-clock …) are mapped to crossfire's (partition and heal, kill and restart …); both of a
// nemesis pair are :info in Jepsen, so the first of each name opens the fault and the next one
// completes it. Every other key of an operation is kept: :node, :req and :error in crossfire's
// fields, the rest in meta.
package jepsen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"os"
	"slices"
	"sort"
	"strings"

	"olympos.io/encoding/edn"

	"github.com/crossfire-dev/crossfire/history"
)

// slowOnly turns the fast reading of one-line ops off (the tests compare the two).
var slowOnly bool

// ErrUnjudged is a history of a model crossfire's checkers do not judge.
var ErrUnjudged = errors.New("not a model crossfire judges")

// form is one top-level EDN value and the line it began on.
type form struct {
	line  int
	value any
	fast  *jop // the op, when the line was read by fastOp
}

// readForms reads the top-level values of r: one map per line as Jepsen writes them, a map
// spread over several lines, or one vector holding every op.
func readForms(r io.Reader) ([]form, error) {
	var buf bytes.Buffer
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			buf.Grow(int(st.Size()) + 1)
		}
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	forms := make([]form, 0, bytes.Count(data, []byte("\n"))+1)
	var pending bytes.Buffer
	start, line := 0, 0
	for len(data) > 0 {
		line++
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if pending.Len() == 0 {
			trimmed := bytes.TrimSpace(text)
			if len(trimmed) == 0 || trimmed[0] == ';' {
				continue
			}
			start = line
			if j, ok := fastOp(trimmed, line); ok && !slowOnly {
				forms = append(forms, form{line: line, fast: &j})
				continue
			}
		}
		pending.Write(text)
		pending.WriteByte('\n')
		var v any
		err := edn.Unmarshal(pending.Bytes(), &v)
		if err != nil && incomplete(err) {
			continue // a value spread over lines: read on
		}
		if err != nil {
			return nil, &history.LineError{Line: int64(start), Err: fmt.Errorf("not EDN: %v", err)}
		}
		forms = append(forms, form{line: start, value: v})
		pending.Reset()
	}
	if pending.Len() > 0 {
		return nil, &history.LineError{Line: int64(start), Err: errors.New("the value that begins here never ends")}
	}
	if len(forms) == 1 {
		if vec, ok := forms[0].value.([]any); ok { // [{…} {…} …]
			out := make([]form, len(vec))
			for i, v := range vec {
				out[i] = form{line: forms[0].line, value: v}
			}
			return out, nil
		}
	}
	return forms, nil
}

// incomplete reports whether a parse error is only the input ending inside a value.
func incomplete(err error) bool {
	msg := err.Error()
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(msg, "EOF") || strings.Contains(msg, "No more tokens")
}

// jop is one Jepsen op, its fields read.
type jop struct {
	line    int
	typ     history.Type
	f       string
	value   any
	process int
	nemesis bool
	time    int64
	hasTime bool
	valued  bool           // the map has a :value
	rest    map[string]any // every other key, by name
	// raw is the value as JSON and ednValue its EDN text, when fastOp read the op: value is
	// then decoded only for the shapes that look into it (decode).
	raw      json.RawMessage
	ednValue []byte
}

// decode fills value from the EDN text fastOp kept.
func (j *jop) decode() error {
	if j.ednValue == nil || j.value != nil {
		return nil
	}
	if err := edn.Unmarshal(j.ednValue, &j.value); err != nil {
		return &history.LineError{Line: int64(j.line), Err: fmt.Errorf("not EDN: %v", err)}
	}
	return nil
}

// ReadEDN reads a Jepsen history (history.edn) as a crossfire history. Errors name the line of
// the operation at fault.
func ReadEDN(r io.Reader) ([]history.Op, error) {
	forms, err := readForms(r)
	if err != nil {
		return nil, err
	}
	jops := make([]jop, 0, len(forms))
	for _, fm := range forms {
		j, err := readOp(fm)
		if err != nil {
			return nil, &history.LineError{Line: int64(fm.line), Err: err}
		}
		jops = append(jops, j)
	}
	return convert(jops)
}

// readOp reads one op map (or a tagged record of one, #jepsen.history.Op{…}).
func readOp(fm form) (jop, error) {
	if fm.fast != nil {
		return *fm.fast, nil
	}
	v := fm.value
	if t, ok := v.(edn.Tag); ok {
		v = t.Value
	}
	m, ok := v.(map[any]any)
	if !ok {
		return jop{}, fmt.Errorf("an operation is an EDN map; this is %s", ednString(v))
	}
	j := jop{line: fm.line, rest: map[string]any{}}
	for k, val := range m {
		name := strings.TrimPrefix(ednString(k), ":")
		switch name {
		case "type":
			s := strings.TrimPrefix(ednString(val), ":")
			switch history.Type(s) {
			case history.Invoke, history.OK, history.Fail, history.Info:
				j.typ = history.Type(s)
			default:
				return jop{}, fmt.Errorf(":type %s: want :invoke, :ok, :fail or :info", ednString(val))
			}
		case "f":
			j.f = strings.TrimPrefix(ednString(val), ":")
		case "value":
			j.value, j.valued = val, true
		case "process":
			switch p := val.(type) {
			case int64:
				j.process = int(p)
			case edn.Keyword:
				if p != "nemesis" {
					return jop{}, fmt.Errorf(":process %s: an integer, or :nemesis", ednString(val))
				}
				j.nemesis = true
			default:
				return jop{}, fmt.Errorf(":process %s: an integer, or :nemesis", ednString(val))
			}
		case "time":
			t, ok := val.(int64)
			if !ok {
				return jop{}, fmt.Errorf(":time %s: nanoseconds, an integer", ednString(val))
			}
			j.time, j.hasTime = t, true
		case "index":
			// Positions are the file's order; a history filtered before it was written has
			// gaps that crossfire's format does not allow.
		default:
			j.rest[name] = val
		}
	}
	if j.typ == "" || j.f == "" {
		return jop{}, errors.New("an operation needs :type and :f")
	}
	if _, ok := m[edn.Keyword("process")]; !ok {
		return jop{}, errors.New("an operation needs :process")
	}
	return j, nil
}

// nemesisNames maps Jepsen's nemesis fs to crossfire's fault names. :start is a partition's
// start unless the history kills nodes, where it restarts them (jepsen.nemesis.combined).
var nemesisNames = map[string]string{
	"stop": "heal", "start-partition": "partition", "stop-partition": "heal",
	"kill": "kill", "pause": "pause", "resume": "resume",
	"bump": "clock-bump", "bump-clock": "clock-bump", "strobe": "clock-strobe", "strobe-clock": "clock-strobe",
	"reset": "clock-reset", "reset-clock": "clock-reset",
}

// convert turns Jepsen ops into crossfire's, after deciding the history's model.
func convert(jops []jop) ([]history.Op, error) {
	fs := map[string]bool{}
	kills, keyed := false, true
	for _, j := range jops {
		if j.nemesis {
			kills = kills || j.f == "kill"
			continue
		}
		fs[j.f] = true
		_, hasKey := j.rest["key"]
		keyed = keyed && hasKey
	}
	if keyed && len(fs) > 0 {
		// Written by crossfire (every op names its key): its own workloads, as they are.
		return build(jops, kills, false, false)
	}
	if fs["txn"] {
		if len(fs) > 1 {
			return nil, fmt.Errorf("%w: the history holds transactions (:f :txn) beside operations :%s; crossfire reads a history of transactions alone", ErrUnjudged, strings.Join(slices.Sorted(maps.Keys(fs)), ", :"))
		}
		// Elle's list-append and rw-register: each :value a list of micro-ops [f k v], written
		// as HISTORY.md's txn op
		return build(jops, kills, false, false)
	}
	for i := range jops {
		if err := jops[i].decode(); err != nil {
			return nil, err
		}
	}
	register := fs["write"] || fs["cas"]
	set := fs["add"] && !register
	for f := range fs {
		known := slices.Contains([]string{"read", "write", "cas"}, f) || set && f == "add"
		if !known {
			return nil, fmt.Errorf("%w: operations :%s; crossfire reads registers (:read, :write, :cas) and sets (:add, :read)%s",
				ErrUnjudged, strings.Join(slices.Sorted(maps.Keys(fs)), ", :"), counterHint(fs, jops))
		}
	}
	if set && counterLike(jops) {
		for _, j := range jops {
			if _, isNumber := j.value.(int64); isNumber && !j.nemesis && j.f == "add" && j.typ == history.OK {
				return nil, fmt.Errorf("%w: :add of amounts with :read of a number is a counter; crossfire judges no counter", ErrUnjudged)
			}
		}
	}
	return build(jops, kills, isIndependent(jops), set)
}

// build makes the crossfire ops: keys from tuples when independent, a set's elements as strings
// (crossfire's items are).
func build(jops []jop, kills, independent, set bool) ([]history.Op, error) {
	ops := make([]history.Op, 0, len(jops))
	open := map[string]bool{} // nemesis fs with an op begun and not completed
	var last int64
	for i, j := range jops {
		op := history.Op{Index: int64(i), Type: j.typ, F: j.f, Process: j.process}
		if j.hasTime && j.time >= 0 { // a negative :time is none (Jepsen's simulator writes -1)
			if j.time < last {
				return nil, &history.LineError{Line: int64(j.line), Err: fmt.Errorf(":time %d is before the op before it (%d)", j.time, last)}
			}
			last = j.time
		}
		op.Time = last
		if j.nemesis {
			op.Process = history.NemesisProcess
			if name, ok := nemesisNames[j.f]; ok {
				op.F = name
			} else if j.f == "start" {
				op.F = map[bool]string{true: "restart", false: "partition"}[kills]
			}
			if open[op.F] {
				op.Type, open[op.F] = history.Info, false
			} else {
				op.Type, open[op.F] = history.Invoke, true
			}
			if op.F != j.f {
				if j.rest == nil {
					j.rest = map[string]any{}
				}
				j.rest["jepsen_f"] = edn.Keyword(j.f)
			}
		}
		value := j.value
		if k, ok := j.rest["key"]; ok { // written by crossfire: the key is its own field
			op.Key = plain(k)
			delete(j.rest, "key")
		} else if independent && !j.nemesis {
			tuple, ok := value.([]any)
			if !ok || len(tuple) != 2 {
				return nil, &history.LineError{Line: int64(j.line), Err: fmt.Errorf("an op on independent keys has :value [key value]; this one has %s", ednString(value))}
			}
			op.Key, value = plain(tuple[0]), tuple[1]
		}
		if set && !j.nemesis {
			value = setItems(j.f, value)
		}
		switch {
		case j.raw != nil && !independent && !set && j.ednValue != nil && j.value == nil:
			if string(j.raw) != "null" || j.typ == history.Invoke || j.typ == history.OK {
				op.Value = j.raw
			}
		case value == nil && (j.typ == history.Invoke || j.typ == history.OK) && j.valued:
			op.Value = history.Null
		case value != nil:
			b, err := toJSON(value)
			if err != nil {
				return nil, &history.LineError{Line: int64(j.line), Err: err}
			}
			op.Value = b
		}
		for _, f := range []struct {
			name string
			to   *string
		}{{"node", &op.Node}, {"req", &op.Req}, {"error", &op.Error}} {
			if v, ok := j.rest[f.name]; ok {
				*f.to = plain(v)
				delete(j.rest, f.name)
			}
		}
		meta := map[string]json.RawMessage{}
		if v, ok := j.rest["meta"]; ok {
			if m, isMap := v.(map[any]any); isMap {
				b, err := toJSON(m)
				if err != nil {
					return nil, &history.LineError{Line: int64(j.line), Err: err}
				}
				if err := json.Unmarshal(b, &meta); err != nil {
					return nil, &history.LineError{Line: int64(j.line), Err: err}
				}
				delete(j.rest, "meta")
			}
		}
		for k, v := range j.rest {
			b, err := toJSON(v)
			if err != nil {
				return nil, &history.LineError{Line: int64(j.line), Err: err}
			}
			meta[k] = b
		}
		if len(meta) > 0 {
			b, err := json.Marshal(meta)
			if err != nil {
				return nil, &history.LineError{Line: int64(j.line), Err: err}
			}
			op.Meta = b
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// setItems makes a set op's value crossfire's: an added element, and each element of a read,
// as a string (1 becomes "1", :a becomes "a").
func setItems(f string, v any) any {
	switch f {
	case "add":
		if v != nil {
			return plain(v)
		}
	case "read":
		var elems []any
		switch x := v.(type) {
		case map[any]bool:
			for e := range x {
				elems = append(elems, e)
			}
		case []any:
			elems = x
		default:
			return v
		}
		items := make([]any, len(elems))
		for i, e := range elems {
			items[i] = plain(e)
		}
		slices.SortFunc(items, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		return items
	}
	return v
}

// counterHint says what a history of adds and reads of numbers is.
func counterHint(fs map[string]bool, jops []jop) string {
	if fs["add"] && counterLike(jops) {
		return " (:add of amounts with :read of a number is a counter, which crossfire does not judge)"
	}
	return ""
}

// counterLike reports whether the history's successful reads answer numbers.
func counterLike(jops []jop) bool {
	for _, j := range jops {
		if !j.nemesis && j.f == "read" && j.typ == history.OK {
			_, isNumber := j.value.(int64)
			return isNumber
		}
	}
	return false
}

// isIndependent reports whether a register or set history is over independent keys: every
// client op's value is a [key value] tuple (reads included, [k nil] on invoke), and a cas's
// value in it is a pair.
func isIndependent(jops []jop) bool {
	seen := false
	for _, j := range jops {
		if j.nemesis || j.rest["key"] != nil {
			continue
		}
		if j.f == "read" && j.typ != history.OK && j.value == nil {
			return false
		}
		if j.value == nil && (j.typ == history.Fail || j.typ == history.Info) {
			continue // a failed op may carry no value
		}
		t, ok := j.value.([]any)
		if !ok || len(t) != 2 {
			return false
		}
		if j.f == "cas" && t[1] != nil {
			if inner, ok := t[1].([]any); !ok || len(inner) != 2 {
				return false
			}
		}
		seen = true
	}
	return seen
}

// plain renders a key, node or request id as a string: a keyword or symbol by its name, a string
// as itself, anything else as EDN.
func plain(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case edn.Keyword:
		return string(x)
	case edn.Symbol:
		return string(x)
	}
	return ednString(v)
}

// ednString prints a value as EDN, for messages and for values with no JSON form.
func ednString(v any) string {
	b, err := edn.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// toJSON converts an EDN value to JSON: nil to null, keywords and symbols to their names, lists,
// vectors and sets to arrays (a set's elements sorted by their JSON), maps to objects keyed by
// their keys' names.
func toJSON(v any) (json.RawMessage, error) {
	j, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // a link n1->n2 stays readable
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return x, nil
	case *big.Int:
		return json.Number(x.String()), nil
	case *big.Float:
		return json.Number(x.Text('g', -1)), nil
	case edn.Keyword:
		return string(x), nil
	case edn.Symbol:
		return string(x), nil
	case edn.Rune:
		return string(rune(x)), nil
	case int32:
		return string(rune(x)), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[any]bool:
		var out []any
		var keys []string
		for e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			b, _ := json.Marshal(j)
			keys = append(keys, string(b))
			out = append(out, j)
		}
		idx := make([]int, len(out))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
		sorted := make([]any, len(out))
		for i, k := range idx {
			sorted[i] = out[k]
		}
		return sorted, nil
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[plain(k)] = j
		}
		return out, nil
	case edn.Tag:
		return jsonValue(x.Value)
	}
	return ednString(v), nil
}
