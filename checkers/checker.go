// Package checkers judges histories. A Checker is a pure function of a history: it runs offline
// on a file as well as at the end of a run, and it knows nothing of clusters, nemeses or
// workloads. Verdicts have three values, so a checker that times out or panics says unknown,
// never valid, and composing ranks false over unknown over true.
//
// Every anomaly names its kind, the ops involved (by history index), the nodes they ran on, the
// nemesis windows in force, and whether it is definite (certain from ok ops alone) or possible
// (it needs an indeterminate op to have taken effect). A checker may return artifacts (files for
// the run folder, such as the Porcupine visualization); it never writes them itself.
package checkers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/crossfire-dev/crossfire/history"
)

// Valid is a three-valued verdict. The zero Valid is Unknown, so a Result nobody filled in is
// never a pass.
type Valid int

// The verdicts, ranked: composing keeps the greatest.
const (
	Unknown Valid = iota
	True
	False
)

func rank(v Valid) int {
	switch v {
	case True:
		return 0
	case Unknown:
		return 1
	default:
		return 2
	}
}

// Worse returns whichever of a and b ranks higher: false over unknown over true.
func Worse(a, b Valid) Valid {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func (v Valid) String() string {
	switch v {
	case True:
		return "valid"
	case False:
		return "invalid"
	default:
		return "unknown"
	}
}

// MarshalJSON writes true, false or "unknown".
func (v Valid) MarshalJSON() ([]byte, error) {
	switch v {
	case True:
		return []byte("true"), nil
	case False:
		return []byte("false"), nil
	default:
		return []byte(`"unknown"`), nil
	}
}

// UnmarshalJSON reads true, false or "unknown".
func (v *Valid) UnmarshalJSON(b []byte) error {
	switch strings.TrimSpace(string(b)) {
	case "true":
		*v = True
	case "false":
		*v = False
	case `"unknown"`:
		*v = Unknown
	default:
		return fmt.Errorf("valid must be true, false or \"unknown\", not %s", b)
	}
	return nil
}

// Anomaly is one thing a checker found wrong.
type Anomaly struct {
	Kind        string   `json:"kind"`
	Key         string   `json:"key,omitempty"`
	Ops         []int64  `json:"ops"`               // history indices of the ops involved
	Nodes       []string `json:"nodes,omitempty"`   // the leaders those ops ran on
	Nemesis     []string `json:"nemesis,omitempty"` // the nemesis windows in force, described
	Definite    bool     `json:"definite"`          // certain from ok ops; otherwise possible
	Cause       string   `json:"cause,omitempty"`   // what the evidence blames, where it can
	Item        string   `json:"item,omitempty"`    // the item (or request) it concerns, where there is one
	Description string   `json:"description"`
	// Cycle is a dependency cycle's edges, for the anomalies that are one (isolation): each from
	// one transaction to the next, named by their invocations' history indices, the last back to
	// the first.
	Cycle []CycleStep `json:"cycle,omitempty"`
	// Engine is what the database's own log says of the operations involved, where the run
	// folder keeps one (runfolder.ExplainCommits): one line per operation.
	Engine []string `json:"engine,omitempty"`
}

// CycleStep is one edge of a dependency cycle and why it holds.
type CycleStep struct {
	From int64  `json:"from"` // history index of the transaction's invocation
	To   int64  `json:"to"`
	Kind string `json:"kind"` // ww, wr, rw, process or realtime
	Key  string `json:"key,omitempty"`
	Why  string `json:"why"`
}

// Result is one checker's verdict on a history.
type Result struct {
	Checker   string    `json:"checker"`
	Valid     Valid     `json:"valid"`
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	Error     string    `json:"error,omitempty"` // why the verdict is unknown
	// NotApplicable, when set, says in one line why the checker judged nothing: the history
	// holds none of what it judges (no register op for linearizable, no read for convergence).
	// Such a result leaves the composed verdict as the others make it; it is never a pass.
	NotApplicable string         `json:"not_applicable,omitempty"`
	Stats         map[string]any `json:"stats,omitempty"`
	Files         []string       `json:"files,omitempty"` // names of the artifacts, as written beside results.json
	// Artifacts are files for the run folder, by name. The harness writes them.
	Artifacts map[string][]byte `json:"-"`
}

// Checker judges a history.
type Checker interface {
	Name() string
	Check(ctx context.Context, in Input) Result
}

// Input is everything a checker judges, handed to it in one call, as Jepsen hands a checker the
// test, the history and its options (a checker's options are its own fields). A checker that
// needs something the input lacks says so in its result: not applicable, or unknown and why.
type Input struct {
	// History is the history, in order. The Input a Streamer's Stream gets has none: the ops
	// come one by one.
	History []history.Op
	// Test is the run's configuration as its test.json holds it; nil for a history alone.
	Test json.RawMessage
	// Faults says how the history names its faults (history.Faults). Nil knows none: every
	// nemesis op is then a fault of its own that nothing undoes.
	Faults *history.Faults
	// Records are what the run kept beside the history.
	Records Records
}

// Records are what a run folder holds beside the history, for the checkers that judge them.
type Records struct {
	// Conflicts are the conflict records the database gave (a run folder's conflicts.jsonl),
	// when ConflictsKept; a database that detected no conflict gave none, and that is an answer
	// too.
	Conflicts     []history.ConflictRecord
	ConflictsKept bool
	// NoConflicts says why there are no conflict records (the database gives none, the run
	// folder holds none, a history alone has none); a checker that needs them is then not
	// applicable, for that reason. Neither kept nor explained, they were not looked for.
	NoConflicts string
}

// Run runs c on in, turning a panic into an unknown verdict and making sure the result is
// named and, when it has anomalies, not valid. It returns by ctx's deadline whatever the checker
// does: a checker still at work then is unknown, timed out (it is told through ctx to stop).
func Run(ctx context.Context, c Checker, in Input) Result {
	if ctx.Done() == nil {
		return run(ctx, c, in)
	}
	if err := ctx.Err(); err != nil {
		return Result{Checker: c.Name(), Valid: Unknown, Error: timedOut(ctx)}
	}
	done := make(chan Result, 1)
	go func() { done <- run(ctx, c, in) }()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		select {
		case r := <-done: // finished at the same moment
			return r
		default:
			return Result{Checker: c.Name(), Valid: Unknown, Error: timedOut(ctx)}
		}
	}
}

