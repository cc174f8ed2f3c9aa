package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestValue: the scanner says valid only of what encoding/json calls valid, and decides the
// values the stores write (lists of order rows, numbers, nested objects) itself, with spaces or,
// when asked for none, only without.
func TestValue(t *testing.T) {
	for _, s := range []string{
		`[{"order":"n1-7","sku":"s1","qty":1,"req":"b12","node":"n1"},{"order":"n2-9","sku":"s1","qty":2,"req":"b13","node":"n2"}]`,
		`[]`, `{}`, `[ 1 , -2.5e+3 , 0 , 0.25 , true , false , null , "x" , { "a" : [ ] } ]`, `-0`, `1E9`,
	} {
		if end, ok := Value([]byte(s), 0, true); !ok || end != len(s) {
			t.Errorf("%s: not decided (%d, %v)", s, end, ok)
		}
		compact := strings.ReplaceAll(s, " ", "")
		if end, ok := Value([]byte(compact), 0, false); !ok || end != len(compact) {
			t.Errorf("%s: not decided without spaces (%d, %v)", compact, end, ok)
		}
		if strings.Contains(s, " ") {
			if end, ok := Value([]byte(s), 0, false); ok && end == len(s) {
				t.Errorf("%s: spaces taken when none were allowed", s)
			}
		}
	}
	for _, s := range []string{
		`[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1,}`, `[1 2]`, `01`, `1.`, `1e`, `-`, `.5`, `tru`, `nul`,
		`"a\"b"`, `"é"`, `[1`, `{"a":1`, `"abc`, `{1:2}`, `[true false]`, `+1`,
	} {
		if end, ok := Value([]byte(s), 0, true); ok && end == len(s) {
			t.Errorf("%s: called valid", s)
		}
	}
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{`[{"order":"n1-7","qty":1}]`, `[1,-2.5e+3,true,null]`, `{"a":{"b":[]}}`, `[1,]`, `"a\\b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, spaces := range []bool{true, false} {
			if end, ok := Value(b, 0, spaces); ok && end == len(b) && !json.Valid(b) {
				t.Fatalf("called valid what encoding/json rejects: %q", b)
			}
		}
	})
}
