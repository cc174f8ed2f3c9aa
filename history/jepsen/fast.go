package jepsen

import (
	"bytes"
	"encoding/json"
	"strconv"

	"olympos.io/encoding/edn"

	"github.com/crossfire-dev/crossfire/history"
)

// fastOp reads one op written on one line as Jepsen writes it, {:index 0, :type :invoke, :f
// :txn, :value [[:append 9 1]], :process 0, :time 12}, without decoding the value into Go
// values: the value is turned straight into JSON (keywords become strings, nil null, vectors and
// lists arrays) and kept as EDN too, for the shapes that need it decoded. false leaves the line to
// the full EDN reader (sets, tags, escapes in strings, a map over several lines …), which also
// words the errors.
func fastOp(b []byte, line int) (jop, bool) {
	i := skip(b, 0)
	if i >= len(b) || b[i] != '{' {
		return jop{}, false
	}
	j := jop{line: line}
	var hasProcess bool
	i = skip(b, i+1)
	for {
		if i >= len(b) {
			return jop{}, false
		}
		if b[i] == '}' {
			if skip(b, i+1) != len(b) {
				return jop{}, false
			}
			break
		}
		if b[i] != ':' {
			return jop{}, false
		}
		end := symbolEnd(b, i+1)
		if end == i+1 {
			return jop{}, false
		}
		key := string(b[i+1 : end])
		i = skip(b, end)
		vend, ok := ednEnd(b, i, 0)
		if !ok {
			return jop{}, false
		}
		v := b[i:vend]
		switch key {
		case "type":
			switch string(v) {
			case ":invoke", ":ok", ":fail", ":info":
				j.typ = history.Type(v[1:])
			default:
				return jop{}, false
			}
		case "f":
			if len(v) < 2 || v[0] != ':' {
				return jop{}, false
			}
			j.f = string(v[1:])
		case "process":
			hasProcess = true
			if string(v) == ":nemesis" {
				j.nemesis = true
			} else if n, ok := plainInt(v); ok {
				j.process = int(n)
			} else {
				return jop{}, false
			}
		case "time":
			n, ok := plainInt(v)
			if !ok {
				return jop{}, false
			}
			j.time, j.hasTime = n, true
		case "index":
		case "value":
			js, ok := transcode(nil, v, 0)
			if !ok {
				return jop{}, false
			}
			j.valued, j.raw, j.ednValue = true, js, v
		default:
			var x any
			if err := edn.Unmarshal(v, &x); err != nil {
				return jop{}, false
			}
			if j.rest == nil {
				j.rest = map[string]any{}
			}
			j.rest[key] = x
		}
		i = skip(b, vend)
	}
	if j.typ == "" || j.f == "" || !hasProcess {
		return jop{}, false
	}
	return j, true
}

// skip passes EDN's white space (commas are white space) and comments.
func skip(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r', ',':
			i++
		default:
			return i
		}
	}
	return i
}

// symbolEnd is where a keyword's or symbol's name that begins at i ends.
func symbolEnd(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		if c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '\r' || c == '[' || c == ']' || c == '(' || c == ')' ||
			c == '{' || c == '}' || c == '"' || c == ';' || c == '\\' || c == '#' && i == 0 {
			return i
		}
		i++
	}
	return i
}

// ednEnd finds the end of the plain EDN value at b[i]: nil, booleans, numbers, keywords,
// symbols, strings without escapes, and vectors, lists and maps of them.
func ednEnd(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > 32 {
		return 0, false
	}
	switch c := b[i]; {
	case c == '[' || c == '(' || c == '{':
		closer := byte(']')
		switch c {
		case '(':
			closer = ')'
		case '{':
			closer = '}'
		}
		i = skip(b, i+1)
		for {
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			end, ok := ednEnd(b, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skip(b, end)
		}
	case c == '"':
		for j := i + 1; j < len(b); j++ {
			switch {
			case b[j] == '\\' || b[j] < 0x20:
				return 0, false
			case b[j] == '"':
				return j + 1, true
			}
		}
		return 0, false
	case c == '#' || c == '\\' || c == ']' || c == ')' || c == '}' || c == ';':
		return 0, false
	default:
		end := symbolEnd(b, i)
		return end, end > i
	}
}

// transcode appends the JSON form of the plain EDN value v (as ednEnd found it) to out.
func transcode(out []byte, v []byte, depth int) ([]byte, bool) {
	if len(v) == 0 || depth > 32 {
		return nil, false
	}
	switch c := v[0]; {
	case c == '[' || c == '(' || c == '{':
		isMap := c == '{'
		open, close := byte('['), byte(']')
		if isMap {
			open, close = '{', '}'
		}
		out = append(out, open)
		i := skip(v, 1)
		n := 0
		for i < len(v)-1 {
			end, ok := ednEnd(v, i, depth+1)
			if !ok {
				return nil, false
			}
			elem := v[i:end]
			switch {
			case n > 0 && (!isMap || n%2 == 0):
				out = append(out, ',')
			}
			if isMap && n%2 == 0 {
				// keys become their names, as strings
				name := elem
				if name[0] == ':' {
					name = name[1:]
				}
				if name[0] == '"' || name[0] == '[' || name[0] == '(' || name[0] == '{' {
					return nil, false
				}
				out = strconv.AppendQuote(out, string(name))
				out = append(out, ':')
			} else if out, ok = transcode(out, elem, depth+1); !ok {
				return nil, false
			}
			n++
			i = skip(v, end)
		}
		if isMap && n%2 != 0 {
			return nil, false
		}
		return append(out, close), true
	case c == '"':
		return append(out, v...), true
	case c == ':':
		return strconv.AppendQuote(out, string(v[1:])), true
	}
	switch string(v) {
	case "nil":
		return append(out, "null"...), true
	case "true", "false":
		return append(out, v...), true
	}
	if n, ok := plainInt(v); ok {
		return strconv.AppendInt(out, n, 10), true
	}
	if f, err := strconv.ParseFloat(string(v), 64); err == nil && bytes.ContainsAny(v, ".eE") && json.Valid(v) {
		_ = f
		return append(out, v...), true
	}
	return nil, false // a symbol, a big number (1N, 1M), a ratio …
}

// plainInt reads a decimal integer of at most 18 digits, with an optional minus sign.
func plainInt(v []byte) (int64, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