// timedOut says why a checker stopped early.
func timedOut(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out before the checker finished (raise --timeout)"
	}
	return "stopped before the checker finished: " + ctx.Err().Error()
}

func run(ctx context.Context, c Checker, in Input) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Checker: c.Name(), Valid: Unknown, Error: fmt.Sprintf("checker panicked: %v\n%s", p, debug.Stack())}
		}
	}()
	r = c.Check(ctx, in)
	r.Checker = c.Name()
	if len(r.Anomalies) > 0 && r.Valid == True {
		r.Valid = False
	}
	if r.NotApplicable != "" {
		if len(r.Anomalies) > 0 {
			r.NotApplicable = "" // a checker that found anomalies judged something
		} else {
			r.Valid = Unknown
		}
	}
	for name := range r.Artifacts {
		r.Files = append(r.Files, name)
	}
	sort.Strings(r.Files)
	return r
}

// Summary is the verdict of several checkers together.
type Summary struct {
	Valid   Valid    `json:"valid"`
	Results []Result `json:"results"`
}

// Anomalies counts the anomalies of every result.
func (s Summary) Anomalies() int {
	n := 0
	for _, r := range s.Results {
		n += len(r.Anomalies)
	}
	return n
}

// Compose runs every checker on in, concurrently, and ranks their verdicts (Verdict). No
// checker at all, or none that found anything to judge, is unknown: nothing was checked.
func Compose(ctx context.Context, in Input, cs ...Checker) Summary {
	// The format facts are gathered here, once; a checker whose stream reads them (well-formed)
	// is judged from them rather than by a pass of its own.
	format := newFormatCheck()
	for _, op := range in.History {
		format.Observe(op)
	}
	shared := map[string]Facts{formatFacts: format}
	results := make([]Result, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		if st, f, ok := onShared(c, in, shared); ok {
			results[i] = judgeStream(ctx, c, st, f)
			continue
		}
		wg.Go(func() { results[i] = Run(ctx, c, in) })
	}
	wg.Wait()
	untrusted(results, format.err())
	return Summary{Valid: Verdict(results), Results: results}
}

