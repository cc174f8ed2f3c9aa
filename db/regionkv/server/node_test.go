package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openNode(t *testing.T, id, dir string, peers map[string]string) *Node {
	t.Helper()
	n, err := Open(Config{ID: id, DataDir: dir, Peers: peers, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestConcurrentWritesConvergeWhateverTheOrder(t *testing.T) {
	dir := t.TempDir()
	a := openNode(t, "n1", filepath.Join(dir, "a"), nil)
	b := openNode(t, "n2", filepath.Join(dir, "b"), nil)
	c := openNode(t, "n3", filepath.Join(dir, "c"), nil)
	defer a.Close()
	defer b.Close()
	defer c.Close()
	b.clock.SetOffset(time.Hour) // n2's write wins by timestamp
	a.Write("k", raw("1"))
	b.Write("k", raw("2"))
	ea, _ := a.streams.from(1, 10)
	eb, _ := b.streams.from(1, 10)
	// c hears b first, then a; a hears b; b hears a.
	c.Apply("n2", eb)
	c.Apply("n1", ea)
	a.Apply("n2", eb)
	b.Apply("n1", ea)
	for _, n := range []*Node{a, b, c} {
		v, _ := n.Read("k")
		if string(v.Value) != "2" {
			t.Errorf("%s reads %s, want 2 (the newer timestamp)", n.cfg.ID, v.Value)
		}
	}
	// Both a and b saw a concurrent version arrive: each logged the conflict with both versions.
	for _, n := range []*Node{a, b} {
		confs := readConflicts(t, n)
		if len(confs) != 1 {
			t.Fatalf("%s logged %d conflicts, want 1", n.cfg.ID, len(confs))
		}
		cf := confs[0]
		if cf.Key != "k" || len(cf.Local) != 1 || cf.Strategy != LWW || string(cf.Winner.Value) != "2" {
			t.Errorf("%s conflict = %+v", n.cfg.ID, cf)
		}
		if cf.Local[0].Origin == cf.Incoming.Origin {
			t.Errorf("%s conflict does not hold both versions: %+v", n.cfg.ID, cf)
		}
	}
	// A later write that has seen both versions supersedes them without a conflict.
	c.Write("k", raw("3"))
	ec, _ := c.streams.from(1, 10)
	a.Apply("n3", ec)
	if v, _ := a.Read("k"); string(v.Value) != "3" {
		t.Errorf("causal overwrite lost: a reads %s", v.Value)
	}
	if n := len(readConflicts(t, a)); n != 1 {
		t.Errorf("a causal overwrite was logged as a conflict (%d conflicts)", n)
	}
}

func readConflicts(t *testing.T, n *Node) []Conflict {
	t.Helper()
	f, err := os.Open(filepath.Join(n.cfg.DataDir, ConflictFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Conflict
	s := bufio.NewScanner(f)
	for s.Scan() {
		var c Conflict
		if err := json.Unmarshal(s.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestApplyIsIdempotentAndStopsAtGaps(t *testing.T) {
	dir := t.TempDir()
	a := openNode(t, "n1", filepath.Join(dir, "a"), nil)
	b := openNode(t, "n2", filepath.Join(dir, "b"), nil)
	defer a.Close()
	defer b.Close()
	for i := 0; i < 5; i++ {
		a.Write("k", raw(string(rune('0'+i))))
	}
	es, _ := a.streams.from(1, 10)
	if got := b.Apply("n1", es[2:]); got != 0 {
		t.Fatalf("applied past a gap: %d", got)
	}
	if got := b.Apply("n1", es[:3]); got != 3 {
		t.Fatalf("applied %d, want 3", got)
	}
	if got := b.Apply("n1", es); got != 5 {
		t.Fatalf("applied %d, want 5", got)
	}
	if got := b.Apply("n1", es); got != 5 {
		t.Fatalf("redelivery changed the mark: %d", got)
	}
	if v, _ := b.Read("k"); string(v.Value) != "4" {
		t.Fatalf("b reads %s, want 4", v.Value)
	}
	if n := len(readConflicts(t, b)); n != 0 {
		t.Fatalf("redelivery logged %d conflicts", n)
	}
}

func TestReopenReplaysTheLogAndCutsATornTail(t *testing.T) {
	dir := t.TempDir()
	a := openNode(t, "n1", dir, nil)
	a.Write("x", raw(`"hello"`))
	if _, err := a.CAS("x", raw(`"hello"`), raw(`"world"`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CAS("x", raw(`"hello"`), raw(`"nope"`)); err != ErrPrecondition {
		t.Fatalf("cas on a stale value: %v", err)
	}
	a.Close()
	// A write that was cut off mid-line was never acknowledged.
	f, _ := os.OpenFile(filepath.Join(dir, WALFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"key":"x","version":{"value":"torn`)
	f.Close()

	a = openNode(t, "n1", dir, nil)
	defer a.Close()
	if v, _ := a.Read("x"); string(v.Value) != `"world"` {
		t.Fatalf("after reopen x = %s", v.Value)
	}
	v := a.Write("y", raw("1"))
	if v.Seq != 3 {
		t.Fatalf("own stream did not resume: seq %d, want 3", v.Seq)
	}
	a.Close()
	a2 := openNode(t, "n1", dir, nil)
	defer a2.Close()
	if v, ok := a2.Read("y"); !ok || string(v.Value) != "1" {
		t.Fatalf("write after a torn tail lost: %s %v", v.Value, ok)
	}
}

// TestReplicationOverHTTP runs three nodes that push to each other and checks that writes at
// every node reach every node, including after one node restarts.
func TestReplicationOverHTTP(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"n1", "n2", "n3"}
	lns := map[string]net.Listener{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id] = ln
	}
	start := func(id string, ln net.Listener) (context.CancelFunc, chan struct{}, *Node) {
		peers := map[string]string{}
		for _, p := range ids {
			if p != id {
				peers[p] = "http://" + lns[p].Addr().String()
			}
		}
		n := openNode(t, id, filepath.Join(dir, id), peers)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { n.Serve(ctx, ln); n.Close(); close(done) }()
		return cancel, done, n
	}
	cancels := map[string]context.CancelFunc{}
	dones := map[string]chan struct{}{}
	nodes := map[string]*Node{}
	for _, id := range ids {
		cancels[id], dones[id], nodes[id] = start(id, lns[id])
	}
	defer func() {
		for _, id := range ids {
			cancels[id]()
			<-dones[id]
		}
	}()
	post := func(id, path, body string) {
		resp, err := http.Post("http://"+lns[id].Addr().String()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", id, path, resp.StatusCode)
		}
	}
	post("n1", "/register/write", `{"key":"a","value":1}`)
	post("n2", "/register/write", `{"key":"b","value":2}`)
	// Restart n3 on the same address: its peers resume pushing where it left off.
	cancels["n3"]()
	<-dones["n3"]
	ln, err := net.Listen("tcp", lns["n3"].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	lns["n3"] = ln
	cancels["n3"], dones["n3"], nodes["n3"] = start("n3", ln)
	post("n3", "/register/write", `{"key":"c","value":3}`)

	deadline := time.Now().Add(10 * time.Second)
	for {
		done := true
		for _, id := range ids {
			st := nodes[id].State()
			if len(st.Registers) != 3 {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			for _, id := range ids {
				t.Logf("%s: %+v", id, nodes[id].State())
			}
			t.Fatal("writes did not reach every node within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashBetweenApplyAndConflictLogLosesNoRecord: an entry is durable before its conflict is
// logged, so a crash between the two leaves an applied entry without its record; reopening
// replays the log and writes the records the conflict log lacks, and no record twice.
func TestCrashBetweenApplyAndConflictLogLosesNoRecord(t *testing.T) {
	dir := t.TempDir()
	a := openNode(t, "n1", filepath.Join(dir, "a"), nil)
	b := openNode(t, "n2", filepath.Join(dir, "b"), nil)
	defer b.Close()
	a.Write("k", raw("1"))
	a.Write("j", raw("1"))
	b.Write("k", raw("2"))
	b.Write("j", raw("2"))
	eb, _ := b.streams.from(1, 10)
	a.Apply("n2", eb)
	if n := len(readConflicts(t, a)); n != 2 {
		t.Fatalf("a logged %d conflicts, want 2", n)
	}
	a.Close()
	// The crash: the second record never reached the disk.
	path := filepath.Join(dir, "a", ConflictFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first := data[:bytes.IndexByte(data, '\n')+1]
	if err := os.WriteFile(path, first, 0o644); err != nil {
		t.Fatal(err)
	}
	a = openNode(t, "n1", filepath.Join(dir, "a"), nil)
	confs := readConflicts(t, a)
	if len(confs) != 2 || confs[0].Key != "k" || confs[1].Key != "j" || confs[1].Incoming.Origin != "n2" {
		t.Fatalf("after the crash the conflict log holds %+v", confs)
	}
	a.Close()
	// Reopened again with nothing lost, nothing is written twice.
	a = openNode(t, "n1", filepath.Join(dir, "a"), nil)
	defer a.Close()
	if n := len(readConflicts(t, a)); n != 2 {
		t.Fatalf("a clean reopen left %d records, want 2", n)
	}
}
