// Package harness is the only place where crossfire's parts are wired together. Run takes a
// Test (plain data) through the phases of a run: start the cluster and wait until every leader
// answers; set up the workload; run the clients and the nemesis schedule together for the run's
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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"crossfire/checkers"
	"crossfire/clusters"
	"crossfire/clusters/docker"
	"crossfire/clusters/local"
	"crossfire/history"
	"crossfire/nemesis"
	"crossfire/report"
	"crossfire/workloads"
)

// Files of a run folder.
const (
	TestFile    = "test.json"
	HistoryFile = "history.jsonl"
	ResultsFile = "results.json"
	NodesDir    = "nodes"
	LatestLink  = "latest"
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

// Stats describe how a run went.
type Stats struct {
	Ops         int64  `json:"ops"`
	OK          int64  `json:"ok"`
	Fail        int64  `json:"fail"`
	Info        int64  `json:"info"`
	Faults      int    `json:"faults"`
	Interrupted bool   `json:"interrupted"`
	Truncated   bool   `json:"truncated"` // the history's last line was cut off
	Converged   bool   `json:"converged"` // replication caught up after healing, within the bound
	QuiesceNS   int64  `json:"quiesce_ns"`
	NemesisErr  string `json:"nemesis_errors,omitempty"`
	HealErr     string `json:"heal_errors,omitempty"`
}

// Result is what a run produced.
type Result struct {
	Dir     string           `json:"dir"`
	Test    Test             `json:"test"`
	Valid   checkers.Valid   `json:"valid"`
	Summary checkers.Summary `json:"summary"`
	Stats   Stats            `json:"stats"`
}

// Options tune Run itself, not the test.
type Options struct {
	Store    string         // the store directory; "" means ./store
	Log      io.Writer      // phase messages; nil means none
	Progress func(Progress) // called about every second during the main phase and at each phase
	Binary   string         // a regionkv binary for the nodes; "" means this executable
}

// Run runs a test. It returns an error wrapping ErrUsage or ErrEnvironment when the run could not
// be made; a run that was made returns its Result (and a nil error) whatever the verdict. A run
// interrupted through ctx is healed, checked and returned with Stats.Interrupted set.
func Run(ctx context.Context, t Test, o Options) (Result, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return Result{Test: t}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	wl, _ := workloads.New(t.Workload, workloads.Options{Keys: t.Keys, Timeout: t.OpTimeout})
	ns, _ := nemesis.Lookup(t.Nemeses)
	nodeIDs := make([]string, t.Nodes)
	for i := range nodeIDs {
		nodeIDs[i] = fmt.Sprintf("n%d", i+1)
	}
	if len(t.Schedule) == 0 {
		t.Schedule = nemesis.Plan(t.Seed, ns, nodeIDs, t.Duration, nemesis.Timing{Interval: t.Interval, Duration: t.FaultDuration})
	}
	r := &run{t: t, o: o, wl: wl, ns: ns, res: Result{Test: t}}
	if o.Log == nil {
		r.o.Log = io.Discard
	}
	dir, err := makeRunDir(o.Store, t.Name)
	if err != nil {
		return r.res, fmt.Errorf("%w: making the run folder: %v", ErrEnvironment, err)
	}
	r.dir, r.res.Dir = dir, dir
	if err := writeJSON(filepath.Join(dir, TestFile), t); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	r.logf("crossfire: test %s, seed %d, %d faults planned, run folder %s", t.Name, t.Seed, len(t.Schedule), dir)
	return r.run(ctx)
}

type run struct {
	t   Test
	o   Options
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
	r.setPhase("start")
	c, err := r.newCluster(ctx)
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		return r.res, fmt.Errorf("%w: starting the cluster: %v", ErrEnvironment, err)
	}
	r.env = &nemesis.Env{Cluster: c, Clients: &nemesis.ClientFaults{}}
	if err := nemesis.Check(r.env, r.ns); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	var eps []workloads.Endpoint
	for _, n := range c.Nodes() {
		eps = append(eps, workloads.Endpoint{Node: n.ID, URL: n.URL})
	}
	if r.hw, err = history.Create(filepath.Join(r.dir, HistoryFile), r.start); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	defer r.hw.Close()

	r.setPhase("setup")
	r.procs.Store(int64(r.t.Concurrency))
	for i, op := range r.wl.Setup() {
		ep := eps[i%len(eps)]
		for _, e := range eps {
			if e.Node == op.Node {
				ep = e
			}
		}
		op.Process, op.Node = r.freshProcess(), ep.Node
		if done := r.invoke(ctx, ep, op); done.Type != history.OK {
			r.logf("crossfire: setup %s %s at %s: %s (%s)", op.F, op.Key, ep.Node, done.Type, done.Error)
		}
	}

	r.setPhase("main")
	r.main(ctx, eps)

	// Heal whatever happened, with a context of its own: Ctrl-C must not leave a node frozen.
	r.setPhase("heal")
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	if err := nemesis.HealAll(hctx, r.env, r.ns, func(op history.Op) { r.record(op) }); err != nil {
		r.res.Stats.HealErr = err.Error()
		r.logf("crossfire: healing: %v", err)
	}
	cancel()

	if ctx.Err() == nil {
		r.setPhase("quiesce")
		qstart := time.Now()
		qctx, cancel := context.WithTimeout(ctx, r.t.Quiesce)
		r.res.Stats.Converged, _ = clusters.AwaitReplicated(qctx, c.Nodes())
		cancel()
		r.res.Stats.QuiesceNS = int64(time.Since(qstart))
		if !r.res.Stats.Converged {
			r.logf("crossfire: replication had not caught up after %v", r.t.Quiesce)
		}
		r.setPhase("final")
		r.finalReads(ctx, eps)
	}
	r.res.Stats.Interrupted = ctx.Err() != nil
	if err := r.hw.Close(); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	if err, _ := r.histErr.Load().(error); err != nil {
		return r.res, fmt.Errorf("%w: recording the history: %v", ErrEnvironment, err)
	}
	if err := c.CollectArtifacts(context.WithoutCancel(ctx), filepath.Join(r.dir, NodesDir)); err != nil {
		r.logf("crossfire: collecting node artifacts: %v", err)
	}
	if err := c.Close(); err != nil {
		r.logf("crossfire: stopping the cluster: %v", err)
	}

	r.setPhase("check")
	cctx, cancelCheck := context.WithTimeout(context.WithoutCancel(ctx), r.t.CheckTimeout)
	defer cancelCheck()
	cs, _ := DefaultCheckers(r.t.Workload)
	cs, err = WithRunFolder(cs, r.dir)
	if err != nil {
		return r.res, fmt.Errorf("%w: reading the conflict logs: %v", ErrEnvironment, err)
	}
	summary, truncated, err := CheckDir(cctx, r.dir, cs)
	if err != nil {
		return r.res, fmt.Errorf("%w: reading back the history: %v", ErrEnvironment, err)
	}
	s := &r.res.Stats
	s.OK, s.Fail, s.Info = r.ok.Load(), r.fail.Load(), r.info.Load()
	s.Ops = s.OK + s.Fail + s.Info
	s.Faults = len(r.t.Schedule)
	s.Truncated = truncated
	if r.nem != nil {
		if err := r.nem.Errors(); err != nil {
			s.NemesisErr = err.Error()
		}
	}
	r.res.Summary, r.res.Valid = summary, summary.Valid
	if err := writeJSON(filepath.Join(r.dir, ResultsFile), r.res); err != nil {
		return r.res, fmt.Errorf("%w: %v", ErrEnvironment, err)
	}
	r.setPhase("report")
	if _, err := report.Write(r.dir); err != nil {
		r.logf("crossfire: writing the report: %v (crossfire report %s tries again)", err, r.dir)
	}
	r.setPhase("done")
	return r.res, nil
}