// onShared is c's stream reading facts already gathered in shared, when c streams over facts of
// a key there.
func onShared(c Checker, in Input, shared map[string]Facts) (Stream, Facts, bool) {
	s, ok := c.(Streamer)
	if !ok {
		return nil, nil, false
	}
	in.History = nil
	fs, ok := s.Stream(in).(FactStream)
	if !ok {
		return nil, nil, false
	}
	key, _ := fs.Facts()
	f, ok := shared[key]
	if !ok {
		return nil, nil, false
	}
	return fs.OnFacts(f), f, true
}

// judgeStream is c's result from a stream whose pass is over. A stream whose facts were decided
// in the pass keeps its verdict whatever deadline has passed since.
func judgeStream(ctx context.Context, c Checker, st Stream, f Facts) Result {
	if f != nil && f.Decided() {
		ctx = context.WithoutCancel(ctx)
	}
	return Run(ctx, streamChecker{c, st}, Input{})
}

// knownFs are the client operations of HISTORY.md, which the checkers know the effect of.
var knownFs = map[string]bool{"read": true, "write": true, "cas": true, "restock": true, "buy": true,
	"read-stock": true, "read-orders": true, "add": true, "remove": true, "set-field": true, "read-profile": true,
	"claim": true, "release": true, "read-owner": true, "txn": true}

// formatFacts is the key of the format facts, which every pass gathers.
const formatFacts = "format"

// formatCheck follows a history's format as the checkers read it: the rules of HISTORY.md
// (history.Validator, whose verdict is the well-formed checker's), and client operations whose
// effect they know. An operation of another name that may have taken effect (ok or info) may
// have changed what the others judge. It is the one pass that validates a history in a check:
// Facts, decided when the history has been read.
type formatCheck struct {
	v       *history.Validator
	n       int64
	clients bool // a client operation was seen
	unknown string
}

func newFormatCheck() *formatCheck { return &formatCheck{v: history.NewValidator(0)} }

// Observe implements Facts.
func (f *formatCheck) Observe(op history.Op) {
	f.v.Add(op)
	f.n++
	f.clients = f.clients || !op.IsNemesis()
	if f.unknown == "" && !op.IsNemesis() && (op.Type == history.OK || op.Type == history.Info) && !knownFs[op.F] {
		f.unknown = fmt.Sprintf("op %d: operation %q is none the checkers know, and it may have taken effect", op.Index, op.F)
	}
}

// Finish implements Facts.
func (f *formatCheck) Finish() {}

// Decided implements Facts: the format is judged by the time the history has been read.
func (f *formatCheck) Decided() bool { return true }

func (f *formatCheck) err() error {
	if err := f.v.Err(); err != nil {
		return err
	}
	if f.unknown != "" {
		return errors.New(f.unknown)
	}
	return nil
}

// untrusted makes the results of a history that breaks its format (err) uncertain: what the
// checkers found rests on a reading of the history its rules do not allow, so no anomaly is
// definite and no verdict is false. The well-formed checker says what is broken.
func untrusted(results []Result, err error) {
	if err == nil {
		return
	}
	for i := range results {
		r := &results[i]
		if r.Checker == WellFormedName || len(r.Anomalies) == 0 && r.Valid != False {
			continue
		}
		for j := range r.Anomalies {
			r.Anomalies[j].Definite = false
		}
		r.Valid = Unknown
		why := "the history breaks its format (" + firstLineOf(err.Error()) + "), so nothing it shows is certain"
		if r.Error == "" {
			r.Error = why
		} else {
			r.Error = why + "; " + r.Error
		}
	}
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Verdict ranks the results that apply, false over unknown over true. When none applies (no
// results, or every checker found nothing it judges), nothing was judged: unknown.
func Verdict(results []Result) Valid {
	v, applied := True, false
	for _, r := range results {
		if r.NotApplicable != "" {
			continue
		}
		applied = true
		v = Worse(v, r.Valid)
	}
	if !applied {
		return Unknown
	}
	return v
}

// notApplicable is the result of a checker that found nothing it judges.
func notApplicable(why string) Result { return Result{Valid: Unknown, NotApplicable: why} }

// String is the result as JSON: artifact names, not their bytes.
func (r Result) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}
