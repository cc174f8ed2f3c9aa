package harness_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"crossfire/db"
	"crossfire/harness"
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
