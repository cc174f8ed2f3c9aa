// Package harness is the only place where crossfire's parts are wired together. It names no
// database: it finds the test's database in the db catalog and works through that seam (Start,
// Open, Invoke) and the capabilities of package clusters. Run takes a Test (plain data) through
// the phases of a run: refuse, before anything is made, a nemesis the database cannot support;
// start the cluster and wait until every leader answers; set up the workload; run the clients and the nemesis schedule together for the run's
// duration, appending every op to history.jsonl as it happens; heal everything, always, even
// after an error or Ctrl-C; wait, within a bound, until the leaders have exchanged every update;
// read the final state from every leader; then check the history as it stands on disk and write
// results.json and the checkers' artifacts beside it.
//
// Every run gets a folder, store/<test>/<UTC time>/, with test.json (enough to run it again),
// history.jsonl, results.json, nodes/<node>/ (logs, data, conflict log), and a latest link beside
// the time-stamped folders.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/report"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

// The run folder's files, the test and the result are the runfolder package's; these names keep
// the harness's API whole.
type (
	Test   = runfolder.Test
	Result = runfolder.Result
	Stats  = runfolder.Stats
)

// The cluster kinds of the databases crossfire ships.
const (
	ClusterLocal  = runfolder.ClusterLocal
	ClusterDocker = runfolder.ClusterDocker
)

// ErrUsage marks an error in the test's configuration; ErrEnvironment, a failure of what the
// test needs (a node that would not start). The CLI turns them into exit codes 3 and 4.
var (
	ErrUsage       = errors.New("bad usage")
	ErrEnvironment = errors.New("environment failed")
)

