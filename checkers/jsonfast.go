package checkers

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/crossfire-dev/crossfire/history/jsonscan"
)

// jsonString reads a JSON string value, without encoding/json when it has no escapes.
func jsonString(raw []byte) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		plain := true
		for _, c := range raw[1 : len(raw)-1] {
			if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
				plain = false
				break
			}
		}
		if plain {
			return string(raw[1 : len(raw)-1]), true
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// jsonInt reads a JSON integer value, without encoding/json when it is plain digits.
func jsonInt(raw []byte) (int64, bool) {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	var n int64
	err := json.Unmarshal(raw, &n)
	return n, err == nil
}

// parseRows reads a read-orders value, a list of order rows, without reflection when every row
// is a flat object of plain strings (order, sku, req, node), a plain integer qty and nothing
// else; anything else (escapes, other fields, nulls, fields named in another case) goes to
// encoding/json, and so does an error, so that the two read every value alike.
func parseRows(raw []byte) ([]row, error) {
	if rows, ok := parseRowsFast(raw); ok {
		return rows, nil
	}
	var rows []row
	err := json.Unmarshal(raw, &rows)
	return rows, err
}

func parseRowsFast(b []byte) ([]row, bool) {
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	rows := make([]row, 0, bytes.Count(b, []byte("{")))
	i = jsonscan.Space(b, i+1)
	if i < len(b) && b[i] == ']' {
		return rows, jsonscan.Space(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '{' {
			return nil, false
		}
		var r row
		i = jsonscan.Space(b, i+1)
		for {
			key, end, ok := plainStr(b, i)
			if !ok {
				return nil, false
			}
			i = jsonscan.Space(b, end)
			if i >= len(b) || b[i] != ':' {
				return nil, false
			}
			i = jsonscan.Space(b, i+1)
			if key == "qty" {
				n, end, ok := jsonscan.Int(b, i)
				if !ok {
					return nil, false
				}
				r.Qty, i = n, end
			} else {
				v, end, ok := plainStr(b, i)
				if !ok {
					return nil, false
				}
				switch key {
				case "order":
					r.Order = v
				case "sku":
					r.SKU = v
				case "req":
					r.Req = v
				case "node":
					r.Node = v
				default:
					return nil, false
				}
				i = end
			}
			i = jsonscan.Space(b, i)
			if i < len(b) && b[i] == ',' {
				i = jsonscan.Space(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				break
			}
			return nil, false
		}
		rows = append(rows, r)
		i = jsonscan.Space(b, i+1)
		if i < len(b) && b[i] == ',' {
			i = jsonscan.Space(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return rows, jsonscan.Space(b, i+1) == len(b)
		}
		return nil, false
	}
}

// plainStr reads the string at b[i] when it has no escapes, control characters or non-ASCII
// bytes, and returns it and where it ends.
func plainStr(b []byte, i int) (string, int, bool) {
	start, end, ok := jsonscan.String(b, i)
	if !ok {
		return "", 0, false
	}
	return string(b[start:end]), end + 1, true
}

// plainDigest is quickDigest for a value with no white space outside its strings, no escapes and
// no non-ASCII bytes, as stores write JSON: such a value is its own compact form, so its items
// are hashed where they lie, with nothing decoded or copied. ok is false for any other value,
// which quickDigest's general path takes.
func plainDigest(raw []byte) (uint64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] != '[' {
		if end, ok := jsonscan.Value(raw, 0, false); !ok || end != len(raw) {
			return 0, false
		}
		return fnv64(raw), true
	}
	var sum, n uint64
	i := 1
	if len(raw) > 1 && raw[1] == ']' {
		return 0, len(raw) == 2
	}
	for {
		end, ok := jsonscan.Value(raw, i, false)
		if !ok || end >= len(raw) {
			return 0, false
		}
		d, ok := plainDigest(raw[i:end])
		if !ok {
			return 0, false
		}
		sum += mix(d)
		n++
		switch raw[end] {
		case ',':
			i = end + 1
		case ']':
			if end+1 != len(raw) {
				return 0, false
			}
			return n*0x9e3779b97f4a7c15 + sum, true
		default:
			return 0, false
		}
	}
}

// fnv64 is FNV-1a, as hash/fnv's New64a computes it, without its allocation.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
