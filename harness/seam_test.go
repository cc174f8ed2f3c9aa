package harness_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	_ "github.com/crossfire-dev/crossfire/db/builtin" // the databases crossfire ships
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// TestTheSeamRefusesBeforeAnythingIsMade: a nemesis the database cannot support, an option it
// does not take, a workload it has no client for and a cluster kind it cannot start are usage
// errors that name the database, and no run folder is made for them.
func TestTheSeamRefusesBeforeAnythingIsMade(t *testing.T) {
	db.Register(memkv{})
	store := t.TempDir()
	for _, c := range []struct {
		test harness.Test
		want string
	}{
		{harness.Test{DB: "memkv", Workload: "register", Nemeses: []string{"partition", "kill"}},
			"database memkv on a memory cluster: nemesis kill: the cluster cannot kill nodes (it is no Killer)"},
		{harness.Test{DB: "memkv", Workload: "register", Nemeses: []string{"clock"}}, "(it is no ClockSkewer)"},
		{harness.Test{DB: "memkv", Workload: "register", Options: map[string]string{"strategy": "lww"}},
			"database memkv takes no --strategy for the register workload (it takes no options there)"},
		{harness.Test{DB: "memkv", Workload: "cart"}, "database memkv has no client for the cart workload (it has: register)"},
		{harness.Test{DB: "memkv", Workload: "register", Cluster: "docker"}, "database memkv cannot start a docker cluster (valid: memory)"},
		{harness.Test{DB: "regionkv", Workload: "register", Nemeses: []string{"disconnect"}}, "nemesis disconnect: the cluster cannot take a node off its network (it is no Disconnector)"},
		{harness.Test{DB: "memkv", Workload: "register", WAN: 80 * time.Millisecond}, "database memkv on a memory cluster cannot put its leaders a round trip apart (no WANEmulator)"},
		{harness.Test{DB: "regionkv", Workload: "register", WAN: time.Millisecond}, "the round trip between leaders (WAN) must be 0 or from 2ms to 10s"},
	} {
		_, err := harness.Run(t.Context(), c.test, harness.Options{Store: store})
		if !errors.Is(err, harness.ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v\nwant a usage error with %q", c.test, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(store); len(entries) != 0 {
		t.Errorf("refused tests left %d entries in the store", len(entries))
	}
}

// TestRetryRunsClientSideOnly: on a database that can neither slow links nor duplicate
// replication, the retry nemesis still runs its client-side modes.
func TestRetryRunsClientSideOnly(t *testing.T) {
	db.Register(memkv{})
	res, err := harness.Run(t.Context(), harness.Test{DB: "memkv", Workload: "register", Nemeses: []string{"retry"}, Seed: 3,
		Duration: 2e9, Interval: 2e8, FaultDuration: 3e8}, harness.Options{Store: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Faults == 0 || res.Stats.NemesisErr != "" {
		t.Fatalf("faults %d, nemesis errors %q", res.Stats.Faults, res.Stats.NemesisErr)
	}
	for _, f := range res.Test.Schedule {
		if strings.Contains(string(f.Value), "latency") || strings.Contains(string(f.Value), "duplicate") {
			t.Fatalf("planned a mode memkv cannot suffer: %s", f.Value)
		}
	}
}

// stuckKV is memkv on a cluster whose partitions never take effect: every Partition fails.
type stuckKV struct{ memkv }

type stuckCluster struct{ *memCluster }

func (stuckCluster) Partition(context.Context, []clusters.Link) error {
	return errors.New("the network refuses to be cut")
}

func (stuckKV) Name() string { return "stuckkv" }

func (k stuckKV) Spec() db.Spec {
	s := k.memkv.Spec()
	s.Kinds = []db.Kind{{Name: "memory", About: "in this process", Cluster: stuckCluster{}}}
	return s
}

func (k stuckKV) Start(ctx context.Context, s db.Setup) (clusters.Cluster, error) {
	c, err := k.memkv.Start(ctx, s)
	if err != nil {
		return c, err
	}
	return stuckCluster{c.(*memCluster)}, nil
}

// TestFaultsThatNeverTookEffectProveNothing: a run whose every fault failed opens no fault
// window and is not valid, however clean its history.
func TestFaultsThatNeverTookEffectProveNothing(t *testing.T) {
	db.Register(stuckKV{})
	res, err := harness.Run(t.Context(), harness.Test{DB: "stuckkv", Workload: "register", Nemeses: []string{"partition"}, Seed: 3,
		Duration: 2e9, Interval: 2e8, FaultDuration: 3e8}, harness.Options{Store: t.TempDir()})
	require.NoError(t, err)
	require.NotEmpty(t, res.Test.Schedule, "no fault was planned: the test proves nothing")
	assert.Equal(t, 0, res.Stats.Faults)
	assert.Contains(t, res.Stats.NemesisErr, "refuses to be cut")
	assert.Contains(t, res.Stats.NoFaults, "no fault of partition took effect")
	assert.Equal(t, checkers.Unknown, res.Valid, "a pass under faults that never happened")
	assert.Equal(t, checkers.True, matrix.ResultOf(res, checkers.LinearizableName).Valid, "the history itself is linearizable")
	ops, _, err := history.ReadFile(filepath.Join(res.Dir, runfolder.HistoryFile))
	require.NoError(t, err)
	assert.Empty(t, checkers.Windows(ops, nemesis.Faults()), "a fault that failed opened a window")
}

// TestNoFaultAskedIsNoFaultMissed: a run that asks for no fault (--nemesis none) and passes is
// valid; only a run that asked for faults and had none take effect is unknown.
func TestNoFaultAskedIsNoFaultMissed(t *testing.T) {
	db.Register(memkv{})
	res, err := harness.Run(t.Context(), harness.Test{DB: "memkv", Workload: "register", Nemeses: []string{"none"}, Seed: 3,
		Duration: 1e9}, harness.Options{Store: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Stats.Faults)
	assert.Empty(t, res.Stats.NoFaults)
	assert.Equal(t, checkers.True, res.Valid, "a pass with no fault asked for")
}

// TestLoadTestGivesFaultsInOneLine: a schedule read back from test.json, indented and with >
// escaped as older versions wrote it, has each fault's value as the nemesis wrote it.
func TestLoadTestGivesFaultsInOneLine(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, runfolder.TestFile), []byte(`{"name":"x","workload":"register","schedule":[
  {"nemesis":"partition","f":"partition","value":{
      "shape": "one-way",
      "cut": ["n1-\u003en2"],
      "offset_ns": 5000000000123
  }}]}`), 0o644))
	tt, err := runfolder.LoadTest(dir)
	require.NoError(t, err)
	require.Len(t, tt.Schedule, 1)
	assert.Equal(t, `{"cut":["n1->n2"],"offset_ns":5000000000123,"shape":"one-way"}`, string(tt.Schedule[0].Value))
}
