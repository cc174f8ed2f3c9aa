package workloads

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// ClaimsName is the claims workload's name.
const ClaimsName = "claims"

// Claims drives data with one right answer: names (usernames, seats; keys name0, name1 …) that
// owners claim at any leader, release, and read. Every claim is made for an owner of its own
// ("o17"), so an owner names the one claim that made it. A release is by an owner the clients
// were told holds the name, or whose claim's outcome is unknown (Learn): the last told, among
// those whose releases failed least often, so that names change hands and are often free to
// claim again. A release can fail where the claim has not replicated yet, so an owner is dropped
// only when released, or after three failed releases (its claim may have been lost). With no
// such owner, a release is by the first owner drawn for the name since its last release. Its
// checker is uniqueness: no two owners of one name both told they hold it, and no acknowledged
// claim gone without a release.
type Claims struct {
	keys int

	mu    sync.Mutex
	n     int
	since [][]string // per name, the owners drawn for it since its last release
	held  [][]holder // per name, owners told they hold it (or not told), in the order told
}

// holder is an owner that may hold a name, and how many of its releases failed.
type holder struct {
	owner string
	fails int
}

// NewClaims makes the claims workload; the default is 6 names.
func NewClaims(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 6
	}
	return &Claims{keys: o.Keys, since: make([][]string, o.Keys), held: make([][]holder, o.Keys)}
}

// Name implements Workload.
func (w *Claims) Name() string { return ClaimsName }

// Setup implements Workload: every name starts unowned.
func (w *Claims) Setup() []history.Op { return nil }

// Retryable implements Workload: a claim or a release is not retried; a fresh process goes on.
func (w *Claims) Retryable(history.Op) bool { return false }

func (w *Claims) key(i int) string { return fmt.Sprintf("name%d", i) }

// Next implements Workload: half the ops claim a name for a new owner, a fifth release it (when
// an owner has been drawn for it since its last release), the rest read who owns it.
func (w *Claims) Next(r *rand.Rand) history.Op {
	k := r.IntN(w.keys)
	op := history.Op{Type: history.Invoke, Key: w.key(k)}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch x := r.IntN(10); {
	case x < 5:
		w.n++
		owner := fmt.Sprintf("o%d", w.n)
		w.since[k] = append(w.since[k], owner)
		op.F, op.Value = "claim", history.Value(owner)
	case x < 7 && len(w.held[k]) > 0:
		best := len(w.held[k]) - 1
		for i, h := range w.held[k] {
			if h.fails < w.held[k][best].fails {
				best = i
			}
		}
		op.F, op.Value = "release", history.Value(w.held[k][best].owner)
		w.since[k] = w.since[k][:0]
	case x < 7 && len(w.since[k]) > 0:
		op.F, op.Value = "release", history.Value(w.since[k][0])
		w.since[k] = w.since[k][:0]
	default:
		op.F, op.Value = "read-owner", history.Null
	}
	return op
}

// Learn implements Learner: a claim told ok, or of unknown outcome, makes its owner a likely
// holder of the name; a release told ok makes it none, and so do three that failed.
func (w *Claims) Learn(inv, done history.Op) {
	n, isName := strings.CutPrefix(inv.Key, "name")
	i, err := strconv.Atoi(n)
	if !isName || err != nil || i < 0 || i >= w.keys {
		return
	}
	var owner string
	if json.Unmarshal(inv.Value, &owner) != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	at := slices.IndexFunc(w.held[i], func(h holder) bool { return h.owner == owner })
	switch {
	case inv.F == "claim" && (done.Type == history.OK || done.Type == history.Info):
		if at < 0 {
			w.held[i] = append(w.held[i], holder{owner: owner})
		}
	case inv.F != "release" || at < 0:
	case done.Type == history.OK:
		w.held[i] = slices.Delete(w.held[i], at, at+1)
	case done.Type == history.Fail:
		if w.held[i][at].fails++; w.held[i][at].fails >= 3 {
			w.held[i] = slices.Delete(w.held[i], at, at+1)
		}
	}
}

// Final implements Workload: who owns each name, at every leader.
func (w *Claims) Final() []history.Op {
	out := make([]history.Op, w.keys)
	for i := range out {
		out[i] = history.Op{Type: history.Invoke, F: "read-owner", Key: w.key(i), Value: history.Null}
	}
	return out
}

// Checkers implements Workload.
func (w *Claims) Checkers() []checkers.Checker {
	return []checkers.Checker{checkers.Uniqueness{}, checkers.Convergence{}}
}
