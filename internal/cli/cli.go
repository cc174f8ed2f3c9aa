// Package cli is crossfire's command line: run, check, matrix, report, serve, replay, version and
// help. Two binaries carry it. crossfire-engine links everything: the databases of the catalog
// (db/builtin) and the container runtime their clusters start with, and adds the clean and serve
// commands (package engine). crossfire, the command people type, links only what judging and
// drawing a history needs: check, report, export and version run in its own process, a few
// milliseconds after it starts, and every other command is handed to crossfire-engine
// (cmd/crossfire).
//
// Exit codes: 0 valid, 1 anomalies found, 2 unknown (a checker could not decide), 3 bad usage or
// bad input, 4 the environment failed.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Exit codes.
const (
	exitValid   = 0
	exitInvalid = 1
	exitUnknown = 2
	exitUsage   = 3
	exitEnv     = 4
)

// The exit codes, for the binaries and their tests.
const (
	ExitValid   = exitValid
	ExitInvalid = exitInvalid
	ExitUnknown = exitUnknown
	ExitUsage   = exitUsage
	ExitEnv     = exitEnv
)

// Command is one subcommand: its arguments after its name, and its exit code.
type Command func(args []string, stdout, stderr io.Writer) int

// added are the commands a binary adds that this package does not link: clean, which needs the
// container runtime, and serve, which needs an HTTP server.
var added = map[string]Command{}

// Add adds a command under name; crossfire-engine adds clean and serve this way.
func Add(name string, c Command) { added[name] = c }

// Light reports whether crossfire runs command cmd in its own process: the commands that judge,
// draw and serve histories, which need neither the catalog's databases nor the container
// runtime. The rest go to crossfire-engine.
func Light(cmd string) bool {
	switch cmd {
	case "check", "report", "export", "version", "--version", "-version":
		return true
	}
	return false
}

const usage = `crossfire: a fault-injection harness for multi-leader replication.

usage:
  crossfire run   [flags]          run a test (the default database, its first cluster kind) and check it
  crossfire check [flags] PATH...  check history files, run folders or the whole store offline
  crossfire matrix [flags]         run the validation matrix: broken designs caught, safe ones pass
  crossfire report RUN             write RUN/report.html again: timeline, anomalies, plots, conflicts
  crossfire export [--format edn|json] RUN  write a run's history as Jepsen's history.edn (Knossos, Elle)
  crossfire serve [flags]          browse the store's runs and their reports on localhost
  crossfire replay --strategy S RUN  re-resolve a run's logged cart conflicts under another strategy
  crossfire clean [--older-than D]   remove the Docker containers, networks and volumes crossfire made
  crossfire version                print the build's version and commit
  crossfire help  [command]        show help

Run 'crossfire COMMAND --help' for a command's flags.

exit codes: 0 valid, 1 anomalies found, 2 unknown, 3 bad usage or input, 4 environment failed
`

// helpText is the usage, then the catalogs: databases (with their cluster kinds, workloads and
// options), workloads, nemeses and checkers.
func helpText() string {
	var b strings.Builder
	b.WriteString(usage)
	b.WriteString("\ndatabases (--db; the default is " + db.Default() + "):\n")
	for _, name := range db.Names() {
		d, _ := db.Lookup(name)
		spec := d.Spec()
		fmt.Fprintf(&b, "  %-10s %s\n", name, spec.About)
		var kinds []string
		for _, k := range spec.Kinds {
			kinds = append(kinds, k.Name+" ("+k.About+")")
		}
		fmt.Fprintf(&b, "  %-10s clusters: %s\n", "", strings.Join(kinds, "; "))
		for _, w := range spec.Workloads {
			var opts []string
			for _, o := range spec.Options[w] {
				if len(o.Values) > 0 {
					opts = append(opts, "--"+o.Name+" "+strings.Join(o.Values, "|"))
				} else {
					opts = append(opts, "--"+o.Name+" VALUE")
				}
			}
			fmt.Fprintf(&b, "  %-10s %s: %s\n", "", w, strings.Join(opts, " "))
		}
	}
	fmt.Fprintf(&b, "workloads (--workload): %s\n", strings.Join(workloads.Names(), ", "))
	fmt.Fprintf(&b, "nemeses (--nemesis): %s, or none\n", strings.Join(nemesis.Names(), ", "))
	fmt.Fprintf(&b, "checkers (crossfire check --checkers): %s\n", strings.Join(checkers.Names(), ", "))
	return b.String()
}

// versionText names the build: the module's version and, for a build from a checkout, its
// commit and whether it had uncommitted changes.
func versionText() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "crossfire (version unknown)"
	}
	v := "crossfire " + bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		v += " (commit " + rev[:min(12, len(rev))]
		if modified == "true" {
			v += ", with uncommitted changes"
		}
		v += ")"
	}
	return v + ", " + bi.GoVersion
}

