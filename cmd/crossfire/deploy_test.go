package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/crossfire-dev/crossfire/db"
)

// moduleDir is the checkout's root, two folders up from this package.
func moduleDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := moduleRoot(wd)
	if !ok {
		t.Fatalf("no crossfire module above %s", wd)
	}
	return root
}

// TestNightlyWorkflowFansOutOverEveryDatabase: the nightly workflow is valid YAML, its shard
// jobs form a matrix over every database of the catalog and every shard, the engines built from
// Debian's packages get their image first, and a final job merges every shard.
func TestNightlyWorkflowFansOutOverEveryDatabase(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleDir(t), ".github", "workflows", "nightly-chaos.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		Name string `yaml:"name"`
		If   string `yaml:"if"`
		Uses string `yaml:"uses"`
		Run  string `yaml:"run"`
	}
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			If       string
			Strategy struct {
				Matrix struct {
					DB      []string            `yaml:"db"`
					Shard   []int               `yaml:"shard"`
					Include []map[string]string `yaml:"include"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []step `yaml:"steps"`
		} `yaml:"jobs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("the workflow is not valid YAML: %v", err)
	}
	shard, ok := wf.Jobs["shard"]
	if !ok {
		t.Fatal("no shard job")
	}
	m := shard.Strategy.Matrix
	if got, want := slices.Sorted(slices.Values(m.DB)), db.Names(); !slices.Equal(got, want) {
		t.Errorf("the job matrix's databases %v, the catalog's %v", got, want)
	}
	var shards []string
	for _, s := range m.Shard {
		shards = append(shards, fmt.Sprint(s))
	}
	if n := wf.Env["SHARDS"]; n != fmt.Sprint(len(m.Shard)) || m.Shard[0] != 1 || m.Shard[len(m.Shard)-1] != len(m.Shard) {
		t.Errorf("shards %v, SHARDS %q: want 1 to SHARDS", shards, n)
	}
	images := map[string]bool{}
	for _, inc := range m.Include {
		if inc["image"] != "" {
			images[inc["db"]] = true
		}
	}
	for _, name := range []string{"pglogical", "mariadb"} {
		if !images[name] {
			t.Errorf("%s's jobs do not build its image first", name)
		}
	}
	var runs, uploads string
	for _, s := range shard.Steps {
		runs += s.Run + "\n"
		if strings.HasPrefix(s.Uses, "actions/upload-artifact") {
			uploads += s.If
		}
	}
	for _, want := range []string{"--db ${{ matrix.db }}", "--shard ${{ matrix.shard }}/$SHARDS", "apt-get install -y debootstrap", "crossfire clean"} {
		if !strings.Contains(runs, want) {
			t.Errorf("the shard job does not run %q", want)
		}
	}
	if uploads != "always()" {
		t.Error("the shard job does not upload its store whatever happened")
	}
	merge, ok := wf.Jobs["merge"]
	if !ok || fmt.Sprint(merge.Needs) != "shard" || merge.If != "always()" {
		t.Fatalf("no merge job after every shard, whatever happened: %+v", merge.Needs)
	}
	var mergeRuns string
	for _, s := range merge.Steps {
		mergeRuns += s.Run
	}
	if !strings.Contains(mergeRuns, "matrix --merge") || !strings.Contains(mergeRuns, "$GITHUB_STEP_SUMMARY") {
		t.Errorf("the merge job runs %q", mergeRuns)
	}
}

// TestKubernetesExampleGivesEveryPodItsShard reads the README's Indexed Job back: a Job of
// Indexed completions, one pod per shard, and, run by a shell for every completion index as
// Kubernetes would, a command that names each shard once and a store of its own.
func TestKubernetesExampleGivesEveryPodItsShard(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the pod's command with")
	}
	b, err := os.ReadFile(filepath.Join(moduleDir(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "<!-- kubernetes-indexed-job -->\n```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the README has no Kubernetes example")
	}
	var job struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Parallelism    int    `yaml:"parallelism"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Command []string `yaml:"command"`
						Args    []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(block), &job); err != nil {
		t.Fatalf("the example is not valid YAML: %v", err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" || job.Spec.Completions < 2 {
		t.Fatalf("not an Indexed Job of several completions: %+v", job)
	}
	cs := job.Spec.Template.Spec.Containers
	if len(cs) != 1 || len(cs[0].Command) != 2 || cs[0].Command[1] != "-c" || len(cs[0].Args) != 1 {
		t.Fatalf("the pod's command: %+v", cs)
	}
	// The pod's shell line, with crossfire replaced by a printer of its arguments.
	line := strings.Replace(cs[0].Args[0], "crossfire ", `printf '%s\n' `, 1)
	n := job.Spec.Completions
	seen := map[string]bool{}
	stores := map[string]bool{}
	for index := range n {
		cmd := exec.Command(sh, "-c", line)
		cmd.Env = append(os.Environ(), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", index))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("index %d: %v", index, err)
		}
		args := strings.Split(strings.TrimSpace(string(out)), "\n")
		if args[0] != "matrix" {
			t.Fatalf("index %d runs %v", index, args)
		}
		for i, a := range args {
			switch a {
			case "--shard":
				seen[args[i+1]] = true
			case "--store":
				stores[args[i+1]] = true
			}
		}
	}
	for i := 1; i <= n; i++ {
		if !seen[fmt.Sprintf("%d/%d", i, n)] {
			t.Errorf("no pod runs shard %d/%d (shards run: %v)", i, n, seen)
		}
	}
	if len(seen) != n || len(stores) != n {
		t.Errorf("%d completions ran shards %v into stores %v", n, seen, stores)
	}
	// The merge the README names, on shards laid out as the pods lay them out, works: that is
	// TestMatrixShardsMergeToTheWholeRun's; here the flags must parse.
	if code, _, errs := crossfire("matrix", "--merge", "--help"); code != exitValid {
		t.Fatalf("matrix --merge --help: %d %s", code, errs)
	}
}
