package txn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/crossfire-dev/crossfire/history/jsonscan"
)

// ParseMops reads a transaction's value, as HISTORY.md writes it: a list of micro-ops, each
// [f, key, value] with f "append", "w" or "r". known says whether its reads carry results (the
// completion of a committed transaction); elsewhere a read's value is ignored.
func (h *History) ParseMops(raw []byte, known bool) ([]Mop, error) {
	if mops, ok := h.parseFast(raw, known); ok {
		return mops, nil
	}
	return h.parseSlow(raw, known)
}

// parseFast reads the common shape (plain strings, integers, lists of them) without decoding
// into interfaces; false leaves the value to parseSlow, which also words the errors.
func (h *History) parseFast(b []byte, known bool) ([]Mop, bool) {
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	i = jsonscan.Space(b, i+1)
	var mops []Mop
	if i < len(b) && b[i] == ']' {
		return mops, jsonscan.Space(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '[' {
			return nil, false
		}
		var m Mop
		var ok bool
		i = jsonscan.Space(b, i+1)
		s, e, ok := jsonscan.String(b, i)
		if !ok {
			return nil, false
		}
		if m.Kind, ok = kindOf(string(b[s:e])); !ok {
			return nil, false
		}
		i = jsonscan.Space(b, e+1)
		if i >= len(b) || b[i] != ',' {
			return nil, false
		}
		i = jsonscan.Space(b, i+1)
		// the key: a string or an integer
		if s, e, ok := jsonscan.String(b, i); ok {
			m.Key = h.Key(string(b[s:e]))
			i = e + 1
		} else if _, end, ok := jsonscan.Int(b, i); ok {
			m.Key = h.Key(string(b[i:end]))
			i = end
		} else {
			return nil, false
		}
		i = jsonscan.Space(b, i)
		if i >= len(b) || b[i] != ',' {
			return nil, false
		}
		i = jsonscan.Space(b, i+1)
		switch {
		case m.Kind != Read:
			m.Arg, i, ok = h.scalarFast(b, i)
			if !ok || m.Arg == Nil {
				return nil, false
			}
		case !known:
			end, ok := jsonscan.Value(b, i, true)
			if !ok {
				return nil, false
			}
			i = end
		case i < len(b) && b[i] == '[':
			m.Known = true
			m.Reg = Nil
			i = jsonscan.Space(b, i+1)
			m.List = []Value{}
			if i < len(b) && b[i] == ']' {
				i++
				break
			}
			for {
				var v Value
				v, i, ok = h.scalarFast(b, i)
				if !ok || v == Nil {
					return nil, false
				}
				m.List = append(m.List, v)
				i = jsonscan.Space(b, i)
				if i < len(b) && b[i] == ',' {
					i = jsonscan.Space(b, i+1)
					continue
				}
				if i < len(b) && b[i] == ']' {
					i++
					break
				}
				return nil, false
			}
		default:
			m.Known = true
			m.Reg, i, ok = h.scalarFast(b, i)
			if !ok {
				return nil, false
			}
		}
		i = jsonscan.Space(b, i)
		if i >= len(b) || b[i] != ']' {
			return nil, false
		}
		mops = append(mops, m)
		i = jsonscan.Space(b, i+1)
		if i < len(b) && b[i] == ',' {
			i = jsonscan.Space(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return mops, jsonscan.Space(b, i+1) == len(b)
		}
		return nil, false
	}
}

// kindOf is the micro-op a function's name stands for.
func kindOf(f string) (Kind, bool) {
	switch f {
	case "append":
		return Append, true
	case "w":
		return Write, true
	case "r":
		return Read, true
	}
	return 0, false
}

// scalarFast reads null, an integer or a plain string at b[i].
func (h *History) scalarFast(b []byte, i int) (Value, int, bool) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return Nil, i + 4, true
	}
	if s, e, ok := jsonscan.String(b, i); ok {
		return h.Named(string(b[s:e])), e + 1, true
	}
	if n, end, ok := jsonscan.Int(b, i); ok {
		return h.Int(n), end, true
	}
	return 0, i, false
}

// parseSlow decodes the value with encoding/json and says what is wrong with it.
func (h *History) parseSlow(raw []byte, known bool) ([]Mop, error) {
	var ops []json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil {
		return nil, fmt.Errorf("a transaction's value must be a list of micro-ops [f, key, value], not %.80s", raw)
	}
	mops := make([]Mop, 0, len(ops))
	for n, op := range ops {
		var parts []json.RawMessage
		if err := json.Unmarshal(op, &parts); err != nil || len(parts) != 3 {
			return nil, fmt.Errorf("micro-op %d must be [f, key, value], not %.80s", n, op)
		}
		var f string
		if json.Unmarshal(parts[0], &f) != nil {
			return nil, fmt.Errorf("micro-op %d: its function must be a string (append, w or r), not %.40s", n, parts[0])
		}
		var m Mop
		var ok bool
		if m.Kind, ok = kindOf(f); !ok {
			return nil, fmt.Errorf("micro-op %d: unknown function %q (append, w or r)", n, f)
		}
		key, err := h.scalar(parts[1])
		if err != nil || key == Nil {
			return nil, fmt.Errorf("micro-op %d: a key must be a string or a number, not %.40s", n, parts[1])
		}
		m.Key = h.Key(h.Name(key))
		switch {
		case m.Kind != Read:
			if m.Arg, err = h.scalar(parts[2]); err != nil || m.Arg == Nil {
				return nil, fmt.Errorf("micro-op %d: %s of %s needs a value (a string or a number), not %.40s", n, f, h.Keys[m.Key], parts[2])
			}
		case !known:
		case bytes.HasPrefix(bytes.TrimSpace(parts[2]), []byte("[")):
			var elems []json.RawMessage
			if err := json.Unmarshal(parts[2], &elems); err != nil {
				return nil, fmt.Errorf("micro-op %d: %v", n, err)
			}
			m.Known, m.Reg, m.List = true, Nil, make([]Value, 0, len(elems))
			for _, e := range elems {
				v, err := h.scalar(e)
				if err != nil || v == Nil {
					return nil, fmt.Errorf("micro-op %d: a list read holds strings or numbers, not %.40s", n, e)
				}
				m.List = append(m.List, v)
			}
		default:
			m.Known = true
			if m.Reg, err = h.scalar(parts[2]); err != nil {
				return nil, fmt.Errorf("micro-op %d: a read's value must be a list, a string, a number or null, not %.40s", n, parts[2])
			}
		}
		mops = append(mops, m)
	}
	return mops, nil
}

// scalar reads null, a string or a number.
func (h *History) scalar(raw json.RawMessage) (Value, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return Nil, nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		return h.Named(s), nil
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return h.Int(n), nil
	}
	if _, ok := jsonscan.Number(raw, 0); ok {
		return h.Named(numberMark + string(raw)), nil
	}
	return 0, fmt.Errorf("not a scalar: %.40s", raw)
}
