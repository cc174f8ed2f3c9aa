package checkers

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/crossfire-dev/crossfire/history"
)

// Linearizable checks register ops (read, write, cas) against a cas-register model with
// Porcupine, one independent register per key, every key initially null. An info op may take
// effect at any later time or never, so it returns after every other op; a failed write took no
// effect and is left out, and so is a read whose result is unknown. A failed cas is evidence:
// its comparison failed, so at some moment within it the register did not hold the expected
// value (unless the completion is marked meta.refused: the store refused it before comparing). A key that cannot be
// linearized is one definite anomaly; a check that runs out of time is unknown.
type Linearizable struct {
	// Timeout bounds the whole check, explanation and visualization included; zero means the
	// context's deadline, or 60s without one.
	Timeout time.Duration
	// MaxVisualized bounds how many non-linearizable keys the visualization shows; zero means 5.
	MaxVisualized int
}

// LinearizableName is the checker's name in results and on the command line.
const LinearizableName = "linearizable"

// VisualizationFile is the artifact that shows a violation.
const VisualizationFile = "linearizability.html"

// Name implements Checker.
func (Linearizable) Name() string { return LinearizableName }

// registerOps turns a history into Porcupine operations, grouped by key.
func registerOps(ops []history.Op) (map[string][]porcupine.Operation, error) {
	var end int64
	for _, op := range ops {
		if op.Time > end {
			end = op.Time
		}
	}
	byKey := map[string][]porcupine.Operation{}
	pairs := history.PairIndices(ops)
	// One slab each for inputs and outputs: the model sees pointers into them, so boxing them
	// as interfaces allocates nothing per op.
	ins, outs := make([]regInput, 0, len(pairs)), make([]regOutput, 0, len(pairs))
	values := newValueInterner()
	perKey := map[string]int{}
	for _, p := range pairs {
		if f := ops[p[0]].F; f == "read" || f == "write" || f == "cas" {
			perKey[ops[p[0]].Key]++
		}
	}
	for k, n := range perKey {
		byKey[k] = make([]porcupine.Operation, 0, n)
	}
	pending := history.Op{Index: -1, Time: end, Type: history.Info}
	for _, p := range pairs {
		inv, done := &ops[p[0]], &pending
		if p[1] >= 0 {
			done = &ops[p[1]]
		}
		if inv.IsNemesis() {
			continue
		}
		failedCAS := done.Type == history.Fail && inv.F == "cas" && !done.MetaBool(history.MetaRefused)
		if done.Type == history.Fail && !failedCAS {
			continue
		}
		in := regInput{F: inv.F, Key: inv.Key, Index: inv.Index, Node: inv.Node}
		switch inv.F {
		case "read":
			if done.Type != history.OK {
				continue // an unknown read constrains nothing
			}
		case "write":
			in.Value = values.of(inv.Value)
		case "cas":
			var err error
			if in.Expected, in.New, err = values.casPair(inv.Value); err != nil {
				return nil, fmt.Errorf("op %d: %v", inv.Index, err)
			}
		default:
			continue // not a register op
		}
		out := regOutput{Index: done.Index, Failed: failedCAS}
		ret := done.Time
		if done.Type == history.Info {
			out.Unknown = true
			ret = end + 1 // after everything: it may take effect at any later time
		} else if inv.F == "read" {
			out.Value = values.of(done.Value)
		}
		ins, outs = append(ins, in), append(outs, out)
		byKey[inv.Key] = append(byKey[inv.Key], porcupine.Operation{
			ClientId: inv.Process, Input: &ins[len(ins)-1], Call: inv.Time, Output: &outs[len(outs)-1], Return: ret,
		})
	}
	for k, kops := range byKey {
		if len(kops) == 0 {
			delete(byKey, k) // only ops that constrain nothing
			continue
		}
		twinGroups(kops)
	}
	return byKey, nil
}

