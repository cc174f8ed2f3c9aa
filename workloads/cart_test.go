package workloads

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crossfire/history"
)

func TestCartClientOutcomes(t *testing.T) {
	cases := []struct {
		name, f string
		status  int
		body    string
		delay   time.Duration
		want    history.Type
	}{
		{"add", "add", 200, `{"items":["x"],"ts":5,"origin":"n1","seq":3,"vv":{"n1":3},"clock_offset_ns":7,"strategy":"lww","node":"n1"}`, 0, history.OK},
		{"remove of an absent item", "remove", 404, `{"error":"not in cart","definite":true}`, 0, history.Fail},
		{"an add with no answer", "add", 200, `{}`, 300 * time.Millisecond, history.Info},
		{"a remove with no answer", "remove", 200, `{}`, 300 * time.Millisecond, history.Info},
		{"read", "read", 200, `{"items":["a","b"],"node":"n2"}`, 0, history.OK},
		{"a read with no answer", "read", 200, `{}`, 300 * time.Millisecond, history.Fail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sent string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b := make([]byte, 512)
				n, _ := r.Body.Read(b)
				sent = string(b[:n])
				time.Sleep(c.delay)
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			w := NewCart(Options{Timeout: 100 * time.Millisecond})
			op := history.Op{Process: 1, Type: history.Invoke, F: c.f, Key: "c0", Node: "n1", Value: history.Value("x")}
			op.SetMeta("client_ts", 42)
			done := w.Invoke(context.Background(), Endpoint{Node: "n1", URL: srv.URL}, op)
			if done.Type != c.want {
				t.Fatalf("type %s (%s), want %s", done.Type, done.Error, c.want)
			}
			if c.f != "read" && !strings.Contains(sent, `"ts":42`) {
				t.Errorf("the client's stamp was not sent: %s", sent)
			}
			if c.name == "add" && (done.MetaInt("clock_offset_ns") != 7 || done.MetaInt("ts") != 5) {
				t.Errorf("meta %s", done.Meta)
			}
			if c.name == "read" && string(done.Value) != `["a","b"]` {
				t.Errorf("value %s", done.Value)
			}
		})
	}
}

func TestCartGenerator(t *testing.T) {
	w := NewCart(Options{Keys: 2}).(*Cart)
	r := rand.New(rand.NewPCG(5, 6))
	added := map[string]bool{}
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		op := w.Next(r)
		counts[op.F]++
		item, _ := jsonString(op.Value)
		switch op.F {
		case "add":
			if added[item] {
				t.Fatalf("item %s added twice", item)
			}
			added[item] = true
		case "remove":
			if !added[item] {
				t.Fatalf("remove of %s, never added", item)
			}
		}
	}
	if counts["add"] < 1200 || counts["remove"] < 600 || counts["read"] < 200 {
		t.Fatalf("mix %v", counts)
	}
	if !w.Retryable(history.Op{F: "add"}) || w.Retryable(history.Op{F: "remove"}) {
		t.Fatal("retryable wrong")
	}
}

func jsonString(raw []byte) (string, bool) {
	s := string(raw)
	return strings.Trim(s, `"`), len(s) > 1
}
