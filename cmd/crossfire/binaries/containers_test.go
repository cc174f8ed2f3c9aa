package binaries_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/runfolder"
)

// TestInstalledBinariesRunInContainers: the two binaries, built as `go install ./cmd/...` builds
// them and run from an empty folder with no Go toolchain on PATH and no checkout in sight, run a
// test on a container cluster (PostgreSQL with pglogical, and regionkv) and leave its run folder:
// the images' own binaries (the Toxiproxy sidecar, regionkv's node) are the engine binary itself.
func TestInstalledBinariesRunInContainers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a container cluster")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine answers")
	}
	bin := t.TempDir()
	buildBinaries(t, bin, "crossfire", "crossfire-engine")
	// PATH without any folder that holds a go command: the binaries, and what else the machine has.
	path := []string{bin}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err != nil && !slices.Contains(path, d) {
			path = append(path, d)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, EngineEnv+"=") && !strings.HasPrefix(kv, "GO") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+strings.Join(path, string(os.PathListSeparator)), "TESTCONTAINERS_RYUK_DISABLED=true")
	for _, args := range [][]string{
		{"--db", "pglogical", "--nemesis", "partition", "--duration", "5s"},
		{"--cluster", "docker", "--nemesis", "partition", "--duration", "3s"}, // regionkv's node: the engine binary too
	} {
		outside := t.TempDir()
		cmd := exec.Command(filepath.Join(bin, "crossfire"), append([]string{"run", "--store", "store"}, args...)...)
		cmd.Dir, cmd.Env = outside, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code > 2 {
			t.Fatalf("crossfire run %s from an empty folder without Go: exit %d\n%s", strings.Join(args, " "), code, out.String())
		}
		runs, _ := filepath.Glob(filepath.Join(outside, "store", "*", "2*"))
		if len(runs) != 1 {
			t.Fatalf("run folders %v\n%s", runs, out.String())
		}
		for _, f := range []string{"test.json", "history.jsonl", "results.json", "report.html"} {
			if _, err := os.Stat(filepath.Join(runs[0], f)); err != nil {
				t.Errorf("the run folder lacks %s\n%s", f, out.String())
			}
		}
		res, err := runfolder.LoadResult(runs[0])
		if err != nil || res.Stats.OK == 0 {
			t.Fatalf("the run did nothing: %+v, %v\n%s", res.Stats, err, out.String())
		}
		t.Logf("crossfire run %s: exit %d, %d ok ops, %d faults, run folder %s", strings.Join(args, " "), code, res.Stats.OK, res.Stats.Faults, runs[0])
	}
	for _, repo := range []string{"crossfire-toxiproxy", "crossfire-regionkv"} {
		images, err := exec.Command("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
		if err != nil || !strings.Contains(string(images), repo+":self-") {
			t.Errorf("no %s image made of the engine binary: %v %s", repo, err, images)
		}
	}
}
