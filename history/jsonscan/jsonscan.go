// Package jsonscan finds the ends of JSON values whose strings are plain (no escapes, no
// control characters, ASCII only), as the stores and crossfire write them, without decoding
// them. It only ever says true of valid JSON; false means "not decided here" (an escape,
// non-ASCII text, deep nesting, or an error alike), and the caller then asks encoding/json.
// The history reader checks values through it, and the checkers hash and split lists of order
// rows with it.
package jsonscan

// String finds the plain string opening at b[i] and returns its content's bounds (end is the
// closing quote's place).
func String(b []byte, i int) (start, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	j := i + 1
	for j < len(b) && !stop[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		return i + 1, j, true
	}
	return 0, 0, false
}

// stop marks the bytes that end a plain string's scan: the quote, the backslash, control
// characters and every non-ASCII byte.
var stop = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return t
}()

// Space skips the white space JSON allows at b[i] and returns where it ends.
func Space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// Int reads an integer at b[i] with no fraction or exponent and at most 18 digits (so that it
// fits in an int64), and returns it and where it ends.
func Int(b []byte, i int) (int64, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n uint64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if i-start >= 18 {
			return 0, 0, false // could overflow
		}
		n = n*10 + uint64(b[i]-'0')
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		return -int64(n), i, true
	}
	return int64(n), i, true
}

// Number scans a JSON number at b[i], -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and
// returns where it ends.
func Number(b []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// Value finds the end of the JSON value at b[i] whose strings are plain. With spaces, white
// space may stand around the value and its parts (it is skipped before the value, not after);
// without, the value must hold none outside its strings, so that it is its own compact form.
func Value(b []byte, i int, spaces bool) (int, bool) {
	return value(b, i, spaces, 0)
}

func value(b []byte, i int, spaces bool, depth int) (int, bool) {
	ws := func(i int) int {
		if spaces {
			return Space(b, i)
		}
		return i
	}
	i = ws(i)
	if i >= len(b) || depth > 512 {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		_, e, ok := String(b, i)
		return e + 1, ok
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = ws(i + 1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				_, e, ok := String(b, i)
				if !ok {
					return 0, false
				}
				i = ws(e + 1)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i++
			}
			end, ok := value(b, i, spaces, depth+1)
			if !ok {
				return 0, false
			}
			i = ws(end)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = ws(i + 1)
		}
	case c == '-' || c >= '0' && c <= '9':
		return Number(b, i)
	case c == 't' && has(b, i, "true"):
		return i + 4, true
	case c == 'f' && has(b, i, "false"):
		return i + 5, true
	case c == 'n' && has(b, i, "null"):
		return i + 4, true
	}
	return 0, false
}

func has(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}
