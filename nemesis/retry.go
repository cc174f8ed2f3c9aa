package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"crossfire/clusters"
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

// Supports implements Nemesis.
func (Retry) Supports(env *Env) error {
	if _, ok := env.Cluster.(clusters.LinkShaper); !ok {
		return errors.New("the cluster cannot slow links (no LinkShaper)")
	}
	if _, ok := env.Cluster.(clusters.ReplicationDuplicator); !ok {
		return errors.New("the cluster cannot duplicate replication (no ReplicationDuplicator)")
	}
	if env.Clients == nil {
		return errors.New("no client faults to drive")
	}
	return nil
}

// Plan implements Nemesis.
func (Retry) Plan(r *rand.Rand, nodes []string) (string, any) {
	set := 1 + r.IntN(1<<len(RetryModes)-1) // a non-empty subset, as a bit set
	var v RetryValue
	for i, m := range RetryModes {
		if set&(1<<i) != 0 {
			v.Modes = append(v.Modes, m)
		}
	}
	if set&1 != 0 { // RetryLatency
		v.Node, v.LatencyMS = nodes[r.IntN(len(nodes))], 1500
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
		default:
			errs = append(errs, fmt.Errorf("unknown retry mode %q (valid: %v)", m, RetryModes))
		}
	}
	return errors.Join(errs...)
}

// HealAll implements Nemesis.
func (Retry) HealAll(ctx context.Context, env *Env) error {
	env.Clients.SetRedeliver(false)
	env.Clients.SetStamp(false)
	return errors.Join(
		env.Cluster.(clusters.LinkShaper).ClearLatency(ctx),
		env.Cluster.(clusters.ReplicationDuplicator).DuplicateReplication(ctx, false),
	)
}
