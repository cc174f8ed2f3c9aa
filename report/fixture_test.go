package report

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"crossfire/checkers"
	"crossfire/history"
)

// Hostile strings, as a store under test might return them: each would run script if a page
// put it into markup unescaped.
const (
	hostileValue = `<script>window.__pwned = "value"</script>`
	hostileError = `<img src=x onerror="window.__pwned='error'">`
	hostileKey   = `k</script><script>window.__pwned='key'</script>`
	hostileLog   = `<svg onload="window.__pwned='log'"></svg> listening on :7000`
)

// fixtureRun writes a run folder: a register history over three leaders with a partition
// window, every kind of outcome (one op never completes), hostile values in a value, an error,
// a key, the conflict log and a node log, and results.json with one anomaly made of ops 10 and 13.
func fixtureRun(t testing.TB, extraOps int) string {
	t.Helper()
	dir := t.TempDir()
	var ops []history.Op
	at := int64(0)
	add := func(op history.Op) {
		at += 1_000_000 // 1 ms apart
		op.Index, op.Time = int64(len(ops)), at
		ops = append(ops, op)
	}
	v := func(s string) json.RawMessage { return history.Value(s) }
	call := func(p int, node, f, key string, arg json.RawMessage, typ history.Type, res json.RawMessage, errMsg string) {
		add(history.Op{Process: p, Type: history.Invoke, F: f, Key: key, Value: arg, Node: node})
		add(history.Op{Process: p, Type: typ, F: f, Key: key, Value: res, Node: node, Error: errMsg})
	}
	call(0, "n1", "write", "r0", v("1"), history.OK, nil, "")                                                         // 0, 1
	call(1, "n2", "read", "r0", history.Null, history.OK, v("1"), "")                                                 // 2, 3
	add(history.Op{Process: -1, Type: history.Invoke, F: "partition", Value: json.RawMessage(`{"shape":"isolate"}`)}) // 4
	add(history.Op{Process: -1, Type: history.Info, F: "partition", Value: json.RawMessage(`{"shape":"isolate"}`)})   // 5
	call(2, "n3", "write", "r0", v(hostileValue), history.Info, nil, hostileError)                                    // 6, 7
	call(0, "n1", "cas", hostileKey, history.Value([2]int{1, 2}), history.Fail, nil, "")                              // 8, 9
	add(history.Op{Process: 1, Type: history.Invoke, F: "read", Key: "r0", Value: history.Null, Node: "n2"})          // 10
	add(history.Op{Process: 3, Type: history.Invoke, F: "write", Key: "r0", Value: v("3"), Node: "n3"})               // 11
	add(history.Op{Process: -1, Type: history.Invoke, F: "heal"})                                                     // 12
	add(history.Op{Process: 1, Type: history.OK, F: "read", Key: "r0", Value: v(hostileValue), Node: "n2"})           // 13
	add(history.Op{Process: -1, Type: history.Info, F: "heal"})                                                       // 14
	r := rand.New(rand.NewPCG(1, 2))
	slots := make([]int, 30) // 30 clients; one whose op ends in info goes on as a fresh process
	for i := range slots {
		slots[i] = 10 + i
	}
	next := 40
	for i := 0; i < extraOps; i++ {
		c := r.IntN(len(slots))
		node := fmt.Sprintf("n%d", c%3+1)
		typ := []history.Type{history.OK, history.OK, history.OK, history.Fail, history.Info}[r.IntN(5)]
		call(slots[c], node, "write", fmt.Sprintf("r%d", r.IntN(5)), history.Value(r.IntN(5)), typ, nil, "")
		if typ == history.Info {
			slots[c], next = next, next+1
		}
	}
	// Process 3's write never completes: the run was cut off.
	writeLines(t, filepath.Join(dir, historyFile), ops)

	res := map[string]any{
		"valid": false,
		"summary": checkers.Summary{Valid: checkers.False, Results: []checkers.Result{
			{Checker: checkers.LinearizableName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{
				Kind: "nonlinearizable", Key: "r0", Ops: []int64{10, 13}, Nodes: []string{"n2"}, Definite: true,
				Nemesis: []string{`partition {"shape":"isolate"}`}, Description: "read " + hostileValue + " that nobody wrote",
			}}},
			{Checker: "well-formed", Valid: checkers.True, Stats: map[string]any{"ops": len(ops)}},
		}},
		"stats": map[string]any{"ops": 8, "ok": 4, "fail": 1, "info": 1, "faults": 1, "converged": true, "quiesce_ns": 5e8},
	}
	writeJSON(t, filepath.Join(dir, resultsFile), res)
	writeJSON(t, filepath.Join(dir, testFile), map[string]any{
		"name": "fixture", "db": "regionkv", "workload": "register", "options": map[string]string{"strategy": "lww"}, "nemeses": []string{"partition"}, "cluster": "local",
		"nodes": 3, "seed": 5, "duration_ns": 1e9, "rate": 100, "concurrency": 4, "schedule": []any{map[string]any{"f": "partition"}},
	})
	if err := os.MkdirAll(filepath.Join(dir, "nodes", "n1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nodes", "n1", "node.log"), []byte(hostileLog+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conflict := history.ConflictRecord{Time: 1, Node: "n1", Key: hostileKey, Strategy: "lww",
		Local:    []history.LoggedVersion{{Value: v(hostileValue), TS: 5, Origin: "n1", Seq: 1}},
		Incoming: history.LoggedVersion{Value: v("2"), TS: 6, Origin: "n3", Seq: 1},
		Winner:   history.LoggedVersion{Value: v("2"), TS: 6, Origin: "n3", Seq: 1}}
	b, _ := json.Marshal(conflict)
	if err := os.WriteFile(filepath.Join(dir, history.ConflictsFile), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeLines(t testing.TB, path string, ops []history.Op) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, op := range ops {
		b, err := history.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
