// Package runfolder owns the run folder: the files a run leaves (test.json, history.jsonl,
// results.json, conflicts.jsonl, nodes/), the test and the result they hold, and the one check
// pipeline that every command judges a history through. A run folder explains itself: test.json
// is enough to run the test again, and Check judges its history again with what the folder kept
// beside it, whether crossfire wrote it or not.
//
//	store/<test name>/<UTC time>/   test.json  history.jsonl  results.json  conflicts.jsonl
//	                                report.html  nodes/<node>/…
//	store/<test name>/latest        the latest run of that test
package runfolder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// The files of a run folder.
const (
	TestFile    = "test.json"     // the test, plain data: enough to run it again
	HistoryFile = "history.jsonl" // the history (HISTORY.md)
	ResultsFile = "results.json"  // the Result
	// ConflictsFile holds every conflict the database under test said it detected, one
	// history.ConflictRecord per line, from every leader; empty when it detected none, absent
	// when it gives none.
	ConflictsFile = "conflicts.jsonl"
	ReportFile    = "report.html"
	NodesDir      = "nodes"  // each node's artifacts (logs, data), by node
	LatestLink    = "latest" // beside the time-stamped folders of a test
)

// Stats describe how a run went.
type Stats struct {
	Ops         int64 `json:"ops"`
	OK          int64 `json:"ok"`
	Fail        int64 `json:"fail"`
	Info        int64 `json:"info"`
	Faults      int   `json:"faults"`
	Interrupted bool  `json:"interrupted"`
	Truncated   bool  `json:"truncated"` // the history's last line was cut off
	Converged   bool  `json:"converged"` // replication caught up after healing, within the bound
	QuiesceNS   int64 `json:"quiesce_ns"`
	// StartUnixNS is the wall-clock time of the history's zero, for what the database stamps
	// with its own clocks (conflict records).
	StartUnixNS int64 `json:"start_unix_ns,omitempty"`
	// MainStartNS is when the main phase began, in the history's time (after the cluster's
	// start and the workload's setup).
	MainStartNS int64  `json:"main_start_ns,omitempty"`
	QuiesceErr  string `json:"quiesce_error,omitempty"` // why replication was not known to have caught up
	NemesisErr  string `json:"nemesis_errors,omitempty"`
	// NoFaults, when set, says why a run that asked for faults had none take effect; its
	// verdict is then unknown rather than valid.
	NoFaults string `json:"no_faults,omitempty"`
	HealErr  string `json:"heal_errors,omitempty"`
	// Costs is what the design cost the clients: latency per leader, and how much was
	// acknowledged while a fault was in force.
	Costs *checkers.Costs `json:"costs,omitempty"`
}

// Result is what a run produced, as results.json holds it.
type Result struct {
	Dir     string           `json:"dir"`
	Test    Test             `json:"test"`
	Valid   checkers.Valid   `json:"valid"`
	Summary checkers.Summary `json:"summary"`
	Stats   Stats            `json:"stats"`
}

// Make creates store/<name>/<UTC time>/ and points store/<name>/latest at it. An empty store is
// ./store.
func Make(store, name string) (string, error) {
	if store == "" {
		store = "store"
	}
	parent := filepath.Join(store, name)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	var dir string
	for {
		stamp := time.Now().UTC().Format("20060102T150405.000Z")
		dir = filepath.Join(parent, stamp)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		time.Sleep(time.Millisecond)
	}
	link := filepath.Join(parent, LatestLink)
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err != nil {
		return dir, err
	}
	if err := os.Rename(tmp, link); err != nil {
		return dir, err
	}
	return dir, nil
}

// WriteJSON writes v to path, indented, with < > & as they are (n1->n2, not n1-\u003en2).
func WriteJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// LoadTest reads a run folder's test.json.
func LoadTest(dir string) (Test, error) {
	path := filepath.Join(dir, TestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Test{}, err
	}
	return parseTest(b, path)
}

// parseTest reads a test.json's bytes (path names it in an error).
func parseTest(b []byte, path string) (Test, error) {
	var t Test
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	var legacy legacyOptions
	if json.Unmarshal(b, &legacy) == nil {
		legacy.into(&t)
	}
	// Fault values as the nemeses write them, in one line: test.json holds them indented (and,
	// written by older versions, with > escaped).
	for i, f := range t.Schedule {
		t.Schedule[i].Value = plainJSON(f.Value)
	}
	return t, nil
}

// LoadResult reads a run folder's results.json.
func LoadResult(dir string) (Result, error) {
	var r Result
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(dir, ResultsFile), err)
	}
	return r, nil
}

// plainJSON is raw in one line, without HTML escapes; raw itself when it is not JSON.
func plainJSON(raw json.RawMessage) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers as written
	if len(raw) == 0 || dec.Decode(&v) != nil {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return raw
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes()))
}

// LoadConflicts reads a run folder's conflict records; found says whether the folder has them
// at all (a database that detected no conflict leaves an empty file).
func LoadConflicts(dir string) (recs []history.ConflictRecord, found bool, err error) {
	f, err := os.Open(filepath.Join(dir, ConflictsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if recs, err = history.ReadConflicts(f); err != nil {
		return nil, true, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return recs, true, nil
}

// WriteConflicts writes the conflict records into the run folder, fsynced; an empty file when
// there are none. A file that could not be written whole is removed: a partial set of records
// would have the conflicts checker report silent conflicts that were logged.
func WriteConflicts(dir string, recs []history.ConflictRecord) error {
	path := filepath.Join(dir, ConflictsFile)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := errors.Join(history.WriteConflicts(f, recs), f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// WriteArtifacts writes every result's artifacts into dir.
func WriteArtifacts(dir string, s checkers.Summary) error {
	var errs []error
	for _, r := range s.Results {
		for name, b := range r.Artifacts {
			errs = append(errs, os.WriteFile(filepath.Join(dir, filepath.Base(name)), b, 0o644))
		}
	}
	return errors.Join(errs...)
}
