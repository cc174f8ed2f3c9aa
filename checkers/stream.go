package checkers

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/crossfire-dev/crossfire/history"
)

// Streamer is a checker that can judge a history one op at a time, holding state bounded by
// the history's keys and requests rather than by its ops, so a history of any length is checked
// straight from its file.
type Streamer interface {
	Checker
	// Stream begins a pass over the history in (whose History is nil: the ops come one by one).
	Stream(in Input) Stream
}

// Stream is one pass of a Streamer over a history.
type Stream interface {
	Observe(op history.Op)
	Result(ctx context.Context) Result
}

// Facts are what a pass over one history gathers for the streams that read them, observed once
// and finished once, then read by each: the sale facts that dedup and oversell judge, the format
// facts that well-formed reports. Any group of checkers can share facts of their own this way.
type Facts interface {
	Observe(op history.Op)
	// Finish completes them after the last op; called again, it does nothing.
	Finish()
	// Decided says that the verdicts of the streams reading them are made once the history has
	// been read: they are worked out beyond the check's deadline, which takes nothing from them.
	Decided() bool
}

// FactStream is a stream over Facts: in a pass with several streams over facts of one key, the
// first gathers them and the others read them.
type FactStream interface {
	Stream
	// Facts are the facts it reads, and their key.
	Facts() (key string, f Facts)
	// OnFacts is the same stream reading f, facts of its key that another stream gathers.
	OnFacts(f Facts) Stream
}

// checkByStreaming implements Check for a Streamer.
func checkByStreaming(ctx context.Context, s Streamer, in Input) Result {
	ops := in.History
	in.History = nil
	st := s.Stream(in)
	for i, op := range ops {
		if i%4096 == 0 && ctx.Err() != nil {
			return Result{Valid: Unknown, Error: timedOut(ctx)}
		}
		st.Observe(op)
	}
	return st.Result(ctx)
}

// CheckStream runs checkers over the ops that next returns until it returns an error (io.EOF
// ends the history; any other error is returned). When every checker is a Streamer, no op is
// kept; otherwise the ops are collected and checked as a slice.
func CheckStream(ctx context.Context, next func() (history.Op, error), in Input, cs ...Checker) (Summary, error) {
	if !allStream(cs) {
		return collectAndCompose(ctx, next, in, cs)
	}
	// Reading and parsing run in a goroutine of their own, a batch ahead of the checkers.
	return checkBatches(ctx, history.NewBatchStream(next), nil, in, cs)
}

// CheckReader is CheckStream over a history reader, whose lines are decoded side by side on
// every core (history.Reader.Batches); tap, when not nil, is shown every op first, in order.
func CheckReader(ctx context.Context, r *history.Reader, tap func(history.Op), in Input, cs ...Checker) (Summary, error) {
	if !allStream(cs) {
		next := r.Next
		if tap != nil {
			next = func() (history.Op, error) {
				op, err := r.Next()
				if err == nil {
					tap(op)
				}
				return op, err
			}
		}
		return collectAndCompose(ctx, next, in, cs)
	}
	return checkBatches(ctx, r.Batches(0), tap, in, cs)
}

func allStream(cs []Checker) bool {
	for _, c := range cs {
		if _, ok := c.(Streamer); !ok {
			return false
		}
	}
	return true
}

func checkBatches(ctx context.Context, src *history.BatchStream, tap func(history.Op), in Input, cs []Checker) (Summary, error) {
	in.History = nil
	// Facts of one key are gathered once, by the first stream that reads them; the others read
	// them and observe nothing. The format facts are the pass's own, gathered for every check.
	format := newFormatCheck()
	shared := map[string]Facts{formatFacts: format}
	streams := make([]Stream, 0, len(cs))
	factsOf := make([]Facts, len(cs)) // the facts each stream reads, if any
	for i, c := range cs {
		st := c.(Streamer).Stream(in)
		if fs, ok := st.(FactStream); ok {
			key, f := fs.Facts()
			if have, ok := shared[key]; ok {
				st, f = observeNothing{fs.OnFacts(have)}, have
			} else {
				shared[key] = f
			}
			factsOf[i] = f
		}
		streams = append(streams, st)
	}
	failed := make([]string, len(cs)) // a stream that panicked is out, with its reason
	defer src.Stop()
	// Each stream that gathers facts of its own observes in a lane of its own, a goroutine that
	// sees every batch in order; the format check and the tap keep to this one. A batch goes back
	// to the reader once every lane is done with it.
	var lanes []chan *sharedBatch
	var lanesDone sync.WaitGroup
	for i, st := range streams {
		if _, idle := st.(observeNothing); idle {
			continue
		}
		lane := make(chan *sharedBatch, 8)
		lanes = append(lanes, lane)
		lanesDone.Go(func() {
			for b := range lane {
				if failed[i] == "" && ctx.Err() != nil {
					failed[i] = timedOut(ctx) // it sees no more of the history
				}
				if failed[i] == "" {
					for _, op := range b.ops {
						if failed[i] = observe(st, op); failed[i] != "" {
							break
						}
					}
				}
				b.done(src)
			}
		})
	}
	interrupted := false
	for batch := range src.C() {
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		b := &sharedBatch{ops: batch}
		b.left.Store(int32(len(lanes)) + 1)
		for _, lane := range lanes {
			lane <- b
		}
		for _, op := range batch {
			if tap != nil {
				tap(op)
			}
			format.Observe(op)
		}
		b.done(src)
	}
	for _, lane := range lanes {
		close(lane)
	}
	lanesDone.Wait()
	if interrupted {
		for i := range failed {
			if failed[i] == "" {
				failed[i] = timedOut(ctx)
			}
		}
	}
	if ctx.Err() != nil {
		src.Stop()
		for range src.C() { // let the reader see stop and end
		}
	} else if err := src.Err(); err != nil {
		return Summary{}, err
	}
	// Shared facts are finished once, while the streams that read none work out their results;
	// after that each stream that reads them only reads what was gathered, so their results too
	// are worked out side by side.
	results := make([]Result, len(cs))
	var wg sync.WaitGroup
	judge := func(i int) {
		c := cs[i]
		if failed[i] != "" {
			results[i] = Result{Checker: c.Name(), Valid: Unknown, Error: failed[i]}
			return
		}
		if f := factsOf[i]; f != nil && f.Decided() {
			results[i] = judgeStream(ctx, c, streams[i], f)
			return
		}
		wg.Go(func() { results[i] = Run(ctx, streamChecker{c, streams[i]}, Input{}) })
	}
	for i := range cs {
		if factsOf[i] == nil {
			judge(i)
		}
	}
	for key, f := range shared {
		if why := finishFacts(key, f); why != "" {
			for i := range cs {
				if factsOf[i] == f {
					failed[i] = why
				}
			}
		}
	}
	for i := range cs {
		if factsOf[i] != nil {
			judge(i)
		}
	}
	wg.Wait()
	untrusted(results, format.err())
	s := Summary{Valid: Verdict(results)}
	s.Results = results
	return s, nil
}