// Progress is a snapshot of a running test, for progress lines.
type Progress struct {
	Phase   string        `json:"phase"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Left    time.Duration `json:"left_ns"` // of the main phase
	Ops     int64         `json:"ops"`     // completed client ops
	OK      int64         `json:"ok"`
	Fail    int64         `json:"fail"`
	Info    int64         `json:"info"`
	Fault   string        `json:"fault"` // the fault in force, "" for none
}

// Options tune Run itself, not the test.
type Options struct {
	Store    string         // the store directory; "" means ./store
	Log      io.Writer      // phase messages; nil means none
	Progress func(Progress) // called about every second during the main phase and at each phase
}

// Run runs a test. It returns an error wrapping ErrUsage or ErrEnvironment when the run could not
// be made; a run that was made returns its Result (and a nil error) whatever the verdict. A run
// interrupted through ctx is healed, checked and returned with Stats.Interrupted set.
func Run(ctx context.Context, t Test, o Options) (Result, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return Result{Test: t}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	wl, _ := workloads.New(t.Workload, t.WorkloadOptions())
	ns, _ := nemesis.Lookup(t.Nemeses)
	d, _ := db.Lookup(t.DB)
	kind, _ := d.Spec().Kind(t.Cluster)
	// What the database's cluster of this kind can suffer is known from its type before anything
	// starts: a nemesis it cannot support is refused before the run folder is made.
	env := &nemesis.Env{Cluster: kind.Cluster, Clients: &nemesis.ClientFaults{}}
	if err := nemesis.Check(env, ns); err != nil {
		return Result{Test: t}, fmt.Errorf("%w: database %s on a %s cluster: %v", ErrUsage, t.DB, t.Cluster, err)
	}
	if _, ok := kind.Cluster.(clusters.WANEmulator); t.WAN > 0 && !ok {
		return Result{Test: t}, fmt.Errorf("%w: database %s on a %s cluster cannot put its leaders a round trip apart (no WANEmulator)", ErrUsage, t.DB, t.Cluster)
	}
	nodeIDs := make([]string, t.Nodes)
	for i := range nodeIDs {
		nodeIDs[i] = fmt.Sprintf("n%d", i+1)
	}
	if len(t.Schedule) == 0 {
		t.Schedule = nemesis.Plan(t.Seed, env, ns, nodeIDs, t.Duration, nemesis.Timing{Interval: t.Interval, Duration: t.FaultDuration, HoldLast: t.HoldLast})
	}
	r := &run{t: t, o: o, db: d, wl: wl, ns: ns, res: Result{Test: t}}
	if o.Log == nil {
		r.o.Log = io.Discard
	}
	dir, err := runfolder.Make(o.Store, t.Name)
	if err != nil {
		return r.res, fmt.Errorf("%w: making the run folder: %v", ErrEnvironment, err)
	}
	r.dir, r.res.Dir = dir, dir
	if err := runfolder.WriteJSON(filepath.Join(dir, runfolder.TestFile), t); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	r.logf("crossfire: test %s, seed %d, %d faults planned, run folder %s", t.Name, t.Seed, len(t.Schedule), dir)
	return r.run(ctx)
}

type run struct {
	t   Test
	o   Options
	db  db.DB
	wl  workloads.Workload
	ns  []nemesis.Nemesis
	dir string
	res Result

	start   time.Time
	hw      *history.Writer
	histErr atomic.Value // the first append error
	ok      atomic.Int64
	fail    atomic.Int64
	info    atomic.Int64
	procs   atomic.Int64 // the next fresh process number
	phase   atomic.Value
	env     *nemesis.Env
	nem     *nemesis.Runner
	mainEnd time.Time
}

// freshProcess returns a process number never used before.
func (r *run) freshProcess() int { return int(r.procs.Add(1) - 1) }

func (r *run) logf(format string, args ...any) { fmt.Fprintf(r.o.Log, format+"\n", args...) }

func (r *run) record(op history.Op) history.Op {
	stamped, err := r.hw.Append(op)
	if err != nil {
		r.histErr.CompareAndSwap(nil, err)
	}
	if op.Process >= 0 {
		switch op.Type {
		case history.OK:
			r.ok.Add(1)
		case history.Fail:
			r.fail.Add(1)
		case history.Info:
			r.info.Add(1)
		}
	}
	return stamped
}

func (r *run) progress() Progress {
	p := Progress{Phase: r.phase.Load().(string), Elapsed: time.Since(r.start),
		OK: r.ok.Load(), Fail: r.fail.Load(), Info: r.info.Load()}
	p.Ops = p.OK + p.Fail + p.Info
	if left := time.Until(r.mainEnd); left > 0 && p.Phase == "main" {
		p.Left = left
	}
	if r.nem != nil {
		p.Fault = r.nem.Current()
	}
	return p
}

func (r *run) setPhase(p string) {
	r.phase.Store(p)
	if r.o.Progress != nil {
		r.o.Progress(r.progress())
	}
	if r.hw != nil {
		_ = r.hw.Sync() // every phase boundary is durable
	}
}

func (r *run) run(ctx context.Context) (Result, error) {
	r.start = time.Now()
	r.res.Stats.StartUnixNS = r.start.UnixNano()
	r.setPhase("start")
	c, err := r.db.Start(ctx, db.Setup{Kind: r.t.Cluster, Nodes: r.t.Nodes, Workload: r.t.Workload, Options: r.t.Options, Dir: r.dir, Log: r.o.Log})
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		return r.res, fmt.Errorf("%w: starting %s: %v", ErrEnvironment, r.t.DB, err)
	}
	r.env = &nemesis.Env{Cluster: c, Clients: &nemesis.ClientFaults{}}
	if err := nemesis.Check(r.env, r.ns); err != nil {
		return r.res, fmt.Errorf("%w: database %s: %v", ErrUsage, r.t.DB, err)
	}
	if t := r.t.WAN; t > 0 {
		w, ok := c.(clusters.WANEmulator)
		if !ok {
			return r.res, fmt.Errorf("%w: database %s: its cluster cannot put its leaders a round trip apart", ErrUsage, r.t.DB)
		}
		if err := w.SetWAN(ctx, t); err != nil {
			return r.res, fmt.Errorf("%w: a round trip of %s between leaders: %v", ErrEnvironment, t, err)
		}
		r.logf("crossfire: leaders are %s apart (round trip); clients reach their own at once", t)
	}
	nodes := c.Nodes()
	if r.hw, err = history.Create(filepath.Join(r.dir, runfolder.HistoryFile), r.start); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	defer r.hw.Close()

	r.setPhase("setup")
	r.procs.Store(int64(r.t.Concurrency))
	setup := r.clients()
	for i, op := range r.wl.Setup() {
		n := nodes[i%len(nodes)]
		for _, m := range nodes {
			if m.ID == op.Node {
				n = m
			}
		}
		op.Process, op.Node = r.freshProcess(), n.ID
		if done := setup.invoke(ctx, n, op); done.Type != history.OK {
			r.logf("crossfire: setup %s %s at %s: %s (%s)", op.F, op.Key, n.ID, done.Type, done.Error)
		}
	}
	setup.close()

	r.setPhase("main")
	r.res.Stats.MainStartNS = time.Since(r.start).Nanoseconds()
	r.main(ctx, nodes)

	// Heal whatever happened, with a context of its own (Ctrl-C must not leave a node frozen),
	// each nemesis within its own budget (nemesis.HealTimeout).
	r.setPhase("heal")
	if err := nemesis.HealAll(context.WithoutCancel(ctx), r.env, r.ns, func(op history.Op) { r.record(op) }); err != nil {
		r.res.Stats.HealErr = err.Error()
		r.logf("crossfire: healing: %v", err)
	}
	if r.nem != nil {
		r.nem.Healed()
	}

	// Interrupted, the run still waits for replication and takes its final reads (a second
	// Ctrl-C stops the process at once), so that what it recorded can be judged.
	fctx := ctx
	if ctx.Err() != nil {
		r.logf("crossfire: interrupted: healed; waiting for replication (at most %v) and taking the final reads, so the run can still be judged (Ctrl-C again stops at once)", r.t.Quiesce)
		fctx = context.WithoutCancel(ctx)
	}
	r.settle(fctx, c)
	r.res.Stats.Interrupted = ctx.Err() != nil
	if err := r.hw.Close(); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	if err, _ := r.histErr.Load().(error); err != nil {
		return r.res, fmt.Errorf("%w: recording the history: %v", ErrEnvironment, err)
	}
	actx := context.WithoutCancel(ctx)
	if a, ok := c.(clusters.ArtifactCollector); ok {
		if err := a.CollectArtifacts(actx, filepath.Join(r.dir, runfolder.NodesDir)); err != nil {
			r.logf("crossfire: collecting node artifacts: %v", err)
		}
	}
	// Why the run has no conflict records, if it has none.
	noConflicts := fmt.Sprintf("database %s gives no conflict records (its cluster is no ConflictSource)", r.t.DB)
	if src, ok := c.(clusters.ConflictSource); ok {
		noConflicts = ""
		recs, err := src.Conflicts(actx)
		if err == nil {
			err = runfolder.WriteConflicts(r.dir, recs)
		}
		if errors.Is(err, clusters.ErrNoConflictLog) {
			noConflicts = fmt.Sprintf("database %s gives no conflict records: %v", r.t.DB, err)
		} else if err != nil {
			noConflicts = "collecting the conflict records failed: " + err.Error()
			r.logf("crossfire: %s", noConflicts)
		}
	}
	if err := c.Close(); err != nil {
		r.logf("crossfire: stopping the cluster: %v", err)
	}

	r.setPhase("check")
	// The costs are measured in the pass that checks the history (which has stopped reading
	// when it returns); a check that ran out of time stopped early, and the rest is read for them.
	meter := checkers.NewCostMeter(nemesis.Faults())
	cctx, cancelCheck := context.WithTimeout(context.WithoutCancel(ctx), r.t.CheckTimeout)
	defer cancelCheck()
	checked, err := runfolder.Check(cctx, r.dir, "", runfolder.CheckOptions{Observe: meter.Observe, NoConflicts: noConflicts})
	if err == nil {
		err = runfolder.WriteArtifacts(r.dir, checked.Summary)
	}
	if err != nil {
		return r.res, fmt.Errorf("%w: checking the history: %v", ErrEnvironment, err)
	}
	summary := checked.Summary
	for _, res := range summary.Results {
		if res.NotApplicable != "" {
			r.logf("crossfire: %s judged nothing: %s", res.Checker, res.NotApplicable)
		}
	}
	s := &r.res.Stats
	costs := meter.Costs()
	if cctx.Err() != nil {
		if c, err := runfolder.CostsOf(filepath.Join(r.dir, runfolder.HistoryFile)); err == nil {
			costs = c
		}
	}
	s.Costs = &costs
	s.OK, s.Fail, s.Info = r.ok.Load(), r.fail.Load(), r.info.Load()
	s.Ops = s.OK + s.Fail + s.Info
	s.Truncated = checked.Truncated
	if r.nem != nil {
		s.Faults = r.nem.Applied()
		if err := r.nem.Errors(); err != nil {
			s.NemesisErr = err.Error()
		}
	}
	r.res.Summary, r.res.Valid = summary, summary.Valid
	if asked := len(r.ns) > 0; asked && s.Faults == 0 && r.res.Valid == checkers.True {
		// A pass under faults that never happened proves nothing about them.
		s.NoFaults = fmt.Sprintf("no fault of %s took effect (%d planned)", strings.Join(r.t.Nemeses, ","), len(r.t.Schedule))
		r.res.Valid = checkers.Unknown
		r.logf("crossfire: %s: the verdict is unknown", s.NoFaults)
	}
	if err := runfolder.WriteJSON(filepath.Join(r.dir, runfolder.ResultsFile), r.res); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	r.setPhase("report")
	if _, err := report.Write(r.dir); err != nil {
		r.logf("crossfire: writing the report: %v (crossfire report %s tries again)", err, r.dir)
	}
	r.setPhase("done")
	return r.res, nil
}

// main runs the clients and the nemesis schedule for the test's duration.
func (r *run) main(ctx context.Context, nodes []clusters.Node) {
	mctx, cancel := context.WithTimeout(ctx, r.t.Duration)
	defer cancel()
	mainStart := time.Now()
	r.mainEnd = mainStart.Add(r.t.Duration)
	var wg sync.WaitGroup
	for w := 0; w < r.t.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, mctx, w, nodes)
		}()
	}
	r.nem = &nemesis.Runner{Env: r.env, Schedule: r.t.Schedule, Record: func(op history.Op) { r.record(op) }}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.nem.Run(mctx, mainStart)
	}()
	if r.o.Progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					r.o.Progress(r.progress())
				case <-mctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
}

// MaxRetries bounds how often a client retries one request whose outcome is unknown.
const MaxRetries = 2

// worker is one client, homed at one leader: it starts ops at its share of the rate until the
// main phase ends (mctx), and lets the op in flight finish within its own timeout (ctx). A
// retryable op whose outcome is unknown is retried, same req, at the next leader; while the
// retry nemesis says so, an acknowledged one is sometimes sent again there too.
func (r *run) worker(ctx, mctx context.Context, w int, nodes []clusters.Node) {
	cs := r.clients()
	defer cs.close()
	rng := rand.New(rand.NewPCG(r.t.Seed, uint64(w)+1))
	process := w
	gap := time.Duration(float64(time.Second) * float64(r.t.Concurrency) / r.t.Rate)
	for {
		// Uniform jitter around the mean gap keeps clients from marching in step.
		wait := gap/2 + time.Duration(rng.Int64N(int64(gap)+1))
		select {
		case <-mctx.Done():
			return
		case <-time.After(wait):
		}
		if mctx.Err() != nil {
			return
		}
		op := r.wl.Next(rng)
		if r.env.Clients.Stamp() {
			// A client that stamps its requests; its retries carry this same stamp.
			op.SetMeta("client_ts", time.Now().UnixNano())
		}
		retryable := r.wl.Retryable(op)
		lastOK := false
		for attempt := 0; ; attempt++ {
			try := op
			try.Process, try.Type = process, history.Invoke
			n := nodes[(w+attempt)%len(nodes)]
			try.Node = n.ID
			redelivered := attempt > 0 && r.env.Clients.Redeliver() && retryable && lastOK
			if attempt > 0 {
				try.SetMeta("retry", attempt)
				if redelivered {
					try.SetMeta("redelivered", true)
				}
			}
			done := cs.invoke(ctx, n, try)
			if done.Type == history.Info {
				process = r.freshProcess()
			}
			lastOK = done.Type == history.OK
			again := retryable && attempt < MaxRetries && mctx.Err() == nil &&
				(done.Type == history.Info || lastOK && r.env.Clients.Redeliver() && rng.IntN(2) == 0)
			if !again || redelivered {
				break
			}
		}
	}
}

// clientSet is one worker's clients of the database, one per leader, opened when first needed.
type clientSet struct {
	r    *run
	open map[string]db.Client
}

func (r *run) clients() *clientSet {
	return &clientSet{r: r, open: map[string]db.Client{}}
}

func (cs *clientSet) close() {
	for id, c := range cs.open {
		_ = c.Close()
		delete(cs.open, id)
	}
}

// invoke records op, has the database's client at node n carry it out, and records and returns
// its completion. A client that cannot be opened fails the op (nothing was sent); after an op of
// unknown outcome the client is closed, and the next op at n opens a fresh one, as Jepsen does
// for a fresh process. A client that returns no completion, or panics, is an info: who knows
// what it sent.
func (cs *clientSet) invoke(ctx context.Context, n clusters.Node, op history.Op) history.Op {
	r := cs.r
	r.record(op)
	done := cs.call(ctx, n, op)
	done.Process, done.F, done.Key, done.Node, done.Req = op.Process, op.F, op.Key, op.Node, op.Req
	if !done.Type.Valid() || done.Type == history.Invoke {
		done.Type, done.Error = history.Info, fmt.Sprintf("client returned type %q", done.Type)
	}
	if done.Type == history.Info {
		if c := cs.open[n.ID]; c != nil {
			_ = c.Close()
			delete(cs.open, n.ID)
		}
	}
	r.record(done)
	if l, ok := r.wl.(workloads.Learner); ok {
		l.Learn(op, done)
	}
	return done
}

func (cs *clientSet) call(ctx context.Context, n clusters.Node, op history.Op) (done history.Op) {
	r := cs.r
	c := cs.open[n.ID]
	if c == nil {
		var err error
		c, err = r.db.Open(ctx, db.ClientConfig{Workload: r.t.Workload, Node: n, Timeout: r.t.OpTimeout, Options: r.t.Options})
		if err != nil {
			return history.Refused("opening a client: " + err.Error())
		}
		cs.open[n.ID] = c
	}
	defer func() {
		if p := recover(); p != nil {
			done = history.Op{Type: history.Info, Error: fmt.Sprintf("the %s client panicked: %v", r.t.DB, p)}
		}
	}()
	// The client keeps its own timeout; this bound only keeps one that does not from holding
	// the run.
	ictx, cancel := context.WithTimeout(ctx, r.t.OpTimeout+5*time.Second)
	defer cancel()
	return c.Invoke(ictx, op)
}

// settle waits for replication to catch up (through the database's Quiescer, or the whole
// bound without one) and takes the final reads at every leader.
func (r *run) settle(ctx context.Context, c clusters.Cluster) {
	r.setPhase("quiesce")
	qstart := time.Now()
	qctx, cancel := context.WithTimeout(ctx, r.t.Quiesce)
	var qerr error
	if q, ok := c.(clusters.Quiescer); ok {
		qerr = q.Quiesce(qctx)
	} else {
		// Nothing says when replication is done: give it the whole bound, and say so.
		<-qctx.Done()
		qerr = fmt.Errorf("database %s cannot tell when replication has caught up (no Quiescer); waited %v", r.t.DB, r.t.Quiesce)
	}
	cancel()
	r.res.Stats.Converged = qerr == nil
	r.res.Stats.QuiesceNS = int64(time.Since(qstart))
	if qerr != nil {
		r.res.Stats.QuiesceErr = qerr.Error()
		r.logf("crossfire: after %v: %v", r.t.Quiesce, qerr)
	}
	r.setPhase("final")
	r.finalReads(ctx, c.Nodes())
}

// finalTries is how many times a final read is tried at a leader.
const finalTries = 5

// finalReads runs the workload's final reads at every leader, each leader's on a fresh process,
// each read tried up to finalTries times, waiting a little longer before each retry. Their
// invokes carry meta "final", and how long replication took to catch up.
func (r *run) finalReads(ctx context.Context, nodes []clusters.Node) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := r.clients()
			defer cs.close()
			process := r.freshProcess()
			for _, op := range r.wl.Final() {
				for try := 0; try < finalTries && ctx.Err() == nil; try++ {
					if try > 0 {
						select { // a leader just restarted or thawed may need a moment
						case <-ctx.Done():
						case <-time.After(time.Duration(try) * 200 * time.Millisecond):
						}
					}
					op.Process, op.Node, op.Type = process, n.ID, history.Invoke
					op.SetMeta("final", true, "quiesce_ns", r.res.Stats.QuiesceNS, "converged", r.res.Stats.Converged)
					done := cs.invoke(ctx, n, op)
					if done.Type == history.Info {
						process = r.freshProcess()
					}
					if done.Type == history.OK {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
}
