package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
)

// KillAllName is the nemesis that kills every leader within a second.
const KillAllName = "kill-all"

// KillAll sends SIGKILL to every leader, one after another within a second (the order and the
// spread drawn from the seed, half the spreads under 125 ms), as a power cut that reaches a rack's machines a moment apart does,
// and restarts them all when the fault ends. A database whose leaders can only come back
// together (a cluster that needs a primary component to restart into) restarts them at once
// through clusters.GroupRestarter; otherwise each is restarted in turn.
type KillAll struct{}

// killAllValue is a kill-all fault: the leaders in the order they are killed, and the time from
// the first kill to the last.
type killAllValue struct {
	Nodes    []string      `json:"nodes"`
	SpreadNS time.Duration `json:"spread_ns"`
}

// Name implements Nemesis.
func (KillAll) Name() string { return KillAllName }

// Supports implements Nemesis.
func (KillAll) Supports(env *Env) error {
	return Capable[clusters.Killer](env.Cluster, "Killer", "kill nodes")
}

// Fs implements Nemesis.
func (KillAll) Fs() []string { return []string{KillAllName} }

// Plan implements Nemesis: every leader, in an order and within a spread drawn from r.
func (KillAll) Plan(r *rand.Rand, _ *Env, nodes []string) (string, any) {
	order := append([]string(nil), nodes...)
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	// Within a second, and most often a good deal less (the cube of a uniform draw: half the
	// spreads are under 125 ms): the nearer together the kills, the less any leader has had time
	// to make durable what it acknowledged last.
	u := r.Float64()
	return KillAllName, killAllValue{Nodes: order, SpreadNS: time.Duration(float64(time.Second) * u * u * u)}
}

func killAllOf(f Fault) (killAllValue, error) {
	var v killAllValue
	if err := json.Unmarshal(f.Value, &v); err != nil || len(v.Nodes) == 0 {
		return v, fmt.Errorf("fault %s names no nodes: %s", f.F, f.Value)
	}
	return v, nil
}

// Apply implements Nemesis.
func (KillAll) Apply(ctx context.Context, env *Env, f Fault) error {
	v, err := killAllOf(f)
	if err != nil {
		return err
	}
	k := env.Cluster.(clusters.Killer)
	var errs []error
	for i, id := range v.Nodes {
		if i > 0 && len(v.Nodes) > 1 {
			select {
			case <-time.After(v.SpreadNS / time.Duration(len(v.Nodes)-1)):
			case <-ctx.Done():
				return errors.Join(append(errs, ctx.Err())...)
			}
		}
		errs = append(errs, k.Kill(ctx, id))
	}
	return errors.Join(errs...)
}

// UndoF implements Nemesis.
func (KillAll) UndoF() string { return "restart-all" }

// Undo implements Nemesis.
func (KillAll) Undo(ctx context.Context, env *Env, f Fault) error {
	v, err := killAllOf(f)
	if err != nil {
		return err
	}
	return restartAll(ctx, env.Cluster, v.Nodes)
}

// HealAll implements Nemesis.
func (KillAll) HealAll(ctx context.Context, env *Env) error {
	return restartAll(ctx, env.Cluster, nodeIDs(env.Cluster))
}

func restartAll(ctx context.Context, c clusters.Cluster, ids []string) error {
	if g, ok := c.(clusters.GroupRestarter); ok {
		return g.RestartAll(ctx, ids)
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, c.(clusters.Killer).Restart(ctx, id))
	}
	return errors.Join(errs...)
}
