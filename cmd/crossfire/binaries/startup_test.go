package binaries_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// smallHistory is a register history of n writes, each followed by a read of what it wrote.
func smallHistory(n int) string {
	var b strings.Builder
	i := 0
	for k := range n {
		for _, op := range []string{
			fmt.Sprintf(`"type":"invoke","f":"write","key":"r0","value":%d`, k),
			fmt.Sprintf(`"type":"ok","f":"write","key":"r0","value":%d`, k),
			`"type":"invoke","f":"read","key":"r0","value":null`,
			fmt.Sprintf(`"type":"ok","f":"read","key":"r0","value":%d`, k),
		} {
			fmt.Fprintf(&b, `{"index":%d,"time":%d,"process":0,%s}`+"\n", i, 1000*i, op)
			i++
		}
	}
	return b.String()
}

// BenchmarkStartup: a command on a small history (40 operations) from the process's start to
// its exit, beside an empty Go program (the cost of starting any process). crossfire's check and
// report run in the binary people type, which links no container runtime; engine-check is the
// same check in crossfire-engine, which does.
//
//	go test ./cmd/crossfire/binaries/ -run '^$' -bench Startup -benchtime 200x -count 3
func BenchmarkStartup(b *testing.B) {
	bin := b.TempDir()
	buildBinaries(b, bin, "crossfire", "crossfire-engine")
	empty := b.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "go.mod"), []byte("module empty\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	build := exec.Command(goTool(b), "build", "-o", filepath.Join(bin, "empty"), ".")
	build.Dir = empty
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	run := b.TempDir()
	hist := filepath.Join(run, "history.jsonl")
	if err := os.WriteFile(hist, []byte(smallHistory(10)), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"process-start", []string{filepath.Join(bin, "empty")}},
		{"check", []string{filepath.Join(bin, "crossfire"), "check", "--workload", "register", hist}},
		{"report", []string{filepath.Join(bin, "crossfire"), "report", run}},
		{"engine-check", []string{filepath.Join(bin, EngineName), "check", "--workload", "register", hist}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command(c.args[0], c.args[1:]...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
			}
		})
	}
}
