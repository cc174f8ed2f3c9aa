package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crossfire-dev/crossfire/history"
)

// Recorder appends a nemesis op to the run's history.
type Recorder func(history.Op)

// Runner carries out a schedule against a cluster.
type Runner struct {
	Env      *Env
	Schedule Schedule
	Record   Recorder

	// applying serialises applying and undoing faults across the timelines: nemesis ops are
	// one process in the history (-1), which must stay sequential, while the faults themselves
	// stay in force side by side.
	applying sync.Mutex

	mu      sync.Mutex
	current map[string]string // nemesis -> the fault it has in force
	errs    []error
	applied int // faults applied without an error
}

// Healed says that the final heal has run: no fault is in force any more.
func (r *Runner) Healed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.current)
}

// Applied is how many of the schedule's faults were applied without an error.
func (r *Runner) Applied() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// Current describes the faults in force, or "" when there are none.
func (r *Runner) Current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, d := range r.current {
		if d != "" {
			parts = append(parts, d)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func (r *Runner) setCurrent(nemesis, s string) {
	r.mu.Lock()
	if r.current == nil {
		r.current = map[string]string{}
	}
	r.current[nemesis] = s
	r.mu.Unlock()
}

// Errors are the faults that could not be applied or undone.
func (r *Runner) Errors() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *Runner) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// record appends an invoke, runs do, then appends its completion: info once the fault is in
// place, fail with do's error when it could not be applied (whatever part of it did take effect
// is undone by the heals that follow; checkers open no fault window for it).
func record(rec Recorder, f string, value json.RawMessage, do func() error) error {
	rec(history.Op{Process: history.NemesisProcess, Type: history.Invoke, F: f, Value: value})
	err := do()
	done := history.Op{Process: history.NemesisProcess, Type: history.Info, F: f, Value: value}
	if err != nil {
		done.Type, done.Error = history.Fail, err.Error()
	}
	rec(done)
	return err
}

// Run carries out the schedule, measuring At from start, until it ends or ctx does: each
// nemesis's faults in turn, the nemeses side by side. A fault in force when ctx ends is left for
// HealAll.
func (r *Runner) Run(ctx context.Context, start time.Time) {
	timelines := map[string]Schedule{}
	var names []string
	for _, f := range r.Schedule {
		if _, ok := timelines[f.Nemesis]; !ok {
			names = append(names, f.Nemesis)
		}
		timelines[f.Nemesis] = append(timelines[f.Nemesis], f)
	}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func(s Schedule) {
			defer wg.Done()
			r.runTimeline(ctx, start, s)
		}(timelines[name])
	}
	wg.Wait()
}

// FaultTimeout bounds applying or undoing one fault.
const FaultTimeout = 30 * time.Second

// HealTimeout bounds each nemesis's final heal: restarting every killed leader of a container
// cluster one after another may take a minute each.
const HealTimeout = 3 * time.Minute

// bounded is the context a fault is applied or undone under: not cut short when the main phase
// ends (a Docker call abandoned half-way may still take effect, and then nobody would know to
// undo it), but bounded on its own.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), FaultTimeout)
}

// runTimeline carries out one nemesis's faults, one after another.
func (r *Runner) runTimeline(ctx context.Context, start time.Time, s Schedule) {
	for _, f := range s {
		if !sleepUntil(ctx, start.Add(f.At)) {
			return
		}
		n, ok := Catalog[f.Nemesis]
		if !ok {
			r.fail(fmt.Errorf("schedule names unknown nemesis %q", f.Nemesis))
			continue
		}
		r.setCurrent(f.Nemesis, fmt.Sprintf("%s %s", f.F, f.Value))
		r.applying.Lock()
		bctx, cancel := bounded(ctx)
		err := record(r.Record, f.F, f.Value, func() error { return n.Apply(bctx, r.Env, f) })
		cancel()
		r.applying.Unlock()
		if err != nil {
			r.fail(fmt.Errorf("%s at %v: %w", f.F, f.At, err))
		} else {
			r.mu.Lock()
			r.applied++
			r.mu.Unlock()
		}
		if !sleepUntil(ctx, start.Add(f.At+f.For)) {
			return
		}
		r.applying.Lock()
		bctx, cancel = bounded(ctx)
		err = record(r.Record, n.UndoF(), f.Value, func() error { return n.Undo(bctx, r.Env, f) })
		cancel()
		r.applying.Unlock()
		if err != nil {
			r.fail(fmt.Errorf("%s at %v: %w", n.UndoF(), f.At+f.For, err))
		}
		r.setCurrent(f.Nemesis, "")
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// HealAll undoes, for every nemesis in ns, whatever of its faults may be in force, and records
// each undo in the history. Pauses are undone first, then partitions, then kills, then
// disconnections: a leader restarts into links that are whole again, as a database whose
// restarted leader must find a quorum of its peers (Galera's primary component) needs, and a
// leader that is down and off the network starts before it is put back on it, so that its
// reconnection finishes one return.
func HealAll(ctx context.Context, env *Env, ns []Nemesis, rec Recorder) error {
	var errs []error
	order := map[string]int{PauseName: 0, PartitionName: 1, OneWayName: 1, IsolateName: 1, KillName: 2, KillAllName: 2, DisconnectName: 3, RetryName: 4, ClockName: 5}
	sorted := append([]Nemesis(nil), ns...)
	sort.SliceStable(sorted, func(i, j int) bool { return order[sorted[i].Name()] < order[sorted[j].Name()] })
	for _, n := range sorted {
		// Each nemesis gets a budget of its own: a slow restart does not eat the next one's.
		hctx, cancel := context.WithTimeout(ctx, HealTimeout)
		err := record(rec, n.UndoF(), nil, func() error { return n.HealAll(hctx, env) })
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("healing %s: %w", n.Name(), err))
		}
	}
	return errors.Join(errs...)
}