// clusterCloser is what a run needs of any cluster.
type clusterCloser interface {
	clusters.Cluster
	clusters.ArtifactCollector
}

// newCluster starts the test's cluster with the test's strategies. A cluster that failed to
// start is returned too, so that it is closed.
func (r *run) newCluster(ctx context.Context) (clusterCloser, error) {
	register, cart := "", ""
	switch r.t.Workload {
	case workloads.CartName:
		cart = r.t.Strategy
	case workloads.RegisterName:
		register = r.t.Strategy
	}
	if r.t.Cluster == ClusterDocker {
		c, err := docker.New(ctx, docker.WithNodes(r.t.Nodes), docker.WithStrategy(register, ""),
			docker.WithInventory(r.t.Stock, r.t.Orders), docker.WithCart(cart), docker.WithLog(r.o.Log))
		if err != nil && c == nil {
			return nil, fmt.Errorf("%v (the embedded cluster needs no Docker: --cluster local)", err)
		}
		if c == nil {
			return nil, err
		}
		return c, err
	}
	c, err := local.New(ctx, local.WithDir(r.dir), local.WithNodes(r.t.Nodes), local.WithInventory(r.t.Stock, r.t.Orders),
		local.WithBinary(r.o.Binary), local.WithCart(cart), local.WithStrategy(register, ""))
	if c == nil {
		return nil, err
	}
	return c, err
}

