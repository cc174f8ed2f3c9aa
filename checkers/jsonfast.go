package checkers

import (
	"encoding/json"
	"strconv"
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
