package checkers

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"crossfire/history"
)

func TestConflicts(t *testing.T) {
	h := &hist{}
	cartOp(h, "n1", "add", "x", history.OK, 10, map[string]int{"n1": 1})
	cartOp(h, "n2", "add", "y", history.OK, 20, map[string]int{"n2": 1})
	cartOp(h, "n2", "add", "z", history.OK, 30, map[string]int{"n1": 1, "n2": 2}) // saw n1's: not concurrent with it
	logged := ConflictRecord{Node: "n1", Key: "cart:c0", Strategy: "lww",
		Local:    []LoggedVersion{{Origin: "n1", VV: map[string]uint64{"n1": 1}}},
		Incoming: LoggedVersion{Origin: "n2", VV: map[string]uint64{"n2": 1}},
		Winner:   LoggedVersion{Origin: "n2", VV: map[string]uint64{"n2": 1}}}
	cases := []struct {
		name string
		c    Conflicts
		want Valid
	}{
		{"the concurrent pair is logged", Conflicts{Logs: []ConflictRecord{logged}, Loaded: true}, True},
		{"logged by a descendant of each side", Conflicts{Loaded: true, Logs: []ConflictRecord{{Key: "cart:c0",
			Local:    []LoggedVersion{{VV: map[string]uint64{"n1": 2}}},
			Incoming: LoggedVersion{VV: map[string]uint64{"n2": 1, "n3": 4}}}}}, True},
		{"resolved silently", Conflicts{Loaded: true}, False},
		{"a record for another key does not count", Conflicts{Loaded: true, Logs: []ConflictRecord{{Key: "cart:c9", Local: logged.Local, Incoming: logged.Incoming}}}, False},
		{"no logs given", Conflicts{}, Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), c.c, h.ops)
			if r.Valid != c.want {
				t.Fatalf("valid %v, want %v: %s", r.Valid, c.want, r)
			}
			if c.want == False && (len(r.Anomalies) != 1 || r.Anomalies[0].Kind != "silent-conflict" || len(r.Anomalies[0].Ops) != 2) {
				t.Fatalf("anomalies %+v", r.Anomalies)
			}
		})
	}
}

func TestLoadConflictLogs(t *testing.T) {
	dir := t.TempDir()
	if _, found, err := LoadConflictLogs(dir); found || err != nil {
		t.Fatalf("found=%v err=%v in an empty folder", found, err)
	}
	os.MkdirAll(filepath.Join(dir, "nodes", "n1", "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "nodes", "n1", "data", ConflictLogFile), []byte(`{"node":"n1","key":"k","strategy":"lww","local":[],"incoming":{},"winner":{}}`+"\n"), 0o644)
	recs, found, err := LoadConflictLogs(dir)
	if err != nil || !found || len(recs) != 1 || recs[0].Node != "n1" {
		t.Fatalf("%v %v %v", recs, found, err)
	}
	os.WriteFile(filepath.Join(dir, "nodes", "n1", "data", ConflictLogFile), []byte("{oops\n"), 0o644)
	if _, _, err := LoadConflictLogs(dir); err == nil {
		t.Fatal("a broken log was read")
	}
}
