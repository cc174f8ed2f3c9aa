package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db/mariadb"
	"github.com/crossfire-dev/crossfire/db/pglogical"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/internal/cli"
	_ "github.com/crossfire-dev/crossfire/internal/enginecmd" // the whole of crossfire, as crossfire-engine links it
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/matrix/plan"
	"github.com/crossfire-dev/crossfire/runfolder"
)

const (
	exitValid   = cli.ExitValid
	exitInvalid = cli.ExitInvalid
	exitUnknown = cli.ExitUnknown
	exitUsage   = cli.ExitUsage
	exitEnv     = cli.ExitEnv
)

// The test binary doubles as crossfire-engine, so tests can run it as a separate process and
// kill it.
func TestMain(m *testing.M) {
	if os.Getenv("CROSSFIRE_CLI") == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func crossfire(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string // in stderr or stdout
	}{
		{nil, exitUsage, "usage:"},
		{[]string{"help"}, exitValid, "crossfire run"},
		{[]string{"help", "run"}, exitValid, "-nemesis"},
		{[]string{"run", "--help"}, exitValid, "-workload"},
		{[]string{"check", "--help"}, exitValid, "-checkers"},
		{[]string{"clean", "--help"}, exitValid, "-older-than"},
		{[]string{"clean", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"explode"}, exitUsage, `unknown command "explode" (valid: run, check, matrix, report, export, serve, replay, clean, version, help)`},
		{[]string{"matrix", "--help"}, exitValid, "-seeds"},
		{[]string{"run", "--duration", "0", "--store", dir}, exitUsage, "--duration 0s: must be positive"},
		{[]string{"run", "--rate", "0", "--store", dir}, exitUsage, "--rate 0: must be positive"},
		{[]string{"run", "--concurrency", "0", "--store", dir}, exitUsage, "--concurrency 0: must be positive"},
		{[]string{"run", "--nodes", "1", "--store", dir}, exitUsage, "needs two leaders at least"},
		{[]string{"run", "--nodes", "0", "--store", dir}, exitUsage, "needs two leaders at least"},
		{[]string{"run", "--nemesis", "none,kill", "--store", dir}, exitUsage, "it cannot go with kill"},
		{[]string{"matrix", "--seeds", "1,x", "--store", dir}, exitUsage, `seed "x" is not a positive integer`},
		{[]string{"matrix", "--rows", "tulips", "--store", dir}, exitUsage, `no row matches "tulips" (rows: register single-leader;`},
		{[]string{"matrix", "--duration", "-1s", "--store", dir}, exitUsage, "must not be negative"},
		{[]string{"matrix", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"report"}, exitUsage, "want exactly one RUN folder"},
		{[]string{"report", filepath.Join(dir, "nope")}, exitUsage, "is not a run folder"},
		{[]string{"report", dir}, exitUsage, "no such file"},
		{[]string{"serve", "--store", filepath.Join(dir, "nope")}, exitUsage, "the store"},
		{[]string{"serve", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"help", "serve"}, exitValid, "-listen"},
		{[]string{"run", "--workload", "nope", "--store", dir}, exitUsage, `unknown workload "nope" (valid: cart, claims, inventory, list-append, profile, register, rw-register)`},
		{[]string{"run", "--strategy", "crdt", "--store", dir}, exitUsage, "(valid: lww, single-leader, read-replicas)"},
		{[]string{"run", "--nemesis", "meteor", "--store", dir}, exitUsage, "(valid: clock, clock-tie, disconnect, isolate, kill, kill-all, one-way, partition, pause, retry, or none)"},
		{[]string{"run", "--workload", "inventory", "--stock", "magic", "--store", dir}, exitUsage, `database regionkv has no stock "magic" for the inventory workload (valid: pncounter, escrow)`},
		{[]string{"run", "--workload", "inventory", "--orders", "hope", "--store", dir}, exitUsage, `database regionkv has no orders "hope" for the inventory workload (valid: naive, dedup, queue)`},
		{[]string{"run", "--workload", "inventory", "--strategy", "lww", "--store", dir}, exitUsage, "database regionkv takes no --strategy for the inventory workload (its options there: --stock, --orders, --node-binary)"},
		{[]string{"run", "--db", "nope", "--store", dir}, exitUsage, `unknown database "nope" (valid: mariadb, pglogical, regionkv)`},
		{[]string{"run", "--cluster", "moon", "--store", dir}, exitUsage, "database regionkv cannot start a moon cluster (valid: local, docker)"},
		{[]string{"run", "--nemesis", "partition,disconnect", "--store", dir}, exitUsage, "database regionkv on a local cluster: nemesis disconnect: the cluster cannot take a node off its network (it is no Disconnector)"},
		{[]string{"help"}, exitValid, "clusters: local (processes on loopback, no Docker)"},
		{[]string{"run", "--rate", "-1", "--store", dir}, exitUsage, "--rate -1: must be positive"},
		{[]string{"run", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"run", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"check"}, exitUsage, "want a PATH"},
		{[]string{"check", filepath.Join(dir, "missing.jsonl")}, exitUsage, "no such file"},
		{[]string{"check", "--checkers", "nope", "testdata/register-lww-nonlinearizable.jsonl"}, exitUsage, "unknown checker"},
		{[]string{"check", "--workload", "nope", "testdata/register-lww-nonlinearizable.jsonl"}, exitUsage, "unknown workload"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := crossfire(c.args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, c.code, out, errs, c.want)
			}
		})
	}
	// Nothing was made for the bad runs.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad usage left %d entries in the store", len(entries))
	}
}