// twinGroups numbers the twins among one key's ops: info ops with the same f and the same value
// (for a cas, the same pair), in groups of two or more, each ranked by its call.
func twinGroups(kops []porcupine.Operation) {
	type twinKey struct {
		f             string
		value, expect *string
		next          *string
	}
	groups := map[twinKey][]int{}
	var order []twinKey // groups numbered in the order of their first op, for a stable state
	for i := range kops {
		in := kops[i].Input.(*regInput)
		in.Twin = -1
		if kops[i].Output.(*regOutput).Unknown && in.F != "read" {
			k := twinKey{in.F, in.Value, in.Expected, in.New}
			if _, seen := groups[k]; !seen {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
	}
	var twin int32
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		slices.SortStableFunc(g, func(a, b int) int { return cmp.Compare(kops[a].Call, kops[b].Call) })
		for rank, j := range g {
			jin := kops[j].Input.(*regInput)
			jin.Twin, jin.Rank = twin, int32(rank)
		}
		twin++
	}
}

// Check implements Checker.
func (l Linearizable) Check(ctx context.Context, in Input) Result {
	timeout := l.Timeout
	if _, bounded := ctx.Deadline(); timeout <= 0 && bounded {
		timeout = timeLeft(ctx) // the caller's bound (--timeout, the harness's check timeout)
	} else if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ops := in.History
	byKey, err := registerOps(ops)
	if err != nil {
		return Result{Valid: Unknown, Error: err.Error()}
	}
	keys := make([]string, 0, len(byKey))
	nOps := 0
	for k, kops := range byKey {
		keys = append(keys, k)
		nOps += len(kops)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return notApplicable("no register op (read, write, cas) that took or may have taken effect in the history")
	}
	// A key with a read of a value no operation could have written is illegal whatever the rest
	// of its history: the read alone is its evidence, and the search is spared proving it
	// through every order of the rest (which the ops of unknown outcome multiply).
	keyOps := map[string]int{}
	unwritten := map[string]bool{}
	for _, k := range keys {
		keyOps[k] = len(byKey[k])
		if read, ok := unwrittenRead(byKey[k]); ok {
			byKey[k], unwritten[k] = []porcupine.Operation{read}, true
		}
	}

	max := l.MaxVisualized
	if max <= 0 {
		max = 5
	}
	// A history of a few keys, every one of which the page would show if it were illegal, is
	// searched once, verbosely: that search gives the verdicts, the explanations and the page. A
	// history of more keys is searched key by key, and its illegal keys drawn again verbosely.
	var first *porcupine.LinearizationInfo
	verdicts := make([]porcupine.CheckResult, len(keys))
	if len(keys) <= max {
		var all []porcupine.Operation
		for _, k := range keys {
			all = append(all, byKey[k]...)
		}
		if info, res, err := verbose(ctx, all); err == nil {
			// A key is legal when its partition has a whole linearization; the others are
			// illegal when the search ended, undecided when it ran out of time.
			first = &info
			parts := info.PartialLinearizations()
			for i, k := range keys {
				verdicts[i] = porcupine.Illegal
				if res == porcupine.Unknown || i >= len(parts) {
					verdicts[i] = porcupine.Unknown
				}
				if i < len(parts) && slices.ContainsFunc(parts[i], func(lin []int) bool { return len(lin) == len(byKey[k]) }) {
					verdicts[i] = porcupine.Ok
				}
			}
		}
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				deadline, _ := ctx.Deadline()
				left := time.Until(deadline)
				if left <= 0 {
					verdicts[i] = porcupine.Unknown
					continue
				}
				verdicts[i] = porcupine.CheckOperationsTimeout(CASRegister, byKey[keys[i]], left)
			}
		}()
	}
	for i := range keys {
		if first == nil {
			work <- i
		}
	}
	close(work)
	wg.Wait()

	r := Result{Valid: True, Stats: map[string]any{"keys": len(keys), "ops": nOps}}
	var illegal, unknown []string
	for i, v := range verdicts {
		switch v {
		case porcupine.Illegal:
			illegal = append(illegal, keys[i])
		case porcupine.Unknown:
			unknown = append(unknown, keys[i])
		}
	}
	if len(unknown) > 0 {
		r.Valid = Unknown
		r.Error = fmt.Sprintf("timed out after %v with %d of %d keys undecided (%s)", timeout, len(unknown), len(keys), strings.Join(firstN(unknown, 5), ", "))
	}
	if len(illegal) == 0 {
		return r
	}
	r.Valid = False
	windows := Windows(ops, in.Faults)
	nodeOf := map[int64]string{}
	timeOf := map[int64]int64{}
	for _, op := range ops {
		nodeOf[op.Index], timeOf[op.Index] = op.Node, op.Time
	}
	// One verbose search over the keys drawn (the first max illegal ones) serves both their
	// explanations and the page; a key past them is re-checked on its own.
	shownKeys := illegal[:min(len(illegal), max)]
	var info porcupine.LinearizationInfo
	var verr error
	partOf := map[string]int{} // key -> its partition in info
	if first != nil {
		info = *first // every key, searched already
		for i, k := range keys {
			partOf[k] = i
		}
	} else {
		var shown []porcupine.Operation
		for i, key := range shownKeys {
			shown = append(shown, byKey[key]...)
			partOf[key] = i
		}
		info, _, verr = verbose(ctx, shown)
	}
	var parts [][][]int
	if verr == nil {
		parts = info.PartialLinearizations()
	}
	for _, key := range illegal {
		a := Anomaly{Kind: "nonlinearizable", Key: key, Definite: true}
		var stuck, lin []porcupine.Operation
		if i, ok := partOf[key]; ok && i < len(parts) {
			stuck, lin = explainFrom(byKey[key], parts[i])
		} else {
			stuck, lin = l.explain(ctx, byKey[key])
		}
		for _, o := range append(lin, stuck...) {
			idx := o.Input.(*regInput).Index
			a.Ops = append(a.Ops, idx)
			if n := nodeOf[idx]; n != "" && !contains(a.Nodes, n) {
				a.Nodes = append(a.Nodes, n)
			}
		}
		sort.Slice(a.Ops, func(i, j int) bool { return a.Ops[i] < a.Ops[j] })
		sort.Strings(a.Nodes)
		switch {
		case unwritten[key]:
			in := stuck[0].Input.(*regInput)
			a.Description = fmt.Sprintf("key %q: %s read a value that none of its %d ops could have written", key, CASRegister.DescribeOperation(stuck[0].Input, stuck[0].Output), keyOps[key])
			a.Nemesis = During(windows, timeOf[in.Index], stuck[0].Return)
		case len(stuck) > 0:
			in := stuck[0].Input.(*regInput)
			a.Description = fmt.Sprintf("key %q: no order of its %d ops explains the history; it gets stuck at %s", key, keyOps[key], CASRegister.DescribeOperation(stuck[0].Input, stuck[0].Output))
			a.Nemesis = During(windows, timeOf[in.Index], stuck[0].Return)
		default:
			a.Description = fmt.Sprintf("key %q: no order of its %d ops explains the history", key, keyOps[key])
		}
		r.Anomalies = append(r.Anomalies, a)
	}
	r.Stats["nonlinearizable_keys"] = len(illegal)
	html, err := []byte(nil), verr
	if err == nil {
		html, err = render(ctx, info, windows)
	}
	if err == nil {
		r.Artifacts = map[string][]byte{VisualizationFile: html}
	} else {
		r.Stats["visualization_error"] = err.Error()
	}
	return r
}

