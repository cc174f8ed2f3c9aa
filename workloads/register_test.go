package workloads

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"crossfire/history"
)

// TestRegisterClientOutcomes checks how every kind of answer becomes ok, fail or info: what may
// have happened must never be recorded as fail.
func TestRegisterClientOutcomes(t *testing.T) {
	cases := []struct {
		name   string
		f      string
		status int
		body   string
		delay  time.Duration
		want   history.Type
		value  string
	}{
		{"read ok", "read", 200, `{"value":3,"ts":1,"origin":"n1","node":"n1"}`, 0, history.OK, "3"},
		{"read of nothing", "read", 200, `{"value":null,"node":"n1"}`, 0, history.OK, "null"},
		{"write ok", "write", 200, `{"value":2,"ts":5,"origin":"n1","node":"n1"}`, 0, history.OK, ""},
		{"cas precondition", "cas", 409, `{"error":"precondition failed","definite":true,"value":1}`, 0, history.Fail, ""},
		{"definite refusal", "write", 503, `{"error":"not the leader","definite":true}`, 0, history.Fail, ""},
		{"maybe applied", "write", 503, `{"error":"forwarding timed out","definite":false}`, 0, history.Info, ""},
		{"garbage 500", "cas", 500, `oops`, 0, history.Info, ""},
		{"bad request", "write", 400, `{"error":"bad"}`, 0, history.Fail, ""},
		{"write timeout", "write", 200, `{}`, 300 * time.Millisecond, history.Info, ""},
		{"read timeout", "read", 200, `{}`, 300 * time.Millisecond, history.Fail, ""},
		{"undecodable ok", "write", 200, `{"value":`, 0, history.Info, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/register/"+c.f {
					t.Errorf("path %s", r.URL.Path)
				}
				time.Sleep(c.delay)
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			w := NewRegister(Options{Timeout: 100 * time.Millisecond})
			op := history.Op{Process: 4, Type: history.Invoke, F: c.f, Key: "r0", Node: "n1"}
			switch c.f {
			case "write":
				op.Value = history.Value(2)
			case "cas":
				op.Value = history.Value([2]int{1, 2})
			}
			done := w.Invoke(context.Background(), Endpoint{Node: "n1", URL: srv.URL}, op)
			if done.Type != c.want {
				t.Fatalf("type %s (error %q), want %s", done.Type, done.Error, c.want)
			}
			if done.Process != 4 || done.F != c.f || done.Key != "r0" {
				t.Errorf("completion does not match its invoke: %+v", done)
			}
			if c.value != "" && string(done.Value) != c.value {
				t.Errorf("value %s, want %s", done.Value, c.value)
			}
			if c.want != history.OK && done.Error == "" {
				t.Errorf("no error recorded")
			}
		})
	}
}

func TestRegisterConnectionRefusedIsFail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	w := NewRegister(Options{})
	op := history.Op{Type: history.Invoke, F: "write", Key: "r0", Value: history.Value(1)}
	if done := w.Invoke(context.Background(), Endpoint{URL: "http://" + addr}, op); done.Type != history.Fail {
		t.Fatalf("a refused connection is %s: %s", done.Type, done.Error)
	}
}

func TestRegisterGenerator(t *testing.T) {
	w := NewRegister(Options{Keys: 4})
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	keys := map[string]bool{}
	for i := 0; i < 3000; i++ {
		op := w.Next(r)
		counts[op.F]++
		keys[op.Key] = true
		if op.Type != history.Invoke || len(op.Value) == 0 {
			t.Fatalf("bad invocation %+v", op)
		}
	}
	if len(keys) != 4 || counts["read"] < 1200 || counts["write"] < 800 || counts["cas"] < 300 {
		t.Fatalf("mix %v over keys %v", counts, keys)
	}
	if got := len(w.Final()); got != 4 {
		t.Fatalf("%d final reads for 4 keys", got)
	}
	if _, err := New("nope", Options{}); err == nil {
		t.Fatal("unknown workload accepted")
	}
}
