package crossfire

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/crossfire-dev/crossfire"

// layers are the floors of the house, from the ground up: a package imports only packages of its
// own floor or below. Every package of the module stands on one.
var layers = [][]string{
	{"history/jsonscan", "history", "db/regionkv/resolve", "checkers/txn"},
	{"checkers", "clusters", "history/jepsen", "db/regionkv/server"},
	{"workloads", "nemesis", "db", "clusters/docker", "db/regionkv/local", "db/regionkv/containers", "cmd/regionkv"},
	{"runfolder", "db/sqlclient"},
	{"matrix", "report", "report/internal/fixture", "report/reporttest", "report/serve"},
	{"db/regionkv", "db/regionkv/conflictlog", "db/regionkv/txnmatrix", "db/pglogical", "db/pglogical/matrixtest", "db/pglogical/txnmatrix", "db/mariadb", "db/mariadb/matrixtest", "db/mariadb/matrix1011", "db/mariadb/asyncmatrix", "db/mariadb/txnmatrix"},
	{"db/builtin"},
	{"harness", "matrix/plan"},
	{"harness/harnesstest", "internal/cli"},
	{"internal/enginecmd"},
	{"cmd/crossfire", "cmd/crossfire-engine", "cmd/crossfire/binaries", "."},
}

// packages lists the module's packages with what each imports (the module's own, relative to
// its root; "." is the root), tests left out.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the packages with")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rel := func(p string) (string, bool) {
		if p == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		name, _ := rel(f[0])
		pkgs[name] = nil
		for _, imp := range f[1:] {
			if r, ok := rel(imp); ok {
				pkgs[name] = append(pkgs[name], r)
			}
		}
	}
	return pkgs
}

// TestImportsRunDownTheHouse: every package stands on a floor, and imports nothing above it; no
// database imports the harness or the commands.
func TestImportsRunDownTheHouse(t *testing.T) {
	floor := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			floor[p] = i
		}
	}
	pkgs := packages(t)
	for p, imports := range pkgs {
		f, ok := floor[p]
		if !ok {
			t.Errorf("package %s stands on no floor: add it to layers (and to the README's Layout)", p)
			continue
		}
		for _, imp := range imports {
			if g, ok := floor[imp]; ok && g > f {
				t.Errorf("%s (floor %d) imports %s, which stands above it (floor %d)", p, f, imp, g)
			}
			if strings.HasPrefix(p, "db/") && (imp == "harness" || strings.HasPrefix(imp, "harness/") || strings.HasPrefix(imp, "internal/") || imp == "matrix/plan") {
				t.Errorf("database package %s imports %s: a database offers its clients and rows, and is wired and run by the harness and the matrix's plan", p, imp)
			}
		}
	}
	for p := range floor {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("layers name %s, which is no package of the module", p)
		}
	}
}

// TestReadmeLayoutIsTheTree: the README's Layout section lists every package of the module, and
// nothing else.
func TestReadmeLayoutIsTheTree(t *testing.T) {
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var listed []string
	section, block := false, false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			section = line == "## Layout"
		case section && strings.HasPrefix(line, "```"):
			block = !block
		case section && block && line != "" && line[0] != ' ':
			name := strings.TrimSuffix(strings.Fields(line)[0], "/")
			if name == "crossfire" {
				name = "."
			}
			listed = append(listed, name)
		}
	}
	if len(listed) == 0 {
		t.Fatal("the README has no Layout section with a block of packages")
	}
	var want []string
	for p := range packages(t) {
		want = append(want, p)
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(listed))
	for _, p := range want {
		if !slices.Contains(got, p) {
			t.Errorf("the README's Layout does not list %s/", p)
		}
	}
	for _, p := range got {
		if !slices.Contains(want, p) {
			t.Errorf("the README's Layout lists %s/, which is no package", p)
		}
	}
	if len(got) != len(slices.Compact(slices.Clone(got))) {
		t.Errorf("the README's Layout lists a package twice: %v", got)
	}
}
