package sqlclient

import (
	"reflect"
	"slices"
	"testing"

	"github.com/crossfire-dev/crossfire/workloads"
)

// TestQuestionBindsEachPlaceholderInTurn: numbered placeholders become ?, and the arguments
// follow them, one used twice passed twice; a $ that numbers nothing is left as it is.
func TestQuestionBindsEachPlaceholderInTurn(t *testing.T) {
	for _, c := range []struct {
		q, want string
		args    []any
		wantArg []any
	}{
		{`UPDATE stock SET units = units - $2 WHERE sku = $1 AND units >= $2`, `UPDATE stock SET units = units - ? WHERE sku = ? AND units >= ?`,
			[]any{"s0", 1}, []any{1, "s0", 1}},
		{`UPDATE registers SET v = $2 WHERE k = $1 AND v = $3`, `UPDATE registers SET v = ? WHERE k = ? AND v = ?`,
			[]any{"k", "new", "old"}, []any{"new", "k", "old"}},
		{`SELECT a FROM t WHERE b = $10 OR c = '$x'`, `SELECT a FROM t WHERE b = ? OR c = '$x'`,
			[]any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []any{10}},
		{`SELECT 1`, `SELECT 1`, nil, nil},
	} {
		q, args := Question(c.q, c.args)
		if q != c.want || !slices.Equal(args, c.wantArg) {
			t.Errorf("%s: got %s %v, want %s %v", c.q, q, args, c.want, c.wantArg)
		}
	}
}

func TestLedgerRoundTrip(t *testing.T) {
	text := LedgerEntryText("n1", "restock-1", 10) + LedgerEntryText("n2", "a/b", -1) + LedgerEntryText("n3", "", -2)
	got, err := ParseLedger(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []workloads.LedgerEntry{{Node: "n1", Req: "restock-1", Units: 10}, {Node: "n2", Req: "a/b", Units: -1}, {Node: "n3", Units: -2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got, err := ParseLedger(""); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("an empty ledger reads as %v, %v; want an empty list", got, err)
	}
	for _, bad := range []string{"n1/a/1", "n1/a;", "n1/a/x;", "n1/a/0;", "n1;"} {
		if _, err := ParseLedger(bad); err == nil {
			t.Errorf("ParseLedger(%q) took it", bad)
		}
	}
}