func TestCheckFixtures(t *testing.T) {
	code, out, errs := crossfire("check", "testdata/register-lww-nonlinearizable.jsonl")
	if code != exitInvalid || !strings.Contains(out, "nonlinearizable") {
		t.Fatalf("lww fixture: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = crossfire("check", "testdata/register-single-leader-valid.jsonl")
	if code != exitValid || !strings.Contains(out, "verdict: valid") {
		t.Fatalf("single-leader fixture: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = crossfire("check", "--workload", "inventory", "testdata/inventory-pncounter-naive-caught.jsonl")
	if code != exitInvalid || !strings.Contains(out, "duplicate-order") || !strings.Contains(out, "definite oversell") {
		t.Fatalf("pncounter+naive fixture: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = crossfire("check", "--workload", "inventory", "testdata/inventory-escrow-dedup-valid.jsonl")
	if code != exitValid {
		t.Fatalf("escrow+dedup fixture: exit %d\n%s%s", code, out, errs)
	}
	// --out writes the results and the visualization; --json prints the same results.
	dir := t.TempDir()
	code, out, _ = crossfire("check", "--json", "--out", dir, "testdata/register-lww-nonlinearizable.jsonl")
	var s struct {
		Valid   any `json:"valid"`
		Results []struct {
			Checker string `json:"checker"`
		} `json:"results"`
	}
	if code != exitInvalid || json.Unmarshal([]byte(out), &s) != nil || s.Valid != false {
		t.Fatalf("--json: exit %d, %q", code, out)
	}
	for _, f := range []string{"results.json", "linearizability.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("--out did not write %s", f)
		}
	}
	// A checker can be chosen by name; well-formed alone passes this history.
	if code, out, _ := crossfire("check", "--checkers", "well-formed", "testdata/register-lww-nonlinearizable.jsonl"); code != exitValid {
		t.Errorf("--checkers well-formed: exit %d\n%s", code, out)
	}
}

func TestCheckMalformedHistory(t *testing.T) {
	good := `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"r0","value":null}`
	cases := map[string]string{
		"not json":      good + "\n" + `{"index":1,"time":2,"process":0,"type":"ok","f":"read","key":"r0","value":1}` + "\n" + "this is not json\n",
		"no type":       good + "\n" + `{"index":1,"time":2,"process":0,"type":"ok","f":"read","key":"r0","value":1}` + "\n" + `{"index":2,"time":3,"process":0,"f":"read"}` + "\n",
		"array":         good + "\n" + `{"index":1,"time":2,"process":0,"type":"ok","f":"read","key":"r0","value":1}` + "\n" + "[1,2,3]\n",
		"binary":        good + "\n" + `{"index":1,"time":2,"process":0,"type":"ok","f":"read","key":"r0","value":1}` + "\n" + "\x00\xff\xfe\n",
		"wrong type ok": good + "\n" + `{"index":1,"time":2,"process":0,"type":"ok","f":"read","key":"r0","value":1}` + "\n" + `{"index":"2","time":3,"process":0,"type":"ok","f":"read"}` + "\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.jsonl")
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := crossfire("check", path)
			if code != exitUsage || !strings.Contains(errs, "line 3") {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 3 naming line 3", code, errs, out)
			}
		})
	}
}

// TestKilledRunStillChecks SIGKILLs a run in its main phase: the nodes must die with it, and the
// history it leaves must still get a verdict.
func TestKilledRunStillChecks(t *testing.T) {
	store := t.TempDir()
	cmd := exec.Command(os.Args[0], "run", "--store", store, "--duration", "60s", "--name", "killed", "--seed", "5")
	cmd.Env = append(os.Environ(), "CROSSFIRE_CLI=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	hist := filepath.Join(store, "killed", runfolder.LatestLink, runfolder.HistoryFile)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(hist)
		if bytes.Count(b, []byte("\n")) >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never wrote 200 ops\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	runDir, err := filepath.EvalSymlinks(filepath.Join(store, "killed", runfolder.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	// Every node process of the run dies with it.
	deadline = time.Now().Add(5 * time.Second)
	for {
		left := processesMentioning(runDir)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node processes outlived the killed run: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, out, errs := crossfire("check", runDir)
	if code != exitValid && code != exitInvalid && code != exitUnknown {
		t.Fatalf("check of a killed run: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "verdict:") {
		t.Fatalf("no verdict: %s%s", out, errs)
	}
	t.Logf("killed run checked: exit %d: %s", code, strings.SplitN(out, "\n", 2)[0])
}

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestRunAndRerun runs a short lww test through the CLI, then reruns it from its test.json: the
// rerun has the same seed and schedule.
func TestRunAndRerun(t *testing.T) {
	store := t.TempDir()
	code, out, errs := crossfire("run", "--store", store, "--name", "first", "--duration", "3s", "--seed", "11",
		"--nemesis", "partition,pause", "--interval", "300ms", "--fault-duration", "600ms")
	if code != exitInvalid && code != exitValid {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "seed 11") || !strings.Contains(out, "run folder: ") || !strings.Contains(out, "/report.html\n") {
		t.Fatalf("the run does not name its seed and folder:\n%s%s", out, errs)
	}
	first, err := runfolder.LoadTest(filepath.Join(store, "first", runfolder.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Schedule) == 0 {
		t.Fatal("no faults were planned")
	}
	code, out, errs = crossfire("run", "--store", store, "--from", filepath.Join(store, "first", runfolder.LatestLink, runfolder.TestFile))
	if code != exitInvalid && code != exitValid {
		t.Fatalf("rerun: exit %d\n%s%s", code, out, errs)
	}
	entries, _ := os.ReadDir(filepath.Join(store, "first"))
	if len(entries) != 3 { // two runs and latest
		t.Fatalf("rerun did not land beside the first run: %d entries", len(entries))
	}
	second, err := runfolder.LoadTest(filepath.Join(store, "first", runfolder.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(second)
	if !bytes.Equal(a, b) {
		t.Fatalf("rerun differs:\n%s\n%s", a, b)
	}
}

// TestInterruptedRunHealsAndChecks sends SIGINT (Ctrl-C) mid-run: the run must stop its main
// phase, heal, check what it has, say it was interrupted, and leave no process behind.
func TestInterruptedRunHealsAndChecks(t *testing.T) {
	store := t.TempDir()
	cmd := exec.Command(os.Args[0], "run", "--store", store, "--duration", "60s", "--name", "interrupted",
		"--seed", "9", "--nemesis", "pause,partition", "--interval", "200ms", "--fault-duration", "5s")
	cmd.Env = append(os.Environ(), "CROSSFIRE_CLI=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	hist := filepath.Join(store, "interrupted", runfolder.LatestLink, runfolder.HistoryFile)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Wait until a fault is in force, so that healing has something to do.
		b, _ := os.ReadFile(hist)
		if bytes.Contains(b, []byte(`"process":-1,"type":"info"`)) && bytes.Count(b, []byte("\n")) >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never got going\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		t.Fatalf("the run did not stop within 45s of SIGINT\n%s", stderr.String())
	}
	code := cmd.ProcessState.ExitCode()
	if code != exitValid && code != exitInvalid && code != exitUnknown {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "interrupted") || !strings.Contains(stdout.String(), "verdict:") {
		t.Fatalf("output does not say interrupted with a verdict:\n%s", stdout.String())
	}
	runDir, err := filepath.EvalSymlinks(filepath.Join(store, "interrupted", runfolder.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	var res harness.Result
	b, err := os.ReadFile(filepath.Join(runDir, runfolder.ResultsFile))
	if err != nil || json.Unmarshal(b, &res) != nil || !res.Stats.Interrupted {
		t.Fatalf("results.json does not record the interruption: %v %s", err, b)
	}
	// The heal ran: the history ends with the nemesis undoing its faults.
	hb, _ := os.ReadFile(filepath.Join(runDir, runfolder.HistoryFile))
	if !bytes.Contains(hb, []byte(`"f":"resume"`)) || !bytes.Contains(hb, []byte(`"f":"heal"`)) {
		t.Fatal("the history records no heal after the interruption")
	}
	// And the final reads were taken, so convergence judged the leaders' states.
	if !bytes.Contains(hb, []byte(`"final":true`)) {
		t.Fatal("the history has no final reads after the interruption")
	}
	if c := matrix.ResultOf(res, checkers.ConvergenceName); c.Valid == checkers.Unknown || c.NotApplicable != "" {
		t.Fatalf("convergence could not judge an interrupted run: %s", c)
	}
	if left := processesMentioning(runDir); len(left) > 0 {
		t.Fatalf("processes left behind: %v", left)
	}
}

// TestReplayBringsLostAddsBack runs last-writer-wins carts under clock skew and partitions, then
// replays the logged conflicts under orset: the adds lww lost come back.
func TestReplayBringsLostAddsBack(t *testing.T) {
	store := t.TempDir()
	res, err := harness.Run(t.Context(), harness.Test{Name: "replay", Workload: "cart", Options: map[string]string{"strategy": "lww"},
		Nemeses: []string{"partition", "clock"}, Seed: 2, Duration: 5 * time.Second,
		Interval: 300 * time.Millisecond, FaultDuration: time.Second}, harness.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := crossfire("replay", "--strategy", "orset", "--json", res.Dir)
	if code != exitValid {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var rep cli.ReplayReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.LostAdds == 0 || len(rep.LostBack) == 0 || len(rep.Differ) == 0 {
		t.Fatalf("replay under orset brings back %d of %d lost adds (%d conflicts differ)", len(rep.LostBack), rep.LostAdds, len(rep.Differ))
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "replay-orset.json")); err != nil {
		t.Fatalf("no replay file: %v", err)
	}
	// Replaying under the strategy the run used changes nothing.
	code, out, _ = crossfire("replay", "--strategy", "lww", "--json", res.Dir)
	json.Unmarshal([]byte(out), &rep)
	if code != exitValid || len(rep.Differ) != 0 {
		t.Fatalf("lww replayed under lww: exit %d, %d differ", code, len(rep.Differ))
	}
	// Usage errors.
	for _, args := range [][]string{{"replay", res.Dir}, {"replay", "--strategy", "magic", res.Dir}, {"replay", "--strategy", "orset", t.TempDir()}} {
		if code, _, errs := crossfire(args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}

// crossfire matrix runs the chosen rows and seeds, says of each whether its verdict is the
// expected one, and leaves the table (also appended to a summary file) and the outcomes as JSON.
func TestMatrixCommand(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	code, stdout, stderr := crossfire("matrix", "--rows", "register lww", "--seeds", "4", "--duration", "3s",
		"--store", dir, "--summary", summary)
	if code != exitValid {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "register lww               seed 4    invalid  as expected") ||
		!strings.Contains(stdout, "1 of 1 runs as expected") {
		t.Errorf("stdout:\n%s", stdout)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "| register lww | partition | 4 | linearizability violation found | invalid | yes |") {
		t.Errorf("summary %v:\n%s", err, md)
	}
	var outs []plan.Outcome
	b, err := os.ReadFile(filepath.Join(dir, "matrix.json"))
	if err != nil || json.Unmarshal(b, &outs) != nil || len(outs) != 1 || !outs[0].Expected || outs[0].Dir == "" {
		t.Fatalf("matrix.json %v: %s", err, b)
	}
	if c := outs[0].Costs; c == nil || len(c.Leaders) != 3 || c.Leaders[0].P50NS <= 0 || c.UnderFault.Ops == 0 || outs[0].Anomalies == 0 {
		t.Errorf("matrix.json holds no costs of the run: %s", b)
	}
	if !strings.Contains(string(md), "| register lww | 4 | n1 ") {
		t.Errorf("the summary has no costs table:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(outs[0].Dir, runfolder.HistoryFile)); err != nil {
		t.Errorf("the run folder was not kept: %v", err)
	}
}

var cleanupRuns = flag.Int("cleanup-runs", 3, "runs in TestDockerRunsLeaveNothing (the last is killed with SIGKILL)")

// syncBuffer is a bytes.Buffer a child process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDockerRunsLeaveNothing runs crossfire against containers several times in a row: runs that
// finish, runs interrupted with SIGINT in the middle of their faults, and a last one killed with
// SIGKILL and followed by crossfire clean. Afterwards nothing labelled with any of the runs is
// left: no container, network or volume. (Only these runs' labels are looked at, since other
// packages' tests may have clusters up; go test ./cmd/crossfire -run DockerRuns -cleanup-runs 10
// makes it the ten-run soak.)
func TestDockerRunsLeaveNothing(t *testing.T) {
	dc, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	defer dc.Close()
	runsLeaveNothing(t, dc, *cleanupRuns, "--cluster", "docker", "--nemesis", "partition,kill,pause,disconnect")
}

// TestPglogicalRunsLeaveNothing is the same for PostgreSQL with pglogical: a run that finishes,
// one interrupted with SIGINT and one killed with SIGKILL then cleaned leave nothing behind.
func TestPglogicalRunsLeaveNothing(t *testing.T) {
	dc, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	defer dc.Close()
	if err := pglogical.Prerequisites(t.Context()); err != nil {
		t.Skipf("pglogical cannot run here: %v", err)
	}
	// The image first, so that a fresh machine's build is not timed as a run.
	if _, err := pglogical.EnsureImage(t.Context(), dc, io.Discard); err != nil {
		t.Fatal(err)
	}
	runsLeaveNothing(t, dc, 3, "--db", "pglogical", "--nemesis", "partition,kill,pause,disconnect,clock")
}

// TestMariaDBRunsLeaveNothing is the same for MariaDB with Galera, whose links are cut by
// firewall inside the leaders and whose data is in volumes of the run's own.
func TestMariaDBRunsLeaveNothing(t *testing.T) {
	dc, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	defer dc.Close()
	if err := mariadb.Prerequisites(t.Context()); err != nil {
		t.Skipf("mariadb cannot run here: %v", err)
	}
	if _, _, err := docker.EnsureDebianImage(t.Context(), dc, mariadb.Image(""), io.Discard); err != nil {
		t.Fatal(err)
	}
	runsLeaveNothing(t, dc, 3, "--db", "mariadb", "--nemesis", "partition,pause,disconnect,clock")
}

// runsLeaveNothing makes runs crossfire run with args: every other one interrupted with SIGINT
// in the middle of its faults, the last killed with SIGKILL and followed by crossfire clean, and
// checks that each left nothing labelled with its run.
func runsLeaveNothing(t *testing.T, dc *client.Client, runs int, args ...string) {
	store := t.TempDir()
	idPattern := regexp.MustCompile(`\w+ cluster (cf-[0-9a-f]+)`)
	for i := range runs {
		how := []string{"finish", "SIGINT"}[i%2]
		if i == runs-1 {
			how = "SIGKILL"
		}
		t.Run(fmt.Sprintf("run%d-%s", i+1, how), func(t *testing.T) {
			name := fmt.Sprintf("cleanup-%d", i)
			duration := "4s"
			if how != "finish" {
				duration = "60s"
			}
			cmd := exec.Command(os.Args[0], append([]string{"run", "--store", store, "--name", name,
				"--duration", duration, "--seed", fmt.Sprint(i + 1), "--interval", "300ms", "--fault-duration", "800ms"}, args...)...)
			cmd.Env = append(os.Environ(), "CROSSFIRE_CLI=1")
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			if how != "finish" {
				hist := filepath.Join(store, name, runfolder.LatestLink, runfolder.HistoryFile)
				deadline := time.Now().Add(90 * time.Second)
				for { // in the middle of the faults
					b, _ := os.ReadFile(hist)
					if bytes.Count(b, []byte(`"process":-1,"type":"info"`)) >= 2 && bytes.Count(b, []byte("\n")) >= 50 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the run never got going\n%s", stderr.String())
					}
					time.Sleep(50 * time.Millisecond)
				}
				sig := os.Interrupt
				if how == "SIGKILL" {
					sig = os.Kill
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				t.Fatalf("the run did not end\n%s", stderr.String())
			}
			m := idPattern.FindStringSubmatch(stderr.String())
			if m == nil {
				t.Fatalf("the run did not say its cluster's id\n%s", stderr.String())
			}
			run := m[1]
			if how == "SIGKILL" {
				if code, out, errs := crossfire("clean", "--run", run); code != exitValid || !strings.Contains(out, "removed 4 containers, 1 networks") {
					t.Fatalf("crossfire clean --run %s: exit %d\n%s%s", run, code, out, errs)
				}
			} else if code := cmd.ProcessState.ExitCode(); code > exitUnknown {
				t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
			}
			filter := make(client.Filters).Add("label", docker.LabelRun+"="+run)
			cs, err1 := dc.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: filter})
			ns, err2 := dc.NetworkList(t.Context(), client.NetworkListOptions{Filters: filter})
			vs, err3 := dc.VolumeList(t.Context(), client.VolumeListOptions{Filters: filter})
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatal(err)
			}
			if len(cs.Items)+len(ns.Items)+len(vs.Items) != 0 {
				t.Fatalf("run %s (%s) left %d containers, %d networks, %d volumes", run, how, len(cs.Items), len(ns.Items), len(vs.Items))
			}
			if _, err := os.Stat(docker.HostDir(run)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("run %s (%s) left its folder %s", run, how, docker.HostDir(run))
			}
		})
	}
}

// TestCheckKnowsTheWorkload: a bare history is checked as the workload its operations belong to,
// and says so; a run folder's test.json names its workload, and --workload cannot contradict it;
// a history whose operations fit several workloads asks for --workload.
func TestCheckKnowsTheWorkload(t *testing.T) {
	code, out, errs := crossfire("check", "testdata/inventory-pncounter-naive-caught.jsonl")
	if code != exitInvalid || !strings.Contains(errs, "the inventory workload, from the names of its operations") || !strings.Contains(out, "duplicate-order") {
		t.Fatalf("inventory fixture without --workload: exit %d\n%s%s", code, out, errs)
	}
	dir := t.TempDir()
	cart := filepath.Join(dir, "cart.jsonl")
	os.WriteFile(cart, []byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"add","key":"c0","value":"x","node":"n1"}
{"index":1,"time":1,"process":0,"type":"ok","f":"add","key":"c0","node":"n1"}
{"index":2,"time":2,"process":1,"type":"invoke","f":"read","key":"c0","node":"n1"}
{"index":3,"time":3,"process":1,"type":"ok","f":"read","key":"c0","value":["x"],"node":"n1"}
{"index":4,"time":4,"process":2,"type":"invoke","f":"read","key":"c0","node":"n2"}
{"index":5,"time":5,"process":2,"type":"ok","f":"read","key":"c0","value":[],"node":"n2"}
`), 0o644)
	code, out, errs = crossfire("check", cart)
	if code != exitInvalid || !strings.Contains(errs, "the cart workload") || !strings.Contains(out, "lost-add") {
		t.Fatalf("a bare cart history: exit %d\n%s%s", code, out, errs)
	}
	reads := filepath.Join(dir, "reads.jsonl")
	os.WriteFile(reads, []byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":"k","node":"n1"}
{"index":1,"time":1,"process":0,"type":"ok","f":"read","key":"k","value":1,"node":"n1"}
`), 0o644)
	if code, _, errs := crossfire("check", reads); code != exitUsage || !strings.Contains(errs, "fit the workloads cart and register alike; say it with --workload") {
		t.Fatalf("reads alone: exit %d, %s", code, errs)
	}
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	b, _ := os.ReadFile("testdata/inventory-pncounter-naive-caught.jsonl")
	os.WriteFile(filepath.Join(run, "history.jsonl"), b, 0o644)
	os.WriteFile(filepath.Join(run, "test.json"), []byte(`{"name":"x","db":"regionkv","workload":"inventory"}`), 0o644)
	if code, _, errs := crossfire("check", "--workload", "register", run); code != exitUsage || !strings.Contains(errs, "is a run of the inventory workload; the workload register contradicts its test.json") {
		t.Fatalf("a contradicting --workload: exit %d, %s", code, errs)
	}
	// Checked as registers anyway (by naming the checkers), an inventory history is not a pass.
	if code, out, _ := crossfire("check", "--checkers", "linearizable", "testdata/inventory-pncounter-naive-caught.jsonl"); code != exitUnknown || !strings.Contains(out, "linearizable not applicable") {
		t.Fatalf("linearizable on a sale: exit %d\n%s", code, out)
	}
}

// TestCheckSeveralPaths: files, run folders and a whole store at once, one line each, in
// parallel, and the worst verdict's exit code.
func TestCheckSeveralPaths(t *testing.T) {
	store := t.TempDir()
	for name, fixture := range map[string]string{
		"lww/20260101T000000.000Z":    "register-lww-nonlinearizable.jsonl",
		"single/20260101T000000.000Z": "register-single-leader-valid.jsonl",
	} {
		dir := filepath.Join(store, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		b, err := os.ReadFile(filepath.Join("testdata", fixture))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "history.jsonl"), b, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "test.json"), []byte(`{"name":"x","db":"regionkv","workload":"register"}`), 0o644))
	}
	code, out, errs := crossfire("check", store, "testdata/inventory-escrow-dedup-valid.jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, exitInvalid, code, "%s%s", out, errs)
	require.Len(t, lines, 3, out)
	assert.Contains(t, lines[0], filepath.Join(store, "lww", "20260101T000000.000Z")+": invalid")
	assert.Contains(t, lines[0], "(linearizable 3)")
	assert.Contains(t, lines[1], filepath.Join(store, "single", "20260101T000000.000Z")+": valid")
	assert.Contains(t, lines[2], "inventory-escrow-dedup-valid.jsonl: valid")

	code, out, _ = crossfire("check", filepath.Join(store, "single"), "testdata/register-single-leader-valid.jsonl")
	assert.Equal(t, exitValid, code, out)

	code, _, errs = crossfire("check", "--out", t.TempDir(), store)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "--out takes one history")

	code, _, errs = crossfire("check", t.TempDir())
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "holds no history.jsonl")
}

// TestCLIAsPeopleTypeIt: flags after the path, --version, the exit codes in run's help, and a
// history saved by an editor (byte order mark, \r\n, a blank line at the end).
func TestCLIAsPeopleTypeIt(t *testing.T) {
	code, out, errs := crossfire("check", "testdata/inventory-escrow-dedup-valid.jsonl", "--workload", "inventory")
	require.Equal(t, exitValid, code, "%s%s", out, errs)
	assert.NotContains(t, errs, "from the names of its operations", "--workload after the path was not taken")

	code, out, _ = crossfire("--version")
	assert.Equal(t, exitValid, code)
	assert.True(t, strings.HasPrefix(out, "crossfire "), out)

	_, _, errs = crossfire("run", "--help")
	for _, want := range []string{"3 bad usage or\ninput", "4 the environment failed"} {
		assert.Contains(t, errs, want)
	}

	b, err := os.ReadFile("testdata/register-single-leader-valid.jsonl")
	require.NoError(t, err)
	edited := filepath.Join(t.TempDir(), "edited.jsonl")
	text := "\xef\xbb\xbf" + strings.ReplaceAll(string(b), "\n", "\r\n") + "\r\n"
	require.NoError(t, os.WriteFile(edited, []byte(text), 0o644))
	code, out, errs = crossfire("check", edited)
	assert.Equal(t, exitValid, code, "%s%s", out, errs)

	// A bare history: nothing was written, and the output does not say it was.
	code, out, _ = crossfire("check", "testdata/register-lww-nonlinearizable.jsonl")
	assert.Equal(t, exitInvalid, code)
	assert.NotContains(t, out, "wrote")
	assert.NotContains(t, out, "see results.json")
}

// TestCleanSparesRunsInProgress: clean removes what runs whose process has ended left, keeps what
// a run in progress uses unless --all, lists without removing under --dry-run, and refuses a
// negative age.
func TestCleanSparesRunsInProgress(t *testing.T) {
	code, _, errs := crossfire("clean", "--older-than", "-1h")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errs, "must not be negative")
	dc, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	defer dc.Close()
	ended := exec.Command("true")
	require.NoError(t, ended.Run()) // a process that has ended: its pid owns nothing any more
	mine, gone := "cf-test-alive", "cf-test-ended"
	labels := map[string]map[string]string{mine: docker.RunLabels(mine), gone: docker.RunLabels(gone)}
	labels[gone][docker.LabelPID] = fmt.Sprint(ended.Process.Pid)
	for run, l := range labels {
		_, err := dc.NetworkCreate(t.Context(), "crossfire-"+run, client.NetworkCreateOptions{Labels: l})
		require.NoError(t, err)
		defer dc.NetworkRemove(context.Background(), "crossfire-"+run, client.NetworkRemoveOptions{})
	}
	code, out, _ := crossfire("clean", "--run", mine, "--dry-run")
	require.Equal(t, exitValid, code)
	assert.Contains(t, out, "would remove 0 containers, 0 networks, 0 volumes; kept 1 of runs still in progress")
	code, out, _ = crossfire("clean", "--run", mine, "--all", "--dry-run")
	require.Equal(t, exitValid, code)
	assert.Contains(t, out, "network crossfire-"+mine)
	assert.Contains(t, out, "would remove 0 containers, 1 networks")
	code, out, _ = crossfire("clean", "--run", gone)
	require.Equal(t, exitValid, code)
	assert.Contains(t, out, "removed 0 containers, 1 networks")
	code, out, _ = crossfire("clean", "--run", mine, "--all")
	require.Equal(t, exitValid, code)
	assert.Contains(t, out, "removed 0 containers, 1 networks")
}

// TestPglogicalMissingPrerequisiteIsExit4: a pglogical run on a machine that cannot build its
// image (here: an image from another mirror, not built, and no debootstrap on the PATH) ends
// with exit code 4 and one line that says what to install, before any container is made.
func TestPglogicalMissingPrerequisiteIsExit4(t *testing.T) {
	t.Setenv("CROSSFIRE_DEBIAN_MIRROR", "http://mirror.invalid/debian")
	t.Setenv("PATH", t.TempDir())
	code, out, errs := crossfire("run", "--db", "pglogical", "--store", t.TempDir(), "--duration", "2s")
	require.Equal(t, exitEnv, code, "%s%s", out, errs)
	var said []string
	for _, line := range strings.Split(errs, "\n") {
		if strings.Contains(line, "install") {
			said = append(said, line)
		}
	}
	require.Len(t, said, 1, "no single line says what to install:\n%s", errs)
	if !strings.Contains(said[0], "apt-get install -y debootstrap") && !strings.Contains(said[0], "install and start Docker") {
		t.Fatalf("the line does not name what to install: %s", said[0])
	}
	assert.NotContains(t, errs, "pglogical cluster cf-", "a cluster was started")
}

// TestMatrixShardsMergeToTheWholeRun: the matrix run in two shards and merged gives the rows,
// seeds and verdicts of the same matrix run whole, each run once.
func TestMatrixShardsMergeToTheWholeRun(t *testing.T) {
	args := []string{"matrix", "--rows", "register single-leader", "--seeds", "1,2,3,4", "--duration", "4s"}
	whole := t.TempDir()
	if code, out, errs := crossfire(append(args, "--store", whole)...); code != exitValid {
		t.Fatalf("whole: exit %d\n%s%s", code, out, errs)
	}
	shards := t.TempDir()
	for _, s := range []string{"1/2", "2/2"} {
		store := filepath.Join(shards, "shard-"+s[:1], "store")
		if code, out, errs := crossfire(append(args, "--store", store, "--shard", s)...); code != exitValid || !strings.Contains(errs, "shard "+s+": 2 of the plan's 4 runs") {
			t.Fatalf("shard %s: exit %d\n%s%s", s, code, out, errs)
		}
	}
	merged := t.TempDir()
	code, out, errs := crossfire("matrix", "--merge", "--store", merged, shards)
	if code != exitValid || !strings.Contains(out, "(regionkv, local cluster, 2 shards): 4 of 4 runs as expected") {
		t.Fatalf("merge: exit %d\n%s%s", code, out, errs)
	}
	read := func(store string) []string {
		var outs []plan.Outcome
		b, err := os.ReadFile(filepath.Join(store, "matrix.json"))
		if err != nil || json.Unmarshal(b, &outs) != nil {
			t.Fatalf("%s: %v", store, err)
		}
		var rows []string
		for _, o := range outs {
			rows = append(rows, fmt.Sprintf("%s %s seed %d: %s, as expected %v", o.DB, o.Row, o.Seed, o.Valid, o.Expected))
		}
		return rows
	}
	assert.Equal(t, read(whole), read(merged))
	// Shards of another plan (other seeds) do not merge with these.
	if code, out, errs := crossfire("matrix", "--rows", "register single-leader", "--seeds", "5", "--duration", "4s", "--shard", "1/2", "--store", filepath.Join(shards, "other")); code != exitValid {
		t.Fatalf("other plan: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := crossfire("matrix", "--merge", "--store", t.TempDir(), shards); code != exitInvalid || !strings.Contains(errs, "shard 2/2 missing") {
		t.Fatalf("a plan with a shard missing: exit %d\n%s", code, errs)
	}
}

// TestJepsenHistoriesInAndOut: Jepsen's histories are checked and drawn; crossfire's are
// exported as Jepsen's and read back to the same verdicts.
func TestJepsenHistoriesInAndOut(t *testing.T) {
	edn := func(name string) string { return filepath.Join("..", "..", "history", "jepsen", "testdata", name) }
	code, out, errs := crossfire("check", edn("register-stale.edn"))
	if code != exitInvalid || !strings.Contains(out, `definite nonlinearizable: key "7"`) || !strings.Contains(errs, "read as a Jepsen history (10 ops)") {
		t.Fatalf("a stale register: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = crossfire("check", edn("set-lost.edn"))
	if code != exitInvalid || !strings.Contains(out, "definite lost-add") || !strings.Contains(errs, "the cart workload") {
		t.Fatalf("a set missing an element: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs = crossfire("check", edn("list-append.edn")); code != exitValid || !strings.Contains(out, "isolation: valid") {
		t.Fatalf("list-append: exit %d\n%s%s", code, out, errs)
	}
	// Checked into a folder, then drawn.
	dir := t.TempDir()
	if code, out, errs = crossfire("check", "--out", dir, edn("register-valid.edn")); code != exitValid {
		t.Fatalf("a valid register: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs = crossfire("report", dir); code != exitValid {
		t.Fatalf("report: exit %d\n%s%s", code, out, errs)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(page), "partition") {
		t.Fatalf("the report of a Jepsen history shows no partition window: %v", err)
	}
	// A Jepsen run's folder, drawn as it is.
	run := t.TempDir()
	b, _ := os.ReadFile(edn("register-valid.edn"))
	os.WriteFile(filepath.Join(run, "history.edn"), b, 0o644)
	if code, out, errs = crossfire("report", run); code != exitValid || !strings.Contains(errs, "read as a Jepsen history (14 ops)") {
		t.Fatalf("report of a Jepsen run folder: exit %d\n%s%s", code, out, errs)
	}
	// Out and back: the same verdict and anomalies.
	exported := filepath.Join(t.TempDir(), "history.edn")
	if code, out, errs = crossfire("export", "--out", exported, "testdata/register-lww-nonlinearizable.jsonl"); code != exitValid {
		t.Fatalf("export: exit %d\n%s%s", code, out, errs)
	}
	_, direct, _ := crossfire("check", "--checkers", "linearizable", "testdata/register-lww-nonlinearizable.jsonl")
	code, back, errs := crossfire("check", "--checkers", "linearizable", exported)
	// EDN maps have no order: a fault's value comes back with its keys sorted.
	during := regexp.MustCompile(`(?m) \[during .*$`)
	if code != exitInvalid || during.ReplaceAllString(back, "") != during.ReplaceAllString(direct, "") || !strings.Contains(back, "[during partition") {
		t.Fatalf("exported and read back: exit %d\n%s%s\nwant\n%s", code, back, errs, direct)
	}
	code, out, errs = crossfire("export", "--format", "json", "testdata/inventory-escrow-dedup-valid.jsonl")
	if code != exitValid {
		t.Fatalf("export json: exit %d %s", code, errs)
	}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["f"] == nil || m["process"] == nil {
			t.Fatalf("line %d is not a Jepsen op as JSON: %v %s", i+1, err, line)
		}
	}
	if code, _, errs = crossfire("export", "--format", "yaml", "testdata/inventory-escrow-dedup-valid.jsonl"); code != exitUsage || !strings.Contains(errs, "want edn or json") {
		t.Fatalf("a bad format: exit %d %s", code, errs)
	}
	// A bad line or a bad model is found before anything is written.
	bad := filepath.Join(t.TempDir(), "history.jsonl")
	good, _ := os.ReadFile("testdata/register-lww-nonlinearizable.jsonl")
	lines := strings.SplitAfter(string(good), "\n")
	os.WriteFile(bad, []byte(strings.Join(lines[:5], "")+"{\"index\": oops}\n"+strings.Join(lines[5:], "")), 0o644)
	for _, args := range [][]string{{bad}, {"--model", "knossos", "testdata/register-lww-nonlinearizable.jsonl"}} {
		dst := filepath.Join(t.TempDir(), "out.edn")
		code, _, errs := crossfire(append([]string{"export", "--out", dst}, args...)...)
		if code != exitUsage || !strings.Contains(errs, "line 6") && !strings.Contains(errs, `model "knossos"`) {
			t.Fatalf("export %v: exit %d %s", args, code, errs)
		}
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Fatalf("export %v wrote %s anyway (%v)", args, dst, err)
		}
	}
}

// TestCheckTransactions: crossfire check judges a Jepsen history of transactions against the
// model named, with exit 0, 1 or 2 as for every check, and --json names each anomaly's class.
func TestCheckTransactions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.edn")
	// read skew: T1 reads x before T0's append and y after it
	hist := `{:index 0, :type :invoke, :process 0, :f :txn, :value [[:append :x 1] [:append :y 1]]}
{:index 1, :type :invoke, :process 1, :f :txn, :value [[:r :x nil] [:r :y nil]]}
{:index 2, :type :ok, :process 0, :f :txn, :value [[:append :x 1] [:append :y 1]]}
{:index 3, :type :ok, :process 1, :f :txn, :value [[:r :x []] [:r :y [1]]]}
`
	if err := os.WriteFile(path, []byte(hist), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := crossfire("check", "--json", path)
	if code != exitInvalid || !strings.Contains(out, `"kind": "G-single-item"`) || !strings.Contains(out, `"cycle": [`) {
		t.Fatalf("strict serializable: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := crossfire("check", "--consistency-model", "read-committed", path); code != exitValid {
		t.Fatalf("read committed allows read skew: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := crossfire("check", "--consistency-model", "linearizable", path); code != exitUsage || !strings.Contains(errs, "strict-serializable") {
		t.Fatalf("an unknown model: exit %d, %s", code, errs)
	}
	if code, _, errs := crossfire("check", "--rw-register-inference", "psychic", path); code != exitUsage || !strings.Contains(errs, "wfr") {
		t.Fatalf("an unknown inference: exit %d, %s", code, errs)
	}
	// none of the transactions committed: nothing is shown, so the verdict is unknown
	aborted := strings.NewReplacer(":type :ok", ":type :fail").Replace(hist)
	if err := os.WriteFile(path, []byte(aborted), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := crossfire("check", path); code != exitUnknown {
		t.Fatalf("no transaction committed: exit %d\n%s\n%s", code, out, errs)
	}
}
