package binaries_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/internal/cli"
)

// The engine's file name and the variable that names one (cmd/crossfire's engine.go).
const (
	EngineName = "crossfire-engine"
	EngineEnv  = "CROSSFIRE_ENGINE"
)

const (
	exitValid = cli.ExitValid
	exitUsage = cli.ExitUsage
	exitEnv   = cli.ExitEnv
)

// goTool is the go command, or a skip: these tests build the binaries as people do.
func goTool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the binaries with")
	}
	return p
}

// moduleDir is the checkout's root, two folders up from this package.
func moduleDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/crossfire-dev/crossfire\n") {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no crossfire module above %s", wd)
		}
	}
}

// buildBinaries builds the commands under cmd/ named by pkgs into dir.
func buildBinaries(t testing.TB, dir string, pkgs ...string) {
	t.Helper()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range pkgs {
		args = append(args, "./cmd/"+p)
	}
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = moduleDir(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestFrontLinksNoContainerRuntime: the binary people type links neither the databases of the
// catalog nor the container runtime, so that check and report never pay for their start-up.
func TestFrontLinksNoContainerRuntime(t *testing.T) {
	cmd := exec.Command(goTool(t), "list", "-deps", "./cmd/crossfire")
	cmd.Dir = moduleDir(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, heavy := range []string{"github.com/testcontainers/", "github.com/moby/", "github.com/crossfire-dev/crossfire/db/builtin", "github.com/crossfire-dev/crossfire/clusters/docker", "github.com/crossfire-dev/crossfire/internal/enginecmd"} {
			if strings.HasPrefix(d, heavy) {
				t.Errorf("crossfire links %s", d)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/crossfire-dev/crossfire/internal/cli\n") {
		t.Errorf("crossfire does not link the command line:\n%s", out)
	}
}

// TestFrontHandsOver: crossfire judges a history itself and hands everything else to the
// crossfire-engine beside it, or the one CROSSFIRE_ENGINE names, or one it builds from the
// checkout it is run in, or one on PATH; with none of these it says what to install, exit 4.
func TestFrontHandsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	both := t.TempDir()
	buildBinaries(t, both, "crossfire", "crossfire-engine")
	alone := t.TempDir()
	buildBinaries(t, alone, "crossfire")
	fixture, err := filepath.Abs("../testdata/register-single-leader-valid.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir() // no checkout here
	cache := t.TempDir()
	env := func(extra ...string) []string {
		var out []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, EngineEnv+"=") && !strings.HasPrefix(kv, "XDG_CACHE_HOME=") {
				out = append(out, kv)
			}
		}
		return append(append(out, "XDG_CACHE_HOME="+cache), extra...)
	}
	type result struct {
		code           int
		stdout, stderr string
	}
	runIn := func(dir, bin string, environ []string, args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, environ
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		return result{code, o.String(), e.String()}
	}

	// Judged in its own process, with no engine anywhere.
	r := runIn(outside, filepath.Join(alone, "crossfire"), env("PATH="+filepath.Dir(goTool(t))), "check", fixture)
	if r.code != exitValid || !strings.Contains(r.stdout, "verdict: valid") {
		t.Fatalf("check without an engine: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// With none to be found: what to install.
	r = runIn(outside, filepath.Join(alone, "crossfire"), env("PATH="+filepath.Dir(goTool(t))), "help")
	if r.code != exitEnv || !strings.Contains(r.stderr, "crossfire-engine") || !strings.Contains(r.stderr, "go install ./cmd/...") {
		t.Fatalf("help with no engine: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The one beside it.
	r = runIn(outside, filepath.Join(both, "crossfire"), env(), "help")
	if r.code != exitValid || !strings.Contains(r.stdout, "databases (--db") {
		t.Fatalf("help with the engine beside: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Its exit code is the command's.
	r = runIn(outside, filepath.Join(both, "crossfire"), env(), "run", "--workload", "nonsense")
	if r.code != exitUsage {
		t.Fatalf("a bad run through the engine: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// One on PATH, outside a checkout.
	r = runIn(outside, filepath.Join(alone, "crossfire"), env("PATH="+both+string(os.PathListSeparator)+filepath.Dir(goTool(t))), "help")
	if r.code != exitValid || !strings.Contains(r.stdout, "databases (--db") {
		t.Fatalf("help with the engine on PATH: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The one CROSSFIRE_ENGINE names.
	r = runIn(outside, filepath.Join(alone, "crossfire"), env(EngineEnv+"="+filepath.Join(both, EngineName)), "help")
	if r.code != exitValid || !strings.Contains(r.stdout, "databases (--db") {
		t.Fatalf("help with %s: exit %d\n%s%s", EngineEnv, r.code, r.stdout, r.stderr)
	}
	// Built from the checkout it is run in (go run ./cmd/crossfire …), once.
	r = runIn(moduleDir(t), filepath.Join(alone, "crossfire"), env(), "help")
	if r.code != exitValid || !strings.Contains(r.stdout, "databases (--db") || !strings.Contains(r.stderr, "building crossfire-engine") {
		t.Fatalf("help in a checkout: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(moduleDir(t), filepath.Join(alone, "crossfire"), env(), "help")
	if r.code != exitValid || strings.Contains(r.stderr, "building") {
		t.Fatalf("help in a checkout, again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
