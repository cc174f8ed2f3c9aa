package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/checkers/txn"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/report"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", `usage: crossfire run [flags]

Starts a three-leader cluster, drives the workload at every leader while the nemeses inject
faults, heals, waits for replication, reads the final state, and checks the history. Prints the
seed first and the verdict and run folder last. Exits 0 valid,
1 anomalies, 2 unknown (the checkers could not decide, or no fault took effect), 3 bad usage or
input (a flag, a value, a nemesis the database cannot suffer), 4 the environment failed (Docker,
a node that would not start, the run folder).`, stderr)
	var t harness.Test
	var nemeses string
	var from string
	var asJSON bool
	o := harness.Options{}
	fs.StringVar(&t.DB, "db", db.Default(), "the database under test: "+strings.Join(db.Names(), ", "))
	fs.StringVar(&t.Workload, "workload", "register", "workload: "+strings.Join(workloads.Names(), ", "))
	dbOptions := optionFlags(fs)
	fs.StringVar(&nemeses, "nemesis", "partition", "comma-separated nemeses: "+strings.Join(nemesis.Names(), ", ")+", or none")
	fs.StringVar(&t.Cluster, "cluster", "", "cluster kind (default: the database's first): "+kindList())
	fs.DurationVar(&t.Duration, "duration", 15*time.Second, "length of the main phase")
	fs.Float64Var(&t.Rate, "rate", 100, "operations per second, all clients together")
	fs.IntVar(&t.Concurrency, "concurrency", 6, "number of clients, spread over the leaders")
	fs.IntVar(&t.Keys, "keys", 0, "number of keys (default: the workload's)")
	fs.BoolVar(&t.UniqueValues, "unique-values", false, "register: write values new to each key (1, 2, 3 …) rather than 0 to 4, so that a stale or lost write cannot pass for another write of the same value (the linearizability check then slows with every write of unknown outcome)")
	fs.IntVar(&t.TxnLength, "txn-length", 0, "list-append, rw-register: the most micro-ops in a transaction (default 4)")
	fs.IntVar(&t.MaxWritesPerKey, "max-writes-per-key", 0, "list-append, rw-register: writes to a key before a fresh key takes its place (default 32)")
	fs.StringVar(&t.KeyDist, "key-dist", "", "list-append, rw-register: how transactions choose keys: "+strings.Join(workloads.KeyDists, ", ")+" (default exponential)")
	fs.StringVar(&t.ConsistencyModel, "consistency-model", "", "list-append, rw-register: the model the isolation checker holds transactions to: "+strings.Join(txn.ModelNames(), ", ")+" (default "+txn.DefaultModel+")")
	fs.IntVar(&t.Nodes, "nodes", 3, "number of leaders")
	fs.Uint64Var(&t.Seed, "seed", 0, "seed of the generator and the nemesis schedule (0: draw one)")
	fs.DurationVar(&t.OpTimeout, "op-timeout", time.Second, "client timeout per operation")
	fs.DurationVar(&t.Interval, "interval", time.Second, "mean quiet time between faults")
	fs.DurationVar(&t.FaultDuration, "fault-duration", 2*time.Second, "mean time a fault lasts")
	fs.DurationVar(&t.Quiesce, "quiesce", 20*time.Second, "bound on the wait for replication after healing")
	fs.DurationVar(&t.WAN, "wan", 0, "put the leaders a round trip apart, e.g. 80ms: every link between leaders waits half of it each way for the whole run, clients reach their own leader at once (default: the cluster's own links)")
	fs.StringVar(&t.Name, "name", "", "test name, the run folder's parent (default: [db-]workload-options-nemeses, e.g. register-lww-partition)")
	fs.StringVar(&o.Store, "store", "store", "store directory for run folders")
	fs.StringVar(&from, "from", "", "rerun the test.json of a run folder (seed and schedule included); other flags are ignored")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crossfire run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := explicitValues(fs); err != nil {
		fmt.Fprintf(stderr, "crossfire run: %v\n", err)
		return exitUsage
	}
	t.Options = dbOptions()
	t.Nemeses = splitList(nemeses)
	if len(t.Nemeses) == 0 {
		t.Nemeses = []string{"none"}
	}
	if from != "" {
		loaded, err := runfolder.LoadTest(runFolder(from))
		if err != nil {
			fmt.Fprintf(stderr, "crossfire run: %v\n", err)
			return exitUsage
		}
		t = loaded
	}
	o.Log = stderr
	o.Progress = progressPrinter(stderr)
	ctx, stop := signalContext()
	defer stop()
	res, err := harness.Run(ctx, t, o)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire run: %v\n", err)
		switch {
		case errors.Is(err, harness.ErrUsage):
			return exitUsage
		default:
			if errors.Is(err, harness.ErrEnvironment) {
				fmt.Fprintln(stderr, "crossfire run: the environment failed; the run folder, if any, holds the node logs")
			}
			return exitEnv
		}
	}
	if asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		printRun(stdout, res)
	}
	return exitFor(res.Valid)
}

// explicitValues refuses a number given on the command line that the test cannot run with: a
// zero would otherwise read as "the default", and one leader has nothing to replicate with.
func explicitValues(fs *flag.FlagSet) error {
	var errs []error
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		switch f.Name {
		case "duration", "op-timeout", "quiesce", "fault-duration":
			if d, err := time.ParseDuration(v); err == nil && d <= 0 {
				errs = append(errs, fmt.Errorf("--%s %s: must be positive (leave the flag out for its default)", f.Name, v))
			}
		case "rate":
			if r, err := strconv.ParseFloat(v, 64); err == nil && r <= 0 {
				errs = append(errs, fmt.Errorf("--rate %s: must be positive (leave the flag out for its default)", v))
			}
		case "concurrency", "keys":
			if n, err := strconv.Atoi(v); err == nil && n <= 0 {
				errs = append(errs, fmt.Errorf("--%s %s: must be positive (leave the flag out for its default)", f.Name, v))
			}
		case "nodes":
			if n, err := strconv.Atoi(v); err == nil && n < 2 {
				errs = append(errs, fmt.Errorf("--nodes %s: a multi-leader test needs two leaders at least", v))
			}
		}
	})
	return errors.Join(errs...)
}

// runFolder accepts a run folder or its test.json.
func runFolder(path string) string {
	if filepath.Base(path) == runfolder.TestFile {
		return filepath.Dir(path)
	}
	return path
}

func printRun(w io.Writer, res harness.Result) {
	s := res.Stats
	fmt.Fprintf(w, "test %s, seed %d: %d ops (%d ok, %d fail, %d info), %d faults", res.Test.Name, res.Test.Seed, s.Ops, s.OK, s.Fail, s.Info, s.Faults)
	if s.Interrupted {
		fmt.Fprint(w, ", interrupted")
	} else if s.Converged {
		fmt.Fprintf(w, ", replicated everywhere %s after healing", report.Duration(time.Duration(s.QuiesceNS)))
	} else {
		fmt.Fprint(w, ", replication had NOT caught up when the final reads ran")
	}
	fmt.Fprintln(w)
	if s.QuiesceErr != "" {
		fmt.Fprintf(w, "replication: %s\n", firstLine(s.QuiesceErr))
	}
	if s.NoFaults != "" {
		fmt.Fprintf(w, "faults: %s, so a pass proves nothing: the verdict is unknown\n", s.NoFaults)
	}
	if s.NemesisErr != "" {
		fmt.Fprintf(w, "nemesis errors: %s\n", firstLine(s.NemesisErr))
	}
	summary := res.Summary
	summary.Valid = res.Valid // the run's verdict: unknown when no fault took effect
	printSummary(w, summary, res.Dir)
	fmt.Fprintf(w, "run folder: %s\n", res.Dir)
	if _, err := os.Stat(filepath.Join(res.Dir, report.File)); err == nil {
		fmt.Fprintf(w, "report: %s\n", filepath.Join(res.Dir, report.File))
	}
	if res.Valid == checkers.False {
		fmt.Fprintf(w, "check it again offline: crossfire check %s\n", res.Dir)
	}
}

// progressPrinter redraws one status line on a terminal, and prints a plain line every five
// seconds (and at each phase) otherwise.
func progressPrinter(w io.Writer) func(harness.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var lastPhase string
	var lastPrint time.Time
	return func(p harness.Progress) {
		line := fmt.Sprintf("[%6.1fs] %-7s ops %d (ok %d, fail %d, info %d)", p.Elapsed.Seconds(), p.Phase, p.Ops, p.OK, p.Fail, p.Info)
		if p.Left > 0 {
			line += fmt.Sprintf(", %.0fs left", p.Left.Seconds())
		}
		if p.Fault != "" {
			line += ", fault: " + p.Fault
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			if p.Phase == "done" {
				fmt.Fprintln(w)
			}
			return
		}
		if p.Phase != lastPhase || time.Since(lastPrint) >= 5*time.Second {
			fmt.Fprintln(w, line)
			lastPhase, lastPrint = p.Phase, time.Now()
		}
	}
}

// optionFlags defines a flag for every option any database in the catalog takes, and returns
// a function giving the ones set on the command line: those are the test's options, and a
// database that does not take one of them refuses the test (harness.Test.Validate), naming
// itself and what it takes.
func optionFlags(fs *flag.FlagSet) func() map[string]string {
	type flagInfo struct {
		usages []string            // in the order first seen
		where  map[string][]string // usage -> "db workload" that take it so
		value  *string
	}
	flags := map[string]*flagInfo{}
	var names []string
	for _, name := range db.Names() {
		d, _ := db.Lookup(name)
		spec := d.Spec()
		for _, w := range spec.Workloads {
			for _, o := range spec.Options[w] {
				fi := flags[o.Name]
				if fi == nil {
					fi = &flagInfo{where: map[string][]string{}, value: new(string)}
					flags[o.Name] = fi
					names = append(names, o.Name)
				}
				u := o.Usage
				if len(o.Values) > 0 {
					u += fmt.Sprintf(" (default %s)", o.Values[0])
				}
				if fi.where[u] == nil {
					fi.usages = append(fi.usages, u)
				}
				fi.where[u] = append(fi.where[u], name+" "+w)
			}
		}
	}
	for _, n := range names {
		fi := flags[n]
		var parts []string
		for _, u := range fi.usages {
			parts = append(parts, strings.Join(fi.where[u], ", ")+": "+u)
		}
		fs.StringVar(fi.value, n, "", "the database's own option; "+strings.Join(parts, "; "))
	}
	return func() map[string]string {
		set := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			if fi, ok := flags[f.Name]; ok {
				set[f.Name] = *fi.value
			}
		})
		if len(set) == 0 {
			return nil
		}
		return set
	}
}

// kindList lists the cluster kinds of every database, for help texts.
func kindList() string {
	var parts []string
	for _, name := range db.Names() {
		d, _ := db.Lookup(name)
		var kinds []string
		for _, k := range d.Spec().Kinds {
			kinds = append(kinds, k.Name)
		}
		parts = append(parts, name+": "+strings.Join(kinds, ", "))
	}
	return strings.Join(parts, "; ")
}
