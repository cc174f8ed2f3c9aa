package nemesis

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/history"
)

var three = []string{"n1", "n2", "n3"}

func TestPlanIsDrawnFromTheSeed(t *testing.T) {
	ns, err := Lookup([]string{"partition", "kill", "pause"})
	if err != nil {
		t.Fatal(err)
	}
	a := Plan(7, nil, ns, three, 30*time.Second, Timing{})
	b := Plan(7, nil, ns, three, 30*time.Second, Timing{})
	c := Plan(8, nil, ns, three, 30*time.Second, Timing{})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed planned two schedules")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("two seeds planned the same schedule")
	}
	if len(a) < 5 {
		t.Fatalf("only %d faults in 30s", len(a))
	}
	kinds := map[string]bool{}
	last := map[string]time.Duration{} // per nemesis: faults of one kind never overlap
	var prev time.Duration
	for _, f := range a {
		kinds[f.F] = true
		if f.At < prev || f.At < last[f.Nemesis] || f.At+f.For >= 30*time.Second {
			t.Fatalf("fault out of order, overlapping its own kind, or past the end: %+v", f)
		}
		prev, last[f.Nemesis] = f.At, f.At+f.For
	}
	if len(kinds) != 3 {
		t.Errorf("kinds drawn: %v", kinds)
	}
	if s := Plan(7, nil, nil, three, 30*time.Second, Timing{}); len(s) != 0 {
		t.Errorf("no nemesis planned %d faults", len(s))
	}
}

func TestShapes(t *testing.T) {
	str := func(ls []clusters.Link) string {
		var s []string
		for _, l := range ls {
			s = append(s, l.String())
		}
		return strings.Join(s, " ")
	}
	cases := map[string]string{
		ShapeIsolate: "n1->n2 n2->n1 n1->n3 n3->n1",
		ShapePair:    "n1->n3 n3->n1",
		ShapeOneWay:  "n1->n3",
		ShapeRing:    "n2->n1 n3->n2 n1->n3",
	}
	for shape, want := range cases {
		if got := str(Cuts(shape, three, 0, 2)); got != want {
			t.Errorf("%s: %s, want %s", shape, got, want)
		}
	}
	if got := str(Cuts(ShapePair, three, 1, 1)); got != "n2->n3 n3->n2" {
		t.Errorf("a pair of one node must pick another: %s", got)
	}
}

func TestLookup(t *testing.T) {
	if ns, err := Lookup([]string{"none"}); err != nil || len(ns) != 0 {
		t.Fatalf("none: %v %v", ns, err)
	}
	_, err := Lookup([]string{"partition", "meteor"})
	if err == nil || !strings.Contains(err.Error(), `"meteor"`) || !strings.Contains(err.Error(), "kill, kill-all, one-way, partition, pause, retry") {
		t.Fatalf("err = %v", err)
	}
}

// fakeCluster records what was done to it.
type fakeCluster struct {
	mu   sync.Mutex
	log  []string
	fail bool
}

func (f *fakeCluster) Nodes() []clusters.Node {
	return []clusters.Node{{ID: "n1"}, {ID: "n2"}, {ID: "n3"}}
}
func (f *fakeCluster) Close() error { return nil }
func (f *fakeCluster) note(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
	if f.fail {
		return context.DeadlineExceeded
	}
	return nil
}
func (f *fakeCluster) Partition(_ context.Context, cut []clusters.Link) error {
	return f.note("partition " + cut[0].String())
}
func (f *fakeCluster) Heal(context.Context) error                { return f.note("heal") }
func (f *fakeCluster) Kill(_ context.Context, n string) error    { return f.note("kill " + n) }
func (f *fakeCluster) Restart(_ context.Context, n string) error { return f.note("restart " + n) }

func TestSupportsRefusesMissingCapabilities(t *testing.T) {
	type bare struct{ clusters.Cluster }
	if err := Check(&Env{Cluster: bare{}}, []Nemesis{Partition{}}); err == nil {
		t.Fatal("a cluster without Partitioner accepted the partition nemesis")
	}
	if err := Check(&Env{Cluster: &fakeCluster{}}, []Nemesis{Pause}); err == nil || !strings.Contains(err.Error(), "Pauser") {
		t.Fatalf("err = %v", err)
	}
	if err := Check(&Env{Cluster: &fakeCluster{}}, []Nemesis{Retry{}}); err == nil || !strings.Contains(err.Error(), "client faults") {
		t.Fatalf("retry with nothing to drive: err = %v", err)
	}
	if err := Check(&Env{Cluster: &fakeCluster{}}, []Nemesis{Partition{}, Kill}); err != nil {
		t.Fatal(err)
	}
}

