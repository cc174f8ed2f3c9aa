package checkers

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The rows' own reader and encoding/json read every list of order rows alike: what the fast
// path takes it reads as encoding/json does, and it leaves the rest to encoding/json.
func FuzzParseRows(f *testing.F) {
	for _, s := range []string{
		`[{"order":"n1-7","sku":"s1","qty":1,"req":"b12","node":"n1"},{"order":"n2-9","sku":"s1","qty":2,"req":"b13","node":"n2"}]`,
		`[]`, ` [ { "order" : "a" , "qty" : -3 } ] `, `[{"order":"a","extra":1}]`, `[{"Order":"a"}]`, `[{"qty":1.5}]`,
		`[{"order":"a\"b"}]`, `[null]`, `[{"order":"a","order":"b"}]`, `[{"qty":01}]`, `[{}]`, `[{"order":"a"},]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseRowsFast(b)
		if !ok {
			return
		}
		var slow []row
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast path read what encoding/json rejects (%v): %q", err, b)
		}
		if len(fast) != len(slow) || len(fast) > 0 && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("paths disagree on %q:\nfast %+v\nslow %+v", b, fast, slow)
		}
	})
}

func TestRowsTakeTheFastPath(t *testing.T) {
	rows := []row{{Order: "n1-7", SKU: "s1", Qty: 1, Req: "b12", Node: "n1"}, {Order: "9", SKU: "s2", Qty: 2, Req: "0f3a", Node: "n3"}}
	b, _ := json.Marshal(rows)
	got, ok := parseRowsFast(b)
	if !ok || !reflect.DeepEqual(got, rows) {
		t.Fatalf("rows as the stores write them: %v %+v", ok, got)
	}
	// An escaped string goes to encoding/json, and comes out the same.
	got, err := parseRows([]byte(`[{"order":"a\"b","qty":1}]`))
	if err != nil || len(got) != 1 || got[0].Order != `a"b` {
		t.Fatalf("escaped: %v %+v", err, got)
	}
	if _, err := parseRows([]byte(`[{"order":1}]`)); err == nil {
		t.Fatal("a number for an order id was read")
	}
}
