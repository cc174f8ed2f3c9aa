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

// ClockName is the clock nemesis's catalog name.
const ClockName = "clock"

// ClockValue describes a clock fault: whose clock, and how it is set.
type ClockValue struct {
	Node string `json:"node"`
	clusters.ClockSetting
}

// Clock skews one leader's clock at a time: clock-bump jumps it ahead or behind by up to MaxSkew,
// clock-strobe flips it back and forth fast, clock-drift makes it run fast or slow. Each is
// undone by clock-reset. The setting in force is in the fault's value, so the history shows it.
type Clock struct {
	// MaxSkew bounds a bump or a strobe; zero means 10s.
	MaxSkew time.Duration
}

// Name implements Nemesis.
func (Clock) Name() string { return ClockName }

// UndoF implements Nemesis.
func (Clock) UndoF() string { return "clock-reset" }

// Supports implements Nemesis.
func (Clock) Supports(env *Env) error {
	return Capable[clusters.ClockSkewer](env.Cluster, "ClockSkewer", "set clocks")
}

// Fs implements Nemesis.
func (Clock) Fs() []string { return []string{"clock-bump", "clock-strobe", "clock-drift"} }

// SkewsClock says that a clock fault skews the clock of the node its value names.
func (Clock) SkewsClock() bool { return true }

// Plan implements Nemesis.
func (c Clock) Plan(r *rand.Rand, _ *Env, nodes []string) (string, any) {
	maxSkew := c.MaxSkew
	if maxSkew <= 0 {
		maxSkew = 10 * time.Second
	}
	v := ClockValue{Node: nodes[r.IntN(len(nodes))]}
	sign := int64(1 - 2*r.IntN(2))
	skew := int64(maxSkew)/5 + r.Int64N(int64(maxSkew)*4/5+1) // a fifth of the bound to all of it
	switch r.IntN(3) {
	case 0:
		v.OffsetNS = sign * skew
		return "clock-bump", v
	case 1:
		v.StrobeNS, v.StrobePeriodNS = skew, int64(20*time.Millisecond)+r.Int64N(int64(180*time.Millisecond))
		return "clock-strobe", v
	default:
		// Fast or slow by 10% to 50%, from a start that is already off by a second or two.
		v.DriftPPM = sign * (100_000 + r.Int64N(400_001))
		v.OffsetNS = sign * (int64(time.Second) + r.Int64N(int64(time.Second)))
		return "clock-drift", v
	}
}

// Apply implements Nemesis.
func (Clock) Apply(ctx context.Context, env *Env, f Fault) error {
	var v ClockValue
	if err := json.Unmarshal(f.Value, &v); err != nil || v.Node == "" {
		return fmt.Errorf("clock value %s: no node", f.Value)
	}
	return settle(ctx, env, env.Cluster.(clusters.ClockSkewer).SetClock(ctx, v.Node, v.ClockSetting))
}

// Undo implements Nemesis.
func (Clock) Undo(ctx context.Context, env *Env, f Fault) error {
	var v ClockValue
	if err := json.Unmarshal(f.Value, &v); err != nil || v.Node == "" {
		return fmt.Errorf("clock value %s: no node", f.Value)
	}
	return settle(ctx, env, env.Cluster.(clusters.ClockSkewer).SetClock(ctx, v.Node, clusters.ClockSetting{}))
}

// settle waits, after clocks were set without error, until the cluster's nodes read the new
// settings (clusters.ClockLagger), so that the op that set them completes once they are in force.
func settle(ctx context.Context, env *Env, err error) error {
	l, ok := env.Cluster.(clusters.ClockLagger)
	if err != nil || !ok || l.ClockLag() <= 0 {
		return err
	}
	t := time.NewTimer(l.ClockLag())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HealAll implements Nemesis: every clock back to the host's.
func (Clock) HealAll(ctx context.Context, env *Env) error {
	return setClocks(ctx, env, nodeIDs(env.Cluster), clusters.ClockSetting{})
}

// setClocks gives every node in ids the same setting, and reports every node that refused it.
func setClocks(ctx context.Context, env *Env, ids []string, s clusters.ClockSetting) error {
	var errs []error
	for _, id := range ids {
		errs = append(errs, env.Cluster.(clusters.ClockSkewer).SetClock(ctx, id, s))
	}
	return errors.Join(errs...)
}

// ClockTieName is the clock-tie nemesis's catalog name.
const ClockTieName = "clock-tie"

// ClockTieValue describes a clock-freeze fault: the clocks it stops at one instant. Node is the
// first of them, so that a reader that knows only a clock fault's node still sees one.
type ClockTieValue struct {
	Node  string   `json:"node"`
	Nodes []string `json:"nodes"`
}

// ClockTie stops the clocks of two leaders at one instant (clock-freeze), the instant it is
// applied, to the second; clock-reset starts them again. Everything the two do meanwhile carries
// the same timestamp, so a last-writer-wins rule meets ties that only its tie-break can order:
// an engine without one, or with one that each leader applies differently, diverges. A leader
// that another clock fault skews meanwhile takes whichever setting came last.
type ClockTie struct{}

// Name implements Nemesis.
func (ClockTie) Name() string { return ClockTieName }

// UndoF implements Nemesis.
func (ClockTie) UndoF() string { return "clock-reset" }

// Supports implements Nemesis.
func (ClockTie) Supports(env *Env) error {
	return Capable[clusters.ClockSkewer](env.Cluster, "ClockSkewer", "set clocks")
}

// Fs implements Nemesis.
func (ClockTie) Fs() []string { return []string{"clock-freeze"} }

// SkewsClock says that a clock-freeze skews the clocks of the nodes its value names.
func (ClockTie) SkewsClock() bool { return true }

// Plan implements Nemesis: two leaders drawn at random (the only one, where there is one).
func (ClockTie) Plan(r *rand.Rand, _ *Env, nodes []string) (string, any) {
	pick := append([]string(nil), nodes...)
	r.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
	pick = pick[:min(2, len(pick))]
	return "clock-freeze", ClockTieValue{Node: pick[0], Nodes: pick}
}

func tieValue(f Fault) (ClockTieValue, error) {
	var v ClockTieValue
	if err := json.Unmarshal(f.Value, &v); err != nil || len(v.Nodes) == 0 {
		return v, fmt.Errorf("clock-freeze value %s: no nodes", f.Value)
	}
	return v, nil
}

// Apply implements Nemesis: every clock the value names stops at now, to the second.
func (ClockTie) Apply(ctx context.Context, env *Env, f Fault) error {
	v, err := tieValue(f)
	if err != nil {
		return err
	}
	at := clusters.ClockSetting{FrozenAtNS: time.Now().Truncate(time.Second).UnixNano()}
	return settle(ctx, env, setClocks(ctx, env, v.Nodes, at))
}

// Undo implements Nemesis.
func (ClockTie) Undo(ctx context.Context, env *Env, f Fault) error {
	v, err := tieValue(f)
	if err != nil {
		return err
	}
	return settle(ctx, env, setClocks(ctx, env, v.Nodes, clusters.ClockSetting{}))
}

// HealAll implements Nemesis: every clock back to the host's.
func (ClockTie) HealAll(ctx context.Context, env *Env) error { return Clock{}.HealAll(ctx, env) }
