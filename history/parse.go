package history

import (
	"encoding/json"
	"strings"

	"github.com/crossfire-dev/crossfire/history/jsonscan"
)

// parseFast decodes the lines the Writer writes, and lines like them, without reflection: a flat
// object whose known fields hold plain integers and strings without escapes, and whose value,
// meta and unknown fields are any valid JSON. It reports false for anything else (escapes,
// floats, nulls in typed fields, errors of any kind), which parseSlow then decides.
func parseFast(b []byte, in *interner) (Op, bool) {
	var op Op
	var seen uint8             // required fields: index, time, process, type, f
	var valueAt, metaAt [2]int // where value and meta lie in b, copied once at the end
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return op, false
	}
	i = jsonscan.Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return op, false // no required fields: let the slow path say which
	}
	for {
		// A key: a plain string.
		if i >= len(b) || b[i] != '"' {
			return op, false
		}
		ks, ke, ok := jsonscan.String(b, i)
		if !ok {
			return op, false
		}
		key := b[ks:ke]
		i = jsonscan.Space(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return op, false
		}
		i = jsonscan.Space(b, i+1)
		switch string(key) {
		case "index", "time", "process":
			n, end, ok := jsonscan.Int(b, i)
			if !ok {
				return op, false
			}
			switch key[0] {
			case 'i':
				op.Index, seen = n, seen|1
			case 't':
				op.Time, seen = n, seen|2
			default:
				if n != int64(int(n)) {
					return op, false
				}
				op.Process, seen = int(n), seen|4
			}
			i = end
		case "type", "f", "key", "node", "req", "error":
			if i >= len(b) || b[i] != '"' {
				return op, false
			}
			vs, ve, ok := jsonscan.String(b, i)
			if !ok {
				return op, false
			}
			v := b[vs:ve]
			switch string(key) {
			case "type":
				op.Type, seen = typeOf(v), seen|8
			case "f":
				op.F, seen = in.str(v), seen|16
			case "key":
				op.Key = in.str(v)
			case "node":
				op.Node = in.str(v)
			case "req":
				op.Req = string(v)
			case "error":
				op.Error = in.str(v)
			}
			i = ve + 1
		default:
			// One pass finds the end of a plain value and checks it; anything else is found by
			// its brackets and checked on its own.
			end, checked := jsonscan.Value(b, i, true)
			if !checked {
				var ok bool
				if end, ok = skipValue(b, i); !ok {
					return op, false
				}
			}
			raw := b[i:end]
			switch string(key) {
			case "value":
				if !checked && !valid(raw) {
					return op, false
				}
				if string(raw) == "null" {
					op.Value = Null
				} else {
					valueAt = [2]int{i, end}
				}
			case "meta":
				if raw[0] != '{' || !checked && !json.Valid(raw) {
					return op, false
				}
				metaAt = [2]int{i, end}
			default:
				// encoding/json matches field names regardless of case: leave such lines to it.
				if isFieldName(key) || !checked && !valid(raw) {
					return op, false
				}
			}
			i = end
		}
		i = jsonscan.Space(b, i)
		if i >= len(b) {
			return op, false
		}
		if b[i] == ',' {
			i = jsonscan.Space(b, i+1)
			continue
		}
		if b[i] != '}' {
			return op, false
		}
		break
	}
	if jsonscan.Space(b, i+1) != len(b) || seen != 31 || !op.Type.Valid() {
		return op, false
	}
	if valueAt[1] > 0 || metaAt[1] > 0 {
		// One copy of the span that holds both, shared by the two fields.
		lo, hi := valueAt[0], max(valueAt[1], metaAt[1])
		if valueAt[1] == 0 || (metaAt[1] > 0 && metaAt[0] < lo) {
			lo = metaAt[0]
		}
		own := append([]byte(nil), b[lo:hi]...)
		if valueAt[1] > 0 {
			op.Value = own[valueAt[0]-lo : valueAt[1]-lo : valueAt[1]-lo]
		}
		if metaAt[1] > 0 {
			op.Meta = own[metaAt[0]-lo : metaAt[1]-lo : metaAt[1]-lo]
		}
	}
	return op, true
}

// typeOf returns the constant for a type, so no string is allocated for it.
func typeOf(v []byte) Type {
	switch string(v) {
	case "invoke":
		return Invoke
	case "ok":
		return OK
	case "fail":
		return Fail
	case "info":
		return Info
	}
	return Type(v)
}

// valid checks a raw JSON value, quickly for plain strings, integers and literals.
func valid(raw []byte) bool {
	switch c := raw[0]; {
	case c == '"':
		if _, e, ok := jsonscan.String(raw, 0); ok && e == len(raw)-1 {
			return true
		}
	case c == '-' || c >= '0' && c <= '9':
		if _, e, ok := jsonscan.Int(raw, 0); ok && e == len(raw) {
			return true
		}
	case string(raw) == "true" || string(raw) == "false" || string(raw) == "null":
		return true
	}
	if end, ok := jsonscan.Value(raw, 0, true); ok && end == len(raw) {
		return true
	}
	return json.Valid(raw)
}

// interner shares the strings that recur in a history (f, node, key, error), up to a bound.
// The last strings it handed out sit in a small table found by a cheap hash of the bytes, which
// answers most lines (a history names a few fs, leaders and keys over and over) before the map.
type interner struct {
	m      map[string]string
	recent [64]string
}

const maxInterned = 1 << 14

func (in *interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	h := uint(len(b))
	for _, c := range b {
		h = h*31 + uint(c)
	}
	slot := &in.recent[(h^h>>6)%uint(len(in.recent))]
	if *slot == string(b) {
		return *slot
	}
	if s, ok := in.m[string(b)]; ok {
		*slot = s
		return s
	}
	s := string(b)
	*slot = s
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

var fieldNames = []string{"index", "time", "process", "type", "f", "key", "value", "node", "req", "error", "meta"}

// isFieldName reports whether key names an Op field in any case.
func isFieldName(key []byte) bool {
	for _, n := range fieldNames {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

// skipValue finds the end of the JSON value starting at b[i], tracking strings and nesting
// only; json.Valid checks the bytes afterwards.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			j++
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return 0, false
			}
			if depth == 0 {
				return j + 1, true
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				if j == i {
					return 0, false
				}
				return j, true // the closing brace of the line itself ends a scalar
			}
			if depth == 0 {
				return j + 1, true
			}
		case ',':
			if depth == 0 {
				return j, j > i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 && j > i {
				return j, true
			}
		}
	}
	return 0, false
}
