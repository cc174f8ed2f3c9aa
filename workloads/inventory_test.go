package workloads

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestInventoryGenerator(t *testing.T) {
	w := NewInventory(Options{Keys: 3})
	r := rand.New(rand.NewPCG(3, 4))
	reqs := map[string]bool{}
	counts := map[string]int{}
	for i := 0; i < 5000; i++ {
		op := w.Next(r)
		counts[op.F]++
		if op.F == "buy" {
			if op.Req == "" || reqs[op.Req] {
				t.Fatalf("buy without a fresh req: %+v", op)
			}
			reqs[op.Req] = true
		}
		if w.Retryable(op) != (op.F == "buy") {
			t.Fatalf("retryable(%s) wrong", op.F)
		}
	}
	if counts["buy"] < 4000 || counts["restock"] < 150 || counts["read-stock"] < 150 {
		t.Fatalf("mix %v", counts)
	}
	if len(w.Setup()) != 3 || len(w.Final()) != 6 {
		t.Fatalf("setup %d, final %d", len(w.Setup()), len(w.Final()))
	}
}

func TestInfer(t *testing.T) {
	for _, c := range []struct {
		fs   []string
		want string
		err  string
	}{
		{[]string{"read", "write", "cas"}, "register", ""},
		{[]string{"buy", "read-orders"}, "inventory", ""},
		{[]string{"add", "read"}, "cart", ""},
		{[]string{"read"}, "", "fit the workloads cart and register alike"},
		{[]string{"buy", "add"}, "", "fit no workload"},
		{[]string{"txn"}, "list-append", ""},
		{nil, "", "no client operation"},
	} {
		got, err := Infer(c.fs)
		if got != c.want || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("Infer(%v) = %q, %v; want %q, %q", c.fs, got, err, c.want, c.err)
		}
	}
}