// unwrittenRead is the first acknowledged read of a key (by call) that reads a value no op of the
// key could have written: not null, written by no write and swapped in by no cas that may have
// taken effect (a failed cas wrote nothing).
func unwrittenRead(kops []porcupine.Operation) (porcupine.Operation, bool) {
	written := map[*string]bool{nullValue: true}
	for _, o := range kops {
		in, out := o.Input.(*regInput), o.Output.(*regOutput)
		switch {
		case in.F == "write":
			written[in.Value] = true
		case in.F == "cas" && !out.Failed:
			written[in.New] = true
		}
	}
	var found porcupine.Operation
	ok := false
	for _, o := range kops {
		in, out := o.Input.(*regInput), o.Output.(*regOutput)
		if in.F == "read" && !out.Unknown && !written[out.Value] && (!ok || o.Call < found.Call) {
			found, ok = o, true
		}
	}
	return found, ok
}

// explain re-checks one illegal key verbosely (explainFrom).
func (l Linearizable) explain(ctx context.Context, kops []porcupine.Operation) (stuck, tail []porcupine.Operation) {
	left := timeLeft(ctx)
	if left <= 0 {
		return nil, nil // no time left to explain: the anomaly stands without the detail
	}
	_, info := porcupine.CheckOperationsVerbose(CASRegister, kops, left)
	if parts := info.PartialLinearizations(); len(parts) > 0 {
		return explainFrom(kops, parts[0])
	}
	return nil, nil
}

