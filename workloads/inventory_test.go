package workloads

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"crossfire/history"
)

func TestInventoryClientOutcomes(t *testing.T) {
	cases := []struct {
		name, f, path string
		status        int
		body          string
		delay         time.Duration
		want          history.Type
		value         string
	}{
		{"sale", "buy", "/inventory/buy", 200, `{"order":"n2-7","node":"n2"}`, 0, history.OK, `"n2-7"`},
		{"sold out", "buy", "/inventory/buy", 409, `{"error":"sold out","definite":true}`, 0, history.Fail, ""},
		{"a buy with no answer", "buy", "/inventory/buy", 200, `{}`, 300 * time.Millisecond, history.Info, ""},
		{"restock", "restock", "/inventory/restock", 200, `{"units":12,"node":"n1"}`, 0, history.OK, ""},
		{"a restock with no answer", "restock", "/inventory/restock", 200, `{}`, 300 * time.Millisecond, history.Info, ""},
		{"stock", "read-stock", "/inventory/stock", 200, `{"units":-2,"node":"n1"}`, 0, history.OK, "-2"},
		{"orders", "read-orders", "/inventory/orders", 200, `{"orders":[{"order":"n1-1","sku":"s0","qty":1,"req":"r","node":"n1"}],"node":"n1"}`, 0, history.OK, `[{"order":"n1-1","sku":"s0","qty":1,"req":"r","node":"n1"}]`},
		{"a read with no answer", "read-orders", "/inventory/orders", 200, `{}`, 300 * time.Millisecond, history.Fail, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != c.path {
					t.Errorf("path %s, want %s", r.URL.Path, c.path)
				}
				time.Sleep(c.delay)
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			w := NewInventory(Options{Timeout: 100 * time.Millisecond})
			op := history.Op{Process: 2, Type: history.Invoke, F: c.f, Key: "s0", Node: "n1", Req: "r", Value: history.Value(1)}
			done := w.Invoke(context.Background(), Endpoint{Node: "n1", URL: srv.URL}, op)
			if done.Type != c.want {
				t.Fatalf("type %s (%s), want %s", done.Type, done.Error, c.want)
			}
			if c.value != "" && string(done.Value) != c.value {
				t.Fatalf("value %s, want %s", done.Value, c.value)
			}
		})
	}
}

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
