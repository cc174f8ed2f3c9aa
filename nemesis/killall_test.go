package nemesis

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// groupCluster restarts its nodes together.
type groupCluster struct{ fakeCluster }

func (g *groupCluster) RestartAll(_ context.Context, nodes []string) error {
	return g.note("restart-all " + strings.Join(nodes, ","))
}

// KillAll kills every leader, in the planned order and within a second, and restarts them: all
// at once where the cluster can, else one after another.
func TestKillAll(t *testing.T) {
	f, v := KillAll{}.Plan(rand.New(rand.NewPCG(1, 2)), nil, []string{"n1", "n2", "n3"})
	kv := v.(killAllValue)
	if f != KillAllName || len(kv.Nodes) != 3 || kv.SpreadNS < 0 || kv.SpreadNS >= 1e9 {
		t.Fatalf("planned %s %+v", f, kv)
	}
	fault := Fault{Nemesis: KillAllName, F: f, Value: history.Value(kv)}
	plain := &fakeCluster{}
	if err := (KillAll{}).Apply(t.Context(), &Env{Cluster: plain}, fault); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range kv.Nodes {
		want = append(want, "kill "+n)
	}
	if !slices.Equal(plain.log, want) {
		t.Fatalf("killed %v, want %v", plain.log, want)
	}
	if err := (KillAll{}).Undo(t.Context(), &Env{Cluster: plain}, fault); err != nil {
		t.Fatal(err)
	}
	if got := plain.log[3:]; len(got) != 3 || !strings.HasPrefix(got[0], "restart n") {
		t.Fatalf("restarted %v", got)
	}
	group := &groupCluster{}
	if err := (KillAll{}).HealAll(t.Context(), &Env{Cluster: group}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(group.log, []string{"restart-all n1,n2,n3"}) {
		t.Fatalf("healed %v", group.log)
	}
}