// disconnecting is a cluster that can also take nodes off the network.
type disconnecting struct{ fakeCluster }

func (f *disconnecting) Disconnect(_ context.Context, n string) error {
	return f.note("disconnect " + n)
}
func (f *disconnecting) Reconnect(_ context.Context, n string) error { return f.note("reconnect " + n) }

func TestDisconnect(t *testing.T) {
	if err := Check(&Env{Cluster: &fakeCluster{}}, []Nemesis{Disconnect}); err == nil || !strings.Contains(err.Error(), "Disconnector") {
		t.Fatalf("a cluster that cannot disconnect nodes: err = %v", err)
	}
	c := &disconnecting{}
	env := &Env{Cluster: c}
	if err := Check(env, []Nemesis{Disconnect}); err != nil {
		t.Fatal(err)
	}
	s := Plan(3, env, []Nemesis{Disconnect}, three, 20*time.Second, Timing{})
	if len(s) == 0 || s[0].F != "disconnect" {
		t.Fatalf("schedule %+v", s)
	}
	var ops []history.Op
	rec := func(op history.Op) { ops = append(ops, op) }
	if err := Disconnect.Apply(context.Background(), env, s[0]); err != nil {
		t.Fatal(err)
	}
	// Partitions are healed first, so that a leader restarts into whole links; kills before
	// disconnections, so that a leader that is down and off the network starts before it is put
	// back on it.
	if err := HealAll(context.Background(), env, []Nemesis{Partition{}, Disconnect, Kill}, rec); err != nil {
		t.Fatal(err)
	}
	node, _ := node(s[0])
	want := "disconnect " + node + "|heal|restart n1|restart n2|restart n3|reconnect n1|reconnect n2|reconnect n3"
	if got := strings.Join(c.log, "|"); got != want {
		t.Errorf("cluster saw %s\nwant %s", got, want)
	}
	if len(ops) != 6 || ops[0].F != "heal" || ops[2].F != "restart" || ops[4].F != "reconnect" {
		t.Errorf("recorded %+v", ops)
	}
}

func TestRunnerRecordsEveryFaultAndItsUndo(t *testing.T) {
	c := &fakeCluster{}
	var mu sync.Mutex
	var ops []history.Op
	rec := func(op history.Op) {
		mu.Lock()
		op.Index = int64(len(ops))
		ops = append(ops, op)
		mu.Unlock()
	}
	s := Schedule{
		{Nemesis: "partition", F: "partition", Value: json.RawMessage(`{"shape":"one-way","cut":["n1->n2"]}`), At: 0, For: 10 * time.Millisecond},
		{Nemesis: "kill", F: "kill", Value: json.RawMessage(`{"node":"n3"}`), At: 20 * time.Millisecond, For: 10 * time.Millisecond},
	}
	r := &Runner{Env: &Env{Cluster: c}, Schedule: s, Record: rec}
	r.Run(context.Background(), time.Now())
	if err := r.Errors(); err != nil {
		t.Fatal(err)
	}
	if err := HealAll(context.Background(), &Env{Cluster: c}, []Nemesis{Partition{}, Kill}, rec); err != nil {
		t.Fatal(err)
	}
	// The two nemeses run side by side: each one's faults come in its own order, whichever of
	// them a loaded machine runs first; the final heal comes after both.
	require.Len(t, c.log, 8)
	assert.Equal(t, "heal|restart n1|restart n2|restart n3", strings.Join(c.log[4:], "|"), "the final heal")
	assert.Equal(t, []string{"partition n1->n2", "heal"}, only(c.log[:4], "partition", "heal"))
	assert.Equal(t, []string{"kill n3", "restart n3"}, only(c.log[:4], "kill", "restart"))
	var fs []string
	for _, op := range ops {
		require.Equal(t, history.NemesisProcess, op.Process)
		fs = append(fs, string(op.Type)+" "+op.F)
	}
	require.Len(t, fs, 12)
	assert.Equal(t, []string{"invoke partition", "info partition", "invoke heal", "info heal"}, only(fs[:8], "partition", "heal"))
	assert.Equal(t, []string{"invoke kill", "info kill", "invoke restart", "info restart"}, only(fs[:8], "kill", "restart"))
	assert.Equal(t, "invoke heal|info heal|invoke restart|info restart", strings.Join(fs[8:], "|"))
	if err := history.Validate(ops); err != nil {
		t.Error(err)
	}
}