// main runs the clients and the nemesis schedule for the test's duration.
func (r *run) main(ctx context.Context, eps []workloads.Endpoint) {
	mctx, cancel := context.WithTimeout(ctx, r.t.Duration)
	defer cancel()
	mainStart := time.Now()
	r.mainEnd = mainStart.Add(r.t.Duration)
	var wg sync.WaitGroup
	for w := 0; w < r.t.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, mctx, w, eps)
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
func (r *run) worker(ctx, mctx context.Context, w int, eps []workloads.Endpoint) {
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
			try.Node = eps[(w+attempt)%len(eps)].Node
			redelivered := attempt > 0 && r.env.Clients.Redeliver() && retryable && lastOK
			if attempt > 0 {
				try.SetMeta("retry", attempt)
				if redelivered {
					try.SetMeta("redelivered", true)
				}
			}
			done := r.invoke(ctx, eps[(w+attempt)%len(eps)], try)
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

// invoke records op, runs it, records and returns its completion.
func (r *run) invoke(ctx context.Context, ep workloads.Endpoint, op history.Op) history.Op {
	r.record(op)
	done := r.wl.Invoke(ctx, ep, op)
	done.Process, done.F, done.Key, done.Node, done.Req = op.Process, op.F, op.Key, op.Node, op.Req
	if !done.Type.Valid() || done.Type == history.Invoke {
		done.Type, done.Error = history.Info, fmt.Sprintf("client returned type %q", done.Type)
	}
	r.record(done)
	return done
}

// finalTries is how many times a final read is tried at a leader.
const finalTries = 5

// finalReads runs the workload's final reads at every leader, each leader's on a fresh process,
// each read tried up to finalTries times, waiting a little longer before each retry. Their
// invokes carry meta "final", and how long replication took to catch up.
func (r *run) finalReads(ctx context.Context, eps []workloads.Endpoint) {
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process := r.freshProcess()
			for _, op := range r.wl.Final() {
				for try := 0; try < finalTries && ctx.Err() == nil; try++ {
					if try > 0 {
						select { // a leader just restarted or thawed may need a moment
						case <-ctx.Done():
						case <-time.After(time.Duration(try) * 200 * time.Millisecond):
						}
					}
					op.Process, op.Node, op.Type = process, ep.Node, history.Invoke
					op.SetMeta("final", true, "quiesce_ns", r.res.Stats.QuiesceNS, "converged", r.res.Stats.Converged)
					done := r.invoke(ctx, ep, op)
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

// makeRunDir creates store/<name>/<UTC time>/ and points store/<name>/latest at it.
func makeRunDir(store, name string) (string, error) {
	if store == "" {
		store = "store"
	}
	parent := filepath.Join(store, name)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	var dir string
	for {
		stamp := time.Now().UTC().Format("20060102T150405.000Z")
		dir = filepath.Join(parent, stamp)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		time.Sleep(time.Millisecond)
	}
	link := filepath.Join(parent, LatestLink)
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err != nil {
		return dir, err
	}
	if err := os.Rename(tmp, link); err != nil {
		return dir, err
	}
	return dir, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
