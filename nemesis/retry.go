package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
)

// RetryName is the retry nemesis's catalog name.
const RetryName = "retry"

// Retry modes.
const (
	// RetryLatency delays one leader's replies to clients past the client timeout: requests are
	// applied, clients time out on them, and retry them, same req, at another leader.
	RetryLatency = "latency"
	// RetryRedeliver has clients send acknowledged requests again, same req, to another leader.
	RetryRedeliver = "redeliver"
	// RetryDuplicate has every leader's replication deliver entries more than once.
	RetryDuplicate = "duplicate"
	// RetryStamp has clients stamp their requests with their own time, and a retry carry the
	// original request's stamp, which the store then uses for last-writer-wins.
	RetryStamp = "stamp"
)

// RetryModes lists the modes.
var RetryModes = []string{RetryLatency, RetryRedeliver, RetryDuplicate, RetryStamp}

// RetryValue describes a retry fault: the modes in force together.
type RetryValue struct {
	Modes     []string `json:"modes"`
	Node      string   `json:"node,omitempty"`       // latency: whose client link
	LatencyMS int64    `json:"latency_ms,omitempty"` // latency: added to every reply
}

// Retry makes requests arrive more than once, the way retrying clients and at-least-once
// delivery do. Each fault puts a random non-empty set of the modes in force at once. Its fault f
// is "retry" and its undo "retry-end", whatever the modes.
type Retry struct{}

// Name implements Nemesis.
func (Retry) Name() string { return RetryName }

// UndoF implements Nemesis.
func (Retry) UndoF() string { return "retry-end" }

// Fs implements Nemesis.
func (Retry) Fs() []string { return []string{"retry"} }

// modeNeeds says what each mode needs: latency and duplicate act on the cluster, redeliver and
// stamp only on the harness's clients.
func modeNeeds(env *Env, mode string) error {
	switch mode {
	case RetryLatency:
		return Capable[clusters.LinkShaper](env.Cluster, "LinkShaper", "slow links")
	case RetryDuplicate:
		return Capable[clusters.ReplicationDuplicator](env.Cluster, "ReplicationDuplicator", "duplicate replication")
	case RetryRedeliver, RetryStamp:
		if env.Clients == nil {
			return errors.New("no client faults to drive")
		}
		return nil
	}
	return fmt.Errorf("unknown retry mode %q (valid: %v)", mode, RetryModes)
}

// Modes lists the modes env supports, in the order of RetryModes.
func (Retry) Modes(env *Env) []string {
	var out []string
	for _, m := range RetryModes {
		if modeNeeds(env, m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Supports implements Nemesis: the client-side modes need nothing of the cluster, so only a run
// without clients to drive lacks every mode.
func (r Retry) Supports(env *Env) error {
	if len(r.Modes(env)) == 0 {
		return modeNeeds(env, RetryRedeliver)
	}
	return nil
}

// Plan implements Nemesis: a non-empty set of the modes env supports.
func (r Retry) Plan(rng *rand.Rand, env *Env, nodes []string) (string, any) {
	return r.PlanAt(rng, env, nodes, -1)
}

// coverage is the order in which a run's faults are sure to put the modes in force, the one that
// most often breaks a store first: a redelivered acknowledged request reaches a second leader
// whatever the timing, a timed-out one only when both attempts succeed.
var coverage = []string{RetryRedeliver, RetryLatency, RetryDuplicate, RetryStamp}

// PlanAt draws the k-th fault of a run's timeline: a random non-empty set of the modes env
// supports, which holds the (k mod n)-th of them in coverage order, so that every run of n faults
// or more uses every mode. A negative k adds none.
func (r Retry) PlanAt(rng *rand.Rand, env *Env, nodes []string, k int) (string, any) {
	modes := r.Modes(env)
	set := 1 + rng.IntN(1<<len(modes)-1) // a non-empty subset, as a bit set
	if k >= 0 {
		var supported []string
		for _, m := range coverage {
			if slices.Contains(modes, m) {
				supported = append(supported, m)
			}
		}
		set |= 1 << slices.Index(modes, supported[k%len(supported)])
	}
	var v RetryValue
	for i, m := range modes {
		if set&(1<<i) != 0 {
			v.Modes = append(v.Modes, m)
		}
	}
	if slices.Contains(v.Modes, RetryLatency) {
		v.Node, v.LatencyMS = nodes[rng.IntN(len(nodes))], 1500
	}
	return "retry", v
}

func retryValue(f Fault) (RetryValue, error) {
	var v RetryValue
	if err := json.Unmarshal(f.Value, &v); err != nil {
		return v, fmt.Errorf("retry value %s: %w", f.Value, err)
	}
	return v, nil
}

// Apply implements Nemesis.
func (Retry) Apply(ctx context.Context, env *Env, f Fault) error {
	return setRetry(ctx, env, f, true)
}

// Undo implements Nemesis.
func (Retry) Undo(ctx context.Context, env *Env, f Fault) error {
	return setRetry(ctx, env, f, false)
}

// setRetry puts a retry fault's modes in force, or takes them away.
func setRetry(ctx context.Context, env *Env, f Fault, on bool) error {
	v, err := retryValue(f)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range v.Modes {
		if err := modeNeeds(env, m); err != nil {
			errs = append(errs, fmt.Errorf("retry mode %s: %w", m, err))
			continue
		}
		switch m {
		case RetryLatency:
			shaper := env.Cluster.(clusters.LinkShaper)
			if on {
				link := clusters.Link{From: clusters.ClientLink, To: v.Node}
				errs = append(errs, shaper.SetLatency(ctx, []clusters.Link{link}, time.Duration(v.LatencyMS)*time.Millisecond, 100*time.Millisecond))
			} else {
				errs = append(errs, shaper.ClearLatency(ctx))
			}
		case RetryRedeliver:
			env.Clients.SetRedeliver(on)
		case RetryDuplicate:
			errs = append(errs, env.Cluster.(clusters.ReplicationDuplicator).DuplicateReplication(ctx, on))
		case RetryStamp:
			env.Clients.SetStamp(on)
		}
	}
	return errors.Join(errs...)
}

// HealAll implements Nemesis: every mode env supports is switched off.
func (Retry) HealAll(ctx context.Context, env *Env) error {
	if env.Clients != nil {
		env.Clients.SetRedeliver(false)
		env.Clients.SetStamp(false)
	}
	var errs []error
	if s, ok := env.Cluster.(clusters.LinkShaper); ok {
		errs = append(errs, s.ClearLatency(ctx))
	}
	if d, ok := env.Cluster.(clusters.ReplicationDuplicator); ok {
		errs = append(errs, d.DuplicateReplication(ctx, false))
	}
	return errors.Join(errs...)
}
