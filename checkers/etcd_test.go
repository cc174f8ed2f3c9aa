package checkers_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// The 103 histories of etcd that Jepsen recorded and Porcupine ships (test_data/jepsen in its
// module): a register under read, write and cas, a line per event, "INFO  jepsen.util - 3
// :invoke :cas [1 4]". They are read here into crossfire's format and into Porcupine's own
// events, so that crossfire's verdicts can be held to Porcupine's and its cost to Porcupine's.

// etcdFiles finds the histories in the module cache, or skips.
func etcdFiles(tb testing.TB) []string {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anishathalye/porcupine").Output()
	if err != nil {
		tb.Skipf("porcupine's module is not at hand: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "test_data", "jepsen", "etcd_*.log"))
	if len(files) == 0 {
		tb.Skip("porcupine's module holds no Jepsen etcd histories")
	}
	return files
}

var etcdLine = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*)$`)

// etcdInput and etcdOutput are Porcupine's own reading of an etcd op, as its tests have it.
type etcdInput struct {
	op         int // 0 read, 1 write, 2 cas
	arg1, arg2 int
}

type etcdOutput struct {
	ok, exists, unknown bool
	value               int
}

// etcdModel is the register model of Porcupine's tests: -1000000 stands for nil; an unknown
// outcome matches anything.
var etcdModel = porcupine.Model{
	Init: func() any { return -1000000 },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(int), input.(etcdInput), output.(etcdOutput)
		switch in.op {
		case 0:
			return out.unknown || !out.exists && st == -1000000 || out.exists && st == out.value, state
		case 1:
			return true, in.arg1
		}
		next := st
		if in.arg1 == st {
			next = in.arg2
		}
		return out.unknown || in.arg1 == st && out.ok || in.arg1 != st && !out.ok, next
	},
}

// readEtcd reads one history both ways: as crossfire's ops (a process's op that ended in info
// is left pending, as Jepsen leaves it; a read that timed out is a fail) and as Porcupine's
// events (unknown outcomes returned at the end).
func readEtcd(tb testing.TB, path string) ([]history.Op, []porcupine.Event) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var ops []history.Op
	var events []porcupine.Event
	open := map[int]int{} // process -> event id of its call
	id := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		m := etcdLine.FindStringSubmatch(s.Text())
		if m == nil {
			continue
		}
		proc, _ := strconv.Atoi(m[1])
		typ, fn, arg := m[2], m[3], strings.TrimSpace(m[4])
		op := history.Op{Index: int64(len(ops)), Time: int64(len(ops)) * 1000, Process: proc, F: fn, Key: "r"}
		nums := func() []int {
			var out []int
			for _, w := range strings.Fields(strings.Trim(arg, "[]")) {
				n, err := strconv.Atoi(w)
				if err != nil {
					return nil
				}
				out = append(out, n)
			}
			return out
		}
		switch typ {
		case "invoke":
			op.Type = history.Invoke
			in := etcdInput{}
			switch fn {
			case "read":
				op.Value = history.Null
			case "write":
				n := nums()
				op.Value, in = history.Value(n[0]), etcdInput{op: 1, arg1: n[0]}
			case "cas":
				n := nums()
				op.Value, in = history.Value(n), etcdInput{op: 2, arg1: n[0], arg2: n[1]}
			}
			events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.CallEvent, Value: in, Id: id})
			open[proc] = id
			id++
		case "info":
			continue // pending to the end: it may take effect at any later time
		default:
			out := etcdOutput{}
			op.Type = history.OK
			switch {
			case typ == "fail" && fn == "read":
				op.Type, op.Error, out.unknown = history.Fail, "timed-out", true
			case fn == "read":
				if arg == "nil" {
					op.Value = history.Null
				} else {
					n, _ := strconv.Atoi(arg)
					op.Value, out.exists, out.value = history.Value(n), true, n
				}
			case fn == "cas":
				out.ok = typ == "ok"
				if typ == "fail" {
					op.Type = history.Fail
				}
			}
			events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: out, Id: open[proc]})
			delete(open, proc)
		}
		ops = append(ops, op)
	}
	for proc, call := range open {
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: etcdOutput{unknown: true}, Id: call})
	}
	return ops, events
}

// writeEtcd writes every history into dir in crossfire's format (etcd_000.jsonl …) and returns
// the files.
func writeEtcd(tb testing.TB, dir string) []string {
	tb.Helper()
	var paths []string
	for _, path := range etcdFiles(tb) {
		ops, _ := readEtcd(tb, path)
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".log")+".jsonl")
		if err := history.WriteFile(out, ops); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, out)
	}
	return paths
}

// TestWriteEtcdHistories writes the histories converted into $CROSSFIRE_ETCD_OUT, for the
// command line to check them: CROSSFIRE_ETCD_OUT=/tmp/etcd go test -run WriteEtcd ./checkers/
func TestWriteEtcdHistories(t *testing.T) {
	dir := os.Getenv("CROSSFIRE_ETCD_OUT")
	if dir == "" {
		t.Skip("CROSSFIRE_ETCD_OUT names no folder to write the etcd histories into")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d histories in %s", len(writeEtcd(t, dir)), dir)
}

// TestEtcdHistoriesGetPorcupinesVerdict: each of the 103 histories gets from crossfire's
// register checkers, as `crossfire check` picks them, the verdict Porcupine gives it.
func TestEtcdHistoriesGetPorcupinesVerdict(t *testing.T) {
	cs, err := runfolder.DefaultCheckers("register")
	if err != nil {
		t.Fatal(err)
	}
	files := etcdFiles(t)
	agree, empty := 0, 0
	for _, path := range files {
		ops, events := readEtcd(t, path)
		want := checkers.False
		if porcupine.CheckEvents(etcdModel, events) {
			want = checkers.True
		}
		if len(ops) == 0 {
			// Porcupine calls an empty history linearizable; crossfire judged nothing in it,
			// and says so.
			want = checkers.Unknown
			empty++
		}
		s := checkers.Compose(context.Background(), checkers.Input{History: ops}, cs...)
		if s.Valid != want {
			var why []string
			for _, r := range s.Results {
				why = append(why, fmt.Sprintf("%s %s %s%s", r.Checker, r.Valid, r.Error, r.NotApplicable))
			}
			t.Errorf("%s: crossfire %s, Porcupine %s (%s)", filepath.Base(path), s.Valid, want, strings.Join(why, "; "))
			continue
		}
		if len(ops) > 0 {
			agree++
		}
	}
	t.Logf("%d of %d histories get Porcupine's verdict; %d, empty, gets unknown where Porcupine calls it linearizable", agree, len(files), empty)
}

// BenchmarkEtcdPorcupine is Porcupine alone on the 103 histories, one after another in one
// process, its events read beforehand: the cost the harness is held to.
func BenchmarkEtcdPorcupine(b *testing.B) {
	var all [][]porcupine.Event
	for _, path := range etcdFiles(b) {
		_, events := readEtcd(b, path)
		all = append(all, events)
	}
	for b.Loop() {
		for _, events := range all {
			porcupine.CheckEvents(etcdModel, events)
		}
	}
	b.ReportMetric(float64(len(all)), "histories")
}

// BenchmarkEtcdCheck is crossfire's linearizable checker on the same histories as files in its
// format, read, validated, paired and checked as `crossfire check --checkers linearizable` does
// it, several at once where cores allow.
func BenchmarkEtcdCheck(b *testing.B) {
	paths := writeEtcd(b, b.TempDir())
	for b.Loop() {
		var wg sync.WaitGroup
		next := make(chan string)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for p := range next {
					if _, err := runfolder.Check(context.Background(), "", p, runfolder.CheckOptions{Checkers: []string{checkers.LinearizableName}}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, p := range paths {
			next <- p
		}
		close(next)
		wg.Wait()
	}
	b.ReportMetric(float64(len(paths)), "histories")
}