// only keeps the entries whose words include one of fs.
func only(entries []string, fs ...string) []string {
	var out []string
	for _, e := range entries {
		for _, w := range strings.Fields(e) {
			if slices.Contains(fs, w) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func TestRunnerKeepsGoingAfterAFailedFault(t *testing.T) {
	c := &fakeCluster{fail: true}
	var ops []history.Op
	s := Schedule{{Nemesis: "kill", F: "kill", Value: json.RawMessage(`{"node":"n1"}`)}}
	r := &Runner{Env: &Env{Cluster: c}, Schedule: s, Record: func(op history.Op) { ops = append(ops, op) }}
	r.Run(context.Background(), time.Now())
	if r.Errors() == nil {
		t.Fatal("a failed kill was not reported")
	}
	if len(ops) != 4 || ops[1].Error == "" || ops[1].Type != history.Fail {
		t.Fatalf("the failure is not in the history: %+v", ops)
	}
}

func TestClockPlans(t *testing.T) {
	s := Plan(3, nil, []Nemesis{Clock{MaxSkew: 5 * time.Second}}, three, 60*time.Second, Timing{})
	kinds := map[string]bool{}
	for _, f := range s {
		kinds[f.F] = true
		var v ClockValue
		if err := json.Unmarshal(f.Value, &v); err != nil || v.Node == "" {
			t.Fatalf("clock value %s: %v", f.Value, err)
		}
		if v.OffsetNS > int64(5*time.Second) || v.OffsetNS < -int64(5*time.Second) || v.StrobeNS > int64(5*time.Second) {
			t.Fatalf("skew past the bound: %+v", v)
		}
	}
	for _, k := range []string{"clock-bump", "clock-strobe", "clock-drift"} {
		if !kinds[k] {
			t.Errorf("no %s in %d faults", k, len(s))
		}
	}
	if err := Check(&Env{Cluster: &fakeCluster{}}, []Nemesis{Clock{}}); err == nil || !strings.Contains(err.Error(), "ClockSkewer") {
		t.Fatalf("err = %v", err)
	}
}

// shaping is a cluster that can also slow links and duplicate replication: every retry mode.
type shaping struct{ fakeCluster }

func (f *shaping) SetLatency(_ context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	return f.note("latency")
}
func (f *shaping) ClearLatency(context.Context) error { return f.note("unslow") }
func (f *shaping) DuplicateReplication(_ context.Context, on bool) error {
	if on {
		return f.note("duplicate")
	}
	return f.note("unduplicate")
}

func TestRetryPlansNonEmptyModeSets(t *testing.T) {
	env := &Env{Cluster: &shaping{}, Clients: &ClientFaults{}}
	s := Plan(4, env, []Nemesis{Retry{}}, three, 120*time.Second, Timing{})
	modes := map[string]bool{}
	for _, f := range s {
		var v RetryValue
		if err := json.Unmarshal(f.Value, &v); err != nil || len(v.Modes) == 0 {
			t.Fatalf("retry value %s: %v", f.Value, err)
		}
		for _, m := range v.Modes {
			modes[m] = true
			if m == RetryLatency && (v.Node == "" || v.LatencyMS <= 0) {
				t.Fatalf("latency without a node: %+v", v)
			}
		}
	}
	if len(modes) != len(RetryModes) {
		t.Fatalf("modes drawn: %v", modes)
	}
}

// TestRetryAsksEachModeOnlyForWhatItUses: on a cluster that can neither slow links nor duplicate
// replication, the client-side modes still run, only they are planned, and a schedule from
// elsewhere that asks for a cluster-side mode fails naming the capability.
func TestRetryAsksEachModeOnlyForWhatItUses(t *testing.T) {
	env := &Env{Cluster: &fakeCluster{}, Clients: &ClientFaults{}}
	if err := Check(env, []Nemesis{Retry{}}); err != nil {
		t.Fatalf("client-side retries refused: %v", err)
	}
	s := Plan(4, env, []Nemesis{Retry{}}, three, 120*time.Second, Timing{})
	if len(s) == 0 {
		t.Fatal("nothing planned")
	}
	for _, f := range s {
		var v RetryValue
		_ = json.Unmarshal(f.Value, &v)
		for _, m := range v.Modes {
			if m != RetryRedeliver && m != RetryStamp {
				t.Fatalf("planned %s on a cluster without its capability: %s", m, f.Value)
			}
		}
	}
	if err := (Retry{}).Apply(context.Background(), env, s[0]); err != nil {
		t.Fatal(err)
	}
	if !env.Clients.Redeliver() && !env.Clients.Stamp() {
		t.Fatal("no client fault in force")
	}
	foreign := Fault{Nemesis: "retry", F: "retry", Value: json.RawMessage(`{"modes":["duplicate","stamp"]}`)}
	if err := (Retry{}).Apply(context.Background(), env, foreign); err == nil || !strings.Contains(err.Error(), "ReplicationDuplicator") {
		t.Fatalf("duplicate on a cluster that cannot: err = %v", err)
	}
	if err := (Retry{}).HealAll(context.Background(), env); err != nil || env.Clients.Redeliver() || env.Clients.Stamp() {
		t.Fatalf("heal left client faults: %v", err)
	}
}

// TestCatalogPairsNameTheHistorysFaults: Faults names every nemesis's fault and undo, which is
// all the checkers are told of them.
func TestCatalogPairsNameTheHistorysFaults(t *testing.T) {
	for _, n := range Catalog {
		for _, f := range n.Fs() {
			fs, ok := Faults().Undoes(n.UndoF())
			if !ok || !slices.Contains(fs, f) {
				t.Errorf("%s: %s does not undo %s (%v)", n.Name(), n.UndoF(), f, fs)
			}
		}
	}
	if !Faults().SkewsClock("clock-drift") || Faults().SkewsClock("partition") {
		t.Error("clock faults are not told apart")
	}
}

func TestNoneGoesAlone(t *testing.T) {
	ns, err := Lookup([]string{"none"})
	require.NoError(t, err)
	assert.Empty(t, ns)
	_, err = Lookup([]string{"none", "kill"})
	require.ErrorContains(t, err, "cannot go with kill")
}

// budgetCluster notes how long each heal is given.
type budgetCluster struct {
	fakeCluster
	budgets []time.Duration
}

func (b *budgetCluster) Heal(ctx context.Context) error {
	d, _ := ctx.Deadline()
	b.budgets = append(b.budgets, time.Until(d))
	return b.note("heal")
}

func (b *budgetCluster) Restart(ctx context.Context, n string) error {
	d, _ := ctx.Deadline()
	b.budgets = append(b.budgets, time.Until(d))
	return b.note("restart " + n)
}

// TestEachNemesisHealsWithinItsOwnBudget: the final heal gives every nemesis a bound of its own
// (a slow restart does not eat the partition's heal), long enough for a container to restart.
func TestEachNemesisHealsWithinItsOwnBudget(t *testing.T) {
	c := &budgetCluster{}
	require.NoError(t, HealAll(context.Background(), &Env{Cluster: c}, []Nemesis{Partition{}, Kill}, func(history.Op) {}))
	require.NotEmpty(t, c.budgets)
	for _, b := range c.budgets {
		assert.Greater(t, b, 2*time.Minute, "a heal was given %v", b)
	}
}

// TestCurrentEndsWithTheHeal: a run cut short with a fault in force shows that fault until the
// final heal, and nothing after it.
func TestCurrentEndsWithTheHeal(t *testing.T) {
	c := &fakeCluster{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := Schedule{{Nemesis: "kill", F: "kill", Value: json.RawMessage(`{"node":"n1"}`), For: time.Hour}}
	r := &Runner{Env: &Env{Cluster: c}, Schedule: s, Record: func(op history.Op) {
		if op.Type == history.Info && op.F == "kill" {
			cancel() // interrupted while the kill is in force
		}
	}}
	r.Run(ctx, time.Now())
	require.Contains(t, r.Current(), "kill")
	require.NoError(t, HealAll(context.Background(), &Env{Cluster: c}, []Nemesis{Kill}, func(history.Op) {}))
	r.Healed()
	require.Empty(t, r.Current())
}

// clocked is a cluster whose clocks can be set: it keeps each node's setting.
type clocked struct {
	fakeCluster
	set map[string]clusters.ClockSetting
}

func (c *clocked) SetClock(_ context.Context, node string, s clusters.ClockSetting) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set == nil {
		c.set = map[string]clusters.ClockSetting{}
	}
	c.set[node] = s
	return nil
}

func TestClockTieFreezesTwoLeadersAtOneInstant(t *testing.T) {
	c := &clocked{}
	env := &Env{Cluster: c}
	s := Plan(5, env, []Nemesis{ClockTie{}}, three, 30*time.Second, Timing{})
	if len(s) == 0 {
		t.Fatal("no fault planned")
	}
	pairs := map[string]bool{}
	for _, f := range s {
		var v ClockTieValue
		if err := json.Unmarshal(f.Value, &v); err != nil || len(v.Nodes) != 2 || v.Nodes[0] == v.Nodes[1] || v.Node != v.Nodes[0] {
			t.Fatalf("clock-freeze value %s: %v", f.Value, err)
		}
		pairs[strings.Join(slices.Sorted(slices.Values(v.Nodes)), ",")] = true
	}
	if len(pairs) < 2 {
		t.Errorf("every fault froze the same pair: %v", pairs)
	}

	f := s[0]
	var v ClockTieValue
	_ = json.Unmarshal(f.Value, &v)
	if err := (ClockTie{}).Apply(context.Background(), env, f); err != nil {
		t.Fatal(err)
	}
	a, b := c.set[v.Nodes[0]], c.set[v.Nodes[1]]
	if a.FrozenAtNS == 0 || a != b || a.FrozenAtNS%int64(time.Second) != 0 {
		t.Fatalf("the two clocks are not frozen at one whole second: %+v %+v", a, b)
	}
	if len(c.set) != 2 {
		t.Fatalf("clocks set: %v", c.set)
	}
	if err := (ClockTie{}).Undo(context.Background(), env, f); err != nil {
		t.Fatal(err)
	}
	for _, id := range v.Nodes {
		if c.set[id] != (clusters.ClockSetting{}) {
			t.Fatalf("%s still skewed after the reset: %+v", id, c.set[id])
		}
	}
	if !Faults().SkewsClock("clock-freeze") {
		t.Fatal("clock-freeze is not registered as a clock fault")
	}
	if fs, ok := Faults().Undoes("clock-reset"); !ok || !slices.Contains(fs, "clock-freeze") || !slices.Contains(fs, "clock-bump") {
		t.Fatalf("clock-reset undoes %v", fs)
	}
	if err := Check(&Env{Cluster: &fakeCluster{}}, []Nemesis{ClockTie{}}); err == nil || !strings.Contains(err.Error(), "ClockSkewer") {
		t.Fatalf("err = %v", err)
	}
}

// lagging is a cluster whose clocks take a while to read a new setting.
type lagging struct{ clocked }

func (*lagging) ClockLag() time.Duration { return 50 * time.Millisecond }

func TestClockFaultsWaitForTheClusterToReadThem(t *testing.T) {
	c := &lagging{}
	f := Fault{Nemesis: ClockTieName, F: "clock-freeze", Value: history.Value(ClockTieValue{Node: "n1", Nodes: []string{"n1", "n2"}})}
	for _, step := range []func(context.Context, *Env, Fault) error{ClockTie{}.Apply, ClockTie{}.Undo} {
		start := time.Now()
		if err := step(context.Background(), &Env{Cluster: c}, f); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 50*time.Millisecond {
			t.Fatalf("returned after %v, before the cluster's clocks read the setting", waited)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (ClockTie{}).Apply(ctx, &Env{Cluster: c}, f); err == nil {
		t.Fatal("a cancelled wait reported success")
	}
}

// TestRetryUsesEveryModeInEveryRun: whatever the seed, a run of four retry faults or more puts
// every mode in force at least once, the first fault redelivering.
func TestRetryUsesEveryModeInEveryRun(t *testing.T) {
	env := &Env{Cluster: &shaping{}, Clients: &ClientFaults{}}
	for seed := uint64(1); seed <= 30; seed++ {
		s := Plan(seed, env, []Nemesis{Retry{}}, three, 30*time.Second, Timing{})
		if len(s) < 4 {
			t.Fatalf("seed %d: only %d faults in 30 s", seed, len(s))
		}
		used := map[string]bool{}
		for i, f := range s {
			var v RetryValue
			if err := json.Unmarshal(f.Value, &v); err != nil {
				t.Fatal(err)
			}
			if i == 0 && !slices.Contains(v.Modes, RetryRedeliver) {
				t.Fatalf("seed %d: the first fault does not redeliver: %v", seed, v.Modes)
			}
			for _, m := range v.Modes {
				used[m] = true
			}
		}
		if len(used) != len(RetryModes) {
			t.Fatalf("seed %d: modes used %v", seed, used)
		}
	}
}

// TestPartitionCutsEveryShapeInEveryRun: whatever the seed, a run's partitions take the shapes
// in turn, isolate first, so that four partitions cut every shape; the nemeses of one shape keep
// it.
func TestPartitionCutsEveryShapeInEveryRun(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		s := Plan(seed, nil, []Nemesis{Partition{}}, three, 30*time.Second, Timing{})
		if len(s) < 4 {
			t.Fatalf("seed %d: only %d partitions in 30 s", seed, len(s))
		}
		for i, f := range s {
			var v PartitionValue
			require.NoError(t, json.Unmarshal(f.Value, &v))
			if v.Shape != Shapes[i%len(Shapes)] {
				t.Fatalf("seed %d: partition %d is %s, want %s", seed, i, v.Shape, Shapes[i%len(Shapes)])
			}
			if len(v.Cut) == 0 {
				t.Fatalf("seed %d: a %s partition cuts nothing", seed, v.Shape)
			}
		}
		for _, only := range []Partition{{Shape: ShapeOneWay}, {Shape: ShapeIsolate}} {
			for _, f := range Plan(seed, nil, []Nemesis{only}, three, 10*time.Second, Timing{}) {
				var v PartitionValue
				require.NoError(t, json.Unmarshal(f.Value, &v))
				if v.Shape != only.Shape {
					t.Fatalf("seed %d: %s planned a %s partition", seed, only.Name(), v.Shape)
				}
			}
		}
	}
}

func TestHoldLastKeepsTheLastFaultToTheFinalHeal(t *testing.T) {
	ns, err := Lookup([]string{"partition", "kill"})
	require.NoError(t, err)
	d := 10 * time.Second
	timing := Timing{Interval: 700 * time.Millisecond, Duration: 1500 * time.Millisecond}
	for seed := uint64(1); seed <= 20; seed++ {
		plain := Plan(seed, nil, ns, three, d, timing)
		hold := timing
		hold.HoldLast = true
		held := Plan(seed, nil, ns, three, d, hold)
		for _, name := range []string{"partition", "kill"} {
			p, h := timelineOf(plain, name), timelineOf(held, name)
			// The faults before the last are the plain plan's, drawn from the same stream;
			// the last is the plain plan's last, held, or one more.
			require.NotEmpty(t, h, "seed %d %s: no fault", seed, name)
			require.Contains(t, []int{len(p), len(p) + 1}, len(h), "seed %d %s", seed, name)
			require.Equal(t, p[:len(h)-1], h[:len(h)-1], "seed %d %s: held plan does not begin with the plain one", seed, name)
			last := h[len(h)-1]
			if len(h) == len(p) {
				assert.Equal(t, p[len(p)-1].At, last.At)
				assert.Equal(t, p[len(p)-1].Value, last.Value)
			}
			assert.Greater(t, last.At+last.For, d, "seed %d %s: the last fault ends inside the main phase", seed, name)
			assert.Less(t, last.At, d, "seed %d %s: the last fault begins after the end", seed, name)
		}
	}

	// The runner leaves a fault that lasts past the main phase to the final heal.
	c := &fakeCluster{}
	s := Schedule{{Nemesis: "partition", F: "partition", Value: json.RawMessage(`{"shape":"one-way","cut":["n1->n2"]}`), At: 0, For: time.Hour}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := &Runner{Env: &Env{Cluster: c}, Schedule: s, Record: func(history.Op) {}}
	r.Run(ctx, time.Now())
	require.NoError(t, r.Errors())
	assert.Equal(t, []string{"partition n1->n2"}, c.log, "the runner undid a held fault")
}

func timelineOf(s Schedule, nemesis string) Schedule {
	var out Schedule
	for _, f := range s {
		if f.Nemesis == nemesis {
			out = append(out, f)
		}
	}
	return out
}
