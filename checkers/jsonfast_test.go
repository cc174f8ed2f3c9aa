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

// plainDigest gives what the decoding digest gives, for every value it takes.
func FuzzPlainDigest(f *testing.F) {
	for _, s := range []string{
		`[{"order":"n1-7","sku":"s1","qty":1},{"order":"n2-9","qty":2}]`, `[]`, `[[1,2],[3]]`, `["a","b"]`, `{"a":[1,2]}`,
		`[1.5e3,-0,true,null]`, `[1, 2]`, `[{"a":"\u00e9"}]`, `"x"`, `[1,]`, `[[]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, ok := plainDigest(b); ok {
			if !json.Valid(b) {
				t.Fatalf("took invalid JSON: %q", b)
			}
			if want := decodedDigest(b); d != want {
				t.Fatalf("%q: digest %x, decoded %x", b, d, want)
			}
		}
	})
}

func TestPlainDigestTakesWhatStoresWrite(t *testing.T) {
	for _, s := range []string{`[{"order":"n1-7","sku":"s1","qty":1,"req":"b12","node":"n1"}]`, `[]`, `["a","b"]`, `7`, `[[1],[2,3]]`} {
		d, ok := plainDigest([]byte(s))
		if !ok || d != decodedDigest([]byte(s)) {
			t.Errorf("%s: %v, %x, want %x", s, ok, d, decodedDigest([]byte(s)))
		}
	}
	// Items in another order, or the same items spaced out, digest alike.
	a, _ := plainDigest([]byte(`["a","b"]`))
	b, _ := plainDigest([]byte(`["b","a"]`))
	if a != b || quickDigest([]byte(`[ "b" , "a" ]`)) != a {
		t.Error("the digest depends on the order of the items or their spacing")
	}
}