// Main runs the CLI and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, helpText())
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runCmd(rest, stdout, stderr)
	case "check":
		return checkCmd(rest, stdout, stderr)
	case "replay":
		return replayCmd(rest, stdout, stderr)
	case "matrix":
		return matrixCmd(rest, stdout, stderr)
	case "report":
		return reportCmd(rest, stdout, stderr)
	case "export":
		return exportCmd(rest, stdout, stderr)
	case "serve", "clean":
		if c := added[cmd]; c != nil {
			return c(rest, stdout, stderr)
		}
		fmt.Fprintf(stderr, "crossfire %s: this binary does not carry it; crossfire-engine does (crossfire hands %s to it)\n", cmd, cmd)
		return exitEnv
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionText())
		return exitValid
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 {
			return Main([]string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, helpText())
		return exitValid
	}
	fmt.Fprintf(stderr, "crossfire: unknown command %q (valid: run, check, matrix, report, export, serve, replay, clean, version, help)\n", cmd)
	return exitUsage
}

// exitFor maps a verdict to an exit code.
func exitFor(v checkers.Valid) int {
	switch v {
	case checkers.True:
		return exitValid
	case checkers.False:
		return exitInvalid
	}
	return exitUnknown
}

// SignalContext is cancelled by the first SIGINT or SIGTERM; a second one kills the process.
func SignalContext() (context.Context, context.CancelFunc) { return signalContext() }

// NewFlagSet makes a command's flag set: errors and help to stderr, --help exits 0.
func NewFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	return newFlagSet(name, synopsis, stderr)
}

// Parse parses a command's flags, before and after its positional arguments alike; it returns
// -1 to go on, or the exit code.
func Parse(fs *flag.FlagSet, args []string) int { return parse(fs, args) }

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one kills the process.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// newFlagSet makes a flag set whose errors and help go to stderr and whose --help exits 0.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, before and after the paths alike (check RUN --workload inventory), as go
// test does; "--" ends the flags. It returns -1 to go on, or the exit code.
func parse(fs *flag.FlagSet, args []string) int {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitValid
			}
			return exitUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	_ = fs.Parse(append([]string{"--"}, positional...)) // what fs.Args() returns
	return -1
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printSummary writes a verdict and its anomalies for people. dir is the folder the results and
// the checkers' files were written into, "" when they were written nowhere.
func printSummary(w io.Writer, s checkers.Summary, dir string) {
	var parts []string
	for _, r := range s.Results {
		if r.NotApplicable != "" {
			parts = append(parts, r.Checker+": not applicable")
		} else {
			parts = append(parts, fmt.Sprintf("%s: %s", r.Checker, r.Valid))
		}
	}
	fmt.Fprintf(w, "verdict: %s, %d anomalies (%s)\n", s.Valid, s.Anomalies(), strings.Join(parts, "; "))
	for _, r := range s.Results {
		if r.NotApplicable != "" {
			fmt.Fprintf(w, "  %s not applicable: %s\n", r.Checker, r.NotApplicable)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  %s could not decide: %s\n", r.Checker, firstLine(r.Error))
		}
		for i, a := range r.Anomalies {
			if i == 10 {
				where := "--json or --out DIR shows them all"
				if dir != "" {
					where = "see " + filepath.Join(dir, "results.json")
				}
				fmt.Fprintf(w, "  … and %d more %s anomalies (%s)\n", len(r.Anomalies)-10, r.Checker, where)
				break
			}
			kind := "possible"
			if a.Definite {
				kind = "definite"
			}
			fmt.Fprintf(w, "  %s %s: %s", kind, a.Kind, a.Description)
			if len(a.Nodes) > 0 {
				fmt.Fprintf(w, " [nodes %s]", strings.Join(a.Nodes, ","))
			}
			if len(a.Nemesis) > 0 {
				fmt.Fprintf(w, " [during %s]", strings.Join(a.Nemesis, "; "))
			}
			fmt.Fprintln(w)
			for k, e := range a.Engine {
				if k == 3 {
					fmt.Fprintf(w, "    engine: … and %d more operations (results.json)\n", len(a.Engine)-3)
					break
				}
				fmt.Fprintf(w, "    engine: %s\n", e)
			}
		}
		for _, f := range r.Files {
			if dir != "" {
				fmt.Fprintf(w, "  %s wrote %s\n", r.Checker, filepath.Join(dir, f))
			} else {
				fmt.Fprintf(w, "  %s made %s (--out DIR writes it)\n", r.Checker, f)
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