// finishFacts finishes shared facts, and says why not if that panicked.
func finishFacts(key string, f Facts) (failure string) {
	defer func() {
		if p := recover(); p != nil {
			failure = fmt.Sprintf("checker panicked finishing the %s facts: %v\n%s", key, p, debug.Stack())
		}
	}()
	f.Finish()
	return ""
}

func observe(st Stream, op history.Op) (failure string) {
	defer func() {
		if p := recover(); p != nil {
			failure = fmt.Sprintf("checker panicked on op %d: %v\n%s", op.Index, p, debug.Stack())
		}
	}()
	st.Observe(op)
	return ""
}

// sharedBatch is a batch that several lanes observe: left counts those not done with it.
type sharedBatch struct {
	ops  []history.Op
	left atomic.Int32
}

// done marks one lane done with the batch; the last hands it back to be filled again (the
// streams keep copies of what they need).
func (b *sharedBatch) done(src *history.BatchStream) {
	if b.left.Add(-1) == 0 {
		src.Release(b.ops)
	}
}

// observeNothing is a stream whose facts another stream of the same pass gathers.
type observeNothing struct{ Stream }

func (observeNothing) Observe(history.Op) {}

// streamChecker adapts a finished stream to Run, so the result gets the same treatment.
type streamChecker struct {
	c  Checker
	st Stream
}

func (s streamChecker) Name() string                              { return s.c.Name() }
func (s streamChecker) Check(ctx context.Context, _ Input) Result { return s.st.Result(ctx) }

func collectAndCompose(ctx context.Context, next func() (history.Op, error), in Input, cs []Checker) (Summary, error) {
	var ops []history.Op
	for {
		op, err := next()
		if err != nil {
			if isEOF(err) {
				in.History = ops
				return Compose(ctx, in, cs...), nil
			}
			return Summary{}, err
		}
		ops = append(ops, op)
	}
}

// pairer matches completions to invokes as ops stream by (history.Matcher), keeping each open
// invoke whole.
type pairer struct {
	m history.Matcher[history.Op]
}

// observe returns the invoke that op completes, if it completes one.
func (p *pairer) observe(op history.Op) (history.Op, bool) { return p.m.Observe(op, op) }

// pending lists the invokes that never completed: they are read as info.
func (p *pairer) pending() []history.Op { return slices.Collect(p.m.Pending()) }

func isEOF(err error) bool { return err == io.EOF }

// opPass is the skeleton of a stream that judges one workload's operations: it follows the fault
// windows, pairs each of its operations' invoke with its completion and hands the pair to
// complete, and at the end completes every invoke that never returned as info at the history's
// end. The stream embeds it and reads its windows, final reads and count.
type opPass struct {
	p        pairer
	w        windowTracker
	fr       finalReads
	ops      int      // its operations seen
	what     string   // what its operations are, for "not applicable": "cart"
	fs       []string // the operations it judges
	complete func(inv, done history.Op)
}

func newOpPass(in Input, what string, complete func(inv, done history.Op), fs ...string) opPass {
	return opPass{w: windowTracker{faults: in.Faults}, what: what, fs: fs, complete: complete}
}

// observe takes the history's next op, and reports whether it was the nemesis's.
func (s *opPass) observe(op history.Op) (nemesis bool) {
	s.w.observe(op)
	if op.IsNemesis() {
		return true
	}
	if op.Type == history.Invoke {
		if slices.Contains(s.fs, op.F) {
			s.p.observe(op)
			s.ops++
		}
		return false
	}
	if inv, ok := s.p.observe(op); ok {
		s.complete(inv, op)
	}
	return false
}

// finish completes the invokes that never returned, and says why the stream judged nothing when
// the history held none of its operations ("" when it did).
func (s *opPass) finish() (notApplicable string) {
	for _, inv := range s.p.pending() {
		s.complete(inv, history.Op{Index: -1, Time: s.w.end, Type: history.Info, F: inv.F, Key: inv.Key})
	}
	if s.ops == 0 {
		return fmt.Sprintf("no %s op (%s) in the history", s.what, strings.Join(s.fs, ", "))
	}
	return ""
}
