package regionkv_test

import (
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/harness"
)

// With the leaders a round trip apart, a single leader's clients elsewhere pay the round trip on
// every operation, since each is carried out at the leader; with last-writer-wins, every leader
// answers its own clients without waiting for another region. The figures are lower bounds (a
// delay cannot be shorter) and a median far below the round trip, so a loaded machine cannot
// turn them.
func TestWANCostsForwardedOperationsTheRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two clusters")
	}
	const rtt = 400 * time.Millisecond
	costs := func(strategy string) map[string]checkers.LeaderCosts {
		res, err := harness.Run(t.Context(), harness.Test{Workload: "register", Options: map[string]string{"strategy": strategy},
			Nemeses: []string{"none"}, Seed: 1, Duration: 4 * time.Second, Rate: 40, OpTimeout: 5 * time.Second, WAN: rtt},
			harness.Options{Store: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Test.WAN != rtt {
			t.Errorf("test.json holds a round trip of %s", res.Test.WAN)
		}
		if res.Stats.Costs == nil {
			t.Fatal("the run measured no costs")
		}
		by := map[string]checkers.LeaderCosts{}
		for _, l := range res.Stats.Costs.Leaders {
			by[l.Node] = l
			t.Logf("%s at %s: %d acknowledged, p50 %s, p99 %s", strategy, l.Node, l.OK, time.Duration(l.P50NS), time.Duration(l.P99NS))
		}
		return by
	}
	single := costs("single-leader")
	for _, n := range []string{"n2", "n3"} {
		if l := single[n]; l.OK == 0 || time.Duration(l.P50NS) < rtt {
			t.Errorf("single-leader at %s: %d acknowledged, p50 %s; every one waits for n1, a round trip of %s away", n, l.OK, time.Duration(l.P50NS), rtt)
		}
	}
	lww := costs("lww")
	for _, n := range []string{"n1", "n2", "n3"} {
		if l := lww[n]; l.OK == 0 || time.Duration(l.P50NS) >= rtt/2 {
			t.Errorf("lww at %s: %d acknowledged, p50 %s; its own leader answers without another region", n, l.OK, time.Duration(l.P50NS))
		}
	}
}
