package regionkv

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
)

// openAt opens regionkv's client of a workload against a server at url.
func openAt(t *testing.T, workload, url string, timeout time.Duration) db.Client {
	t.Helper()
	cl, err := DB{}.Open(context.Background(), db.ClientConfig{Workload: workload, Node: clusters.Node{ID: "n1", URL: url}, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// stub serves one answer (status and body) to every request, after see has looked at it; with
// hang it answers nothing until the test ends, long after the client has given up. It returns
// the server's URL.
func stub(t *testing.T, status int, body string, hang bool, see func(*http.Request)) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		see(r)
		if hang {
			<-release
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before Close, which waits for the handler
	return srv.URL
}

// clientTimeout is the client's timeout for a case: short where the server never answers (delay
// set), and generous where it answers at once, so that a loaded machine cannot turn a success
// into a timeout.
func clientTimeout(delay time.Duration) time.Duration {
	if delay > 0 {
		return 200 * time.Millisecond
	}
	return 30 * time.Second
}

func TestOpenRefusesWhatItCannotServe(t *testing.T) {
	if _, err := (DB{}).Open(context.Background(), db.ClientConfig{Workload: "bank", Node: clusters.Node{URL: "http://x"}}); err == nil {
		t.Fatal("a client for a workload regionkv does not have")
	}
	if _, err := (DB{}).Open(context.Background(), db.ClientConfig{Workload: "register", Node: clusters.Node{URL: "postgres://x"}}); err == nil {
		t.Fatal("a client for a node without an HTTP URL")
	}
}

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
			url := stub(t, c.status, c.body, c.delay > 0, func(r *http.Request) {
				if r.URL.Path != "/register/"+c.f {
					t.Errorf("path %s", r.URL.Path)
				}
			})
			cl := openAt(t, "register", url, clientTimeout(c.delay))
			op := history.Op{Process: 4, Type: history.Invoke, F: c.f, Key: "r0", Node: "n1"}
			switch c.f {
			case "write":
				op.Value = history.Value(2)
			case "cas":
				op.Value = history.Value([2]int{1, 2})
			}
			done := cl.Invoke(context.Background(), op)
			if done.Type != c.want {
				t.Fatalf("type %s (error %q), want %s", done.Type, done.Error, c.want)
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
	cl := openAt(t, "register", "http://"+addr, time.Second)
	op := history.Op{Type: history.Invoke, F: "write", Key: "r0", Value: history.Value(1)}
	if done := cl.Invoke(context.Background(), op); done.Type != history.Fail {
		t.Fatalf("a refused connection is %s: %s", done.Type, done.Error)
	}
}

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
			sentCh := make(chan string, 1) // what the server got, handed over by the handler
			url := stub(t, c.status, c.body, c.delay > 0, func(r *http.Request) {
				b := make([]byte, 512)
				n, _ := r.Body.Read(b)
				sentCh <- string(b[:n])
			})
			cl := openAt(t, "cart", url, clientTimeout(c.delay))
			op := history.Op{Process: 1, Type: history.Invoke, F: c.f, Key: "c0", Node: "n1", Value: history.Value("x")}
			op.SetMeta("client_ts", 42)
			done := cl.Invoke(context.Background(), op)
			if done.Type != c.want {
				t.Fatalf("type %s (%s), want %s", done.Type, done.Error, c.want)
			}
			var sent string
			select {
			case sent = <-sentCh:
			case <-time.After(10 * time.Second):
				t.Fatal("the server got no request")
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
			url := stub(t, c.status, c.body, c.delay > 0, func(r *http.Request) {
				if r.URL.Path != c.path {
					t.Errorf("path %s, want %s", r.URL.Path, c.path)
				}
			})
			cl := openAt(t, "inventory", url, clientTimeout(c.delay))
			op := history.Op{Process: 2, Type: history.Invoke, F: c.f, Key: "s0", Node: "n1", Req: "r", Value: history.Value(1)}
			done := cl.Invoke(context.Background(), op)
			if done.Type != c.want {
				t.Fatalf("type %s (%s), want %s", done.Type, done.Error, c.want)
			}
			if c.value != "" && string(done.Value) != c.value {
				t.Fatalf("value %s, want %s", done.Value, c.value)
			}
		})
	}
}
