package runfolder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/checkers"
)

// A register history with no metadata at all: a write at n1, then a read at each leader.
const bareRegister = `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","key":"r","value":1,"node":"n1"}
{"index":1,"time":1,"process":0,"type":"ok","f":"write","key":"r","value":1,"node":"n1"}
{"index":2,"time":2,"process":1,"type":"invoke","f":"read","key":"r","node":"n2"}
{"index":3,"time":3,"process":1,"type":"ok","f":"read","key":"r","value":1,"node":"n2"}
{"index":4,"time":4,"process":2,"type":"invoke","f":"read","key":"r","node":"n1"}
{"index":5,"time":5,"process":2,"type":"ok","f":"read","key":"r","value":1,"node":"n1"}
`

func resultOf(s checkers.Summary, name string) (checkers.Result, bool) {
	for _, r := range s.Results {
		if r.Checker == name {
			return r, true
		}
	}
	return checkers.Result{}, false
}

// TestCheckHandsEveryCheckerTheRunsRecords: the pipeline chooses the run's checkers from its
// test.json, and the conflicts checker, which needs records, says why a run has none rather
// than being left out by its caller; a history alone is judged by the workload its operations
// show, and one whose operations fit several workloads is refused with ErrNoWorkload.
func TestCheckHandsEveryCheckerTheRunsRecords(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, HistoryFile), []byte(bareRegister), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TestFile), []byte(`{"name":"x","workload":"register"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Check(context.Background(), dir, "", CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Summary.Valid != checkers.True {
		t.Fatalf("a linearizable register run: %s", c.Summary.Valid)
	}
	r, ok := resultOf(c.Summary, checkers.ConflictsName)
	if !ok || !strings.Contains(r.NotApplicable, "holds no conflict records") {
		t.Fatalf("the conflicts checker of a folder without records: %+v (found %v)", r, ok)
	}
	c, err = Check(context.Background(), dir, "", CheckOptions{NoConflicts: "database x gives none"})
	if r, _ := resultOf(c.Summary, checkers.ConflictsName); err != nil || r.NotApplicable != "database x gives none" {
		t.Fatalf("the run's own reason: %+v, %v", r, err)
	}
	if _, err := Check(context.Background(), dir, "", CheckOptions{Workload: "cart"}); err == nil || !strings.Contains(err.Error(), "contradicts") {
		t.Fatalf("a workload that contradicts test.json: %v", err)
	}

	reads := filepath.Join(t.TempDir(), "reads.jsonl")
	if err := os.WriteFile(reads, []byte(strings.Join(strings.Split(bareRegister, "\n")[2:4], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(context.Background(), "", reads, CheckOptions{}); !errors.Is(err, ErrNoWorkload) {
		t.Fatalf("reads alone: %v", err)
	}
	alone := filepath.Join(dir, HistoryFile)
	c, err = Check(context.Background(), "", alone, CheckOptions{})
	if err != nil || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "the register workload") {
		t.Fatalf("a history alone: %v, notes %q", err, c.Notes)
	}
	if r, _ := resultOf(c.Summary, checkers.ConflictsName); !strings.Contains(r.NotApplicable, "a history alone") {
		t.Fatalf("the conflicts checker of a history alone: %+v", r)
	}
}