// explainFrom reads a verbose search's partial linearizations of one illegal key's ops: the ops
// that no linearization reached (the first, by call time, is where it gets stuck) and the last
// ops of the longest one.
func explainFrom(kops []porcupine.Operation, lins [][]int) (stuck, tail []porcupine.Operation) {
	var longest []int
	for _, lin := range lins {
		if len(lin) > len(longest) {
			longest = lin
		}
	}
	in := make(map[int]bool, len(longest))
	for _, i := range longest {
		in[i] = true
	}
	var rest []porcupine.Operation
	for i, o := range kops {
		if !in[i] {
			rest = append(rest, o)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Call < rest[j].Call })
	if len(rest) > 0 {
		stuck = rest[:1]
	}
	for i := len(longest) - 1; i >= 0 && len(tail) < 3; i-- {
		tail = append(tail, kops[longest[i]])
	}
	return stuck, tail
}

// byKeyModel is CASRegister with its histories partitioned by key, in the order keys first
// appear: the model of the page, whose partitions are the keys drawn.
var byKeyModel = func() porcupine.Model {
	model := CASRegister
	model.Partition = func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range h {
			k := o.Input.(*regInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	}
	return model
}()

// verbose searches ops (the illegal keys drawn, each key's ops together) once, keeping what the
// explanations and the page need: a partition per key, in the order the keys come.
func verbose(ctx context.Context, ops []porcupine.Operation) (porcupine.LinearizationInfo, porcupine.CheckResult, error) {
	left := timeLeft(ctx)
	if left <= 0 {
		return porcupine.LinearizationInfo{}, porcupine.Unknown, fmt.Errorf("no time left within the check's timeout to draw it")
	}
	res, info := porcupine.CheckOperationsVerbose(byKeyModel, ops, left)
	return info, res, nil
}

// render draws Porcupine's page from a verbose search, with each nemesis window as an
// annotation.
func render(ctx context.Context, info porcupine.LinearizationInfo, windows []Window) ([]byte, error) {
	var notes []porcupine.Annotation
	for _, w := range windows {
		notes = append(notes, porcupine.Annotation{
			Tag: "nemesis", Start: w.Start, End: w.End, Description: w.Description,
			Details: fmt.Sprintf("%s: ops %d to %d", w.Description, w.StartIndex, w.EndIndex), BackgroundColor: "#fde2a7",
		})
	}
	info.AddAnnotations(notes)
	var buf bytes.Buffer
	if err := porcupine.Visualize(byKeyModel, info, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), ctx.Err()
}

// timeLeft is the time until ctx's deadline (the search's bound), or a minute without one.
func timeLeft(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return time.Minute
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
