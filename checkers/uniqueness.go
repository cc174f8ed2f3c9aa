package checkers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
)

// UniquenessName is the uniqueness checker's name.
const UniquenessName = "uniqueness"

// Uniqueness judges data with one right answer (the claims workload: claim, release and
// read-owner of names, HISTORY.md). A name has at most one owner at a time, so:
//
//   - double-claim (definite): two owners' claims of one name were both acknowledged, and in
//     neither order can the first owner's release have come between them: no release by the
//     first owner (acknowledged or of unknown outcome) had begun before the second claim ended.
//     Both were told the name is theirs.
//   - lost-claim (definite): an acknowledged claim whose owner never released the name (no
//     release of it, of any outcome, began after the claim did), while a leader's final read
//     shows another owner or none: the claim was dropped silently.
//
// It needs owners new to each claim (the workload makes them so): an owner names the one claim
// that made it, and a release names whose claim it ends.
type Uniqueness struct{}

// Name implements Checker.
func (Uniqueness) Name() string { return UniquenessName }

// Check implements Checker.
func (u Uniqueness) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, u, in)
}

// Stream implements Streamer.
func (Uniqueness) Stream(in Input) Stream {
	s := &uniquenessStream{names: map[string]*claimedName{}}
	s.opPass = newOpPass(in, "claims", s.complete, "claim", "release", "read-owner")
	return s
}

// claimEvent is one claim or release: whose, when, and how it ended.
type claimEvent struct {
	owner      string
	node       string
	typ        history.Type
	start, end int64 // an info event's end is the history's end
	inv, done  int64
}

func (e claimEvent) String() string {
	return fmt.Sprintf("%s (op %d at %s)", e.owner, e.done, e.node)
}

// claimedName is what happened to one name.
type claimedName struct {
	claims   []claimEvent // acknowledged
	releases []claimEvent // acknowledged or of unknown outcome
	owners   map[string]int
}

type uniquenessStream struct {
	opPass
	names map[string]*claimedName
	bad   []string
}

func (s *uniquenessStream) name(k string) *claimedName {
	n := s.names[k]
	if n == nil {
		n = &claimedName{owners: map[string]int{}}
		s.names[k] = n
	}
	return n
}

func (s *uniquenessStream) Observe(op history.Op) { s.observe(op) }

func (s *uniquenessStream) complete(inv, done history.Op) {
	switch inv.F {
	case "read-owner":
		s.fr.observe(inv, done)
		return
	case "claim", "release":
	default:
		return
	}
	if done.Type == history.Fail {
		return
	}
	owner, ok := jsonString(inv.Value)
	if !ok {
		s.bad = append(s.bad, fmt.Sprintf("op %d: %s value %s is not an owner", inv.Index, inv.F, inv.Value))
		return
	}
	e := claimEvent{owner: owner, node: inv.Node, typ: done.Type, start: inv.Time, end: done.Time, inv: inv.Index, done: done.Index}
	n := s.name(inv.Key)
	if inv.F == "release" {
		n.releases = append(n.releases, e)
		return
	}
	n.owners[owner]++
	if n.owners[owner] > 1 {
		s.bad = append(s.bad, fmt.Sprintf("%s: owner %s claimed it more than once, so it names no one claim", inv.Key, owner))
	}
	if e.typ == history.OK {
		n.claims = append(n.claims, e)
	}
}

// releasedBetween reports whether a release by first's owner may have taken effect after first
// and before second did: it began before second ended, and it did not end before first began.
func (n *claimedName) releasedBetween(first, second claimEvent) bool {
	if first.start > second.end {
		return false // first cannot have taken effect before second
	}
	for _, r := range n.releases {
		if r.owner == first.owner && r.start < second.end && r.end > first.start {
			return true
		}
	}
	return false
}

// releasedAfter reports whether any release of c's owner may have taken effect after c.
func (n *claimedName) releasedAfter(c claimEvent) bool {
	for _, r := range n.releases {
		if r.owner == c.owner && r.end > c.start {
			return true
		}
	}
	return false
}

func (s *uniquenessStream) Result(context.Context) Result {
	if why := s.finish(); why != "" {
		return notApplicable(why)
	}
	if len(s.bad) > 0 {
		return Result{Valid: Unknown, Error: strings.Join(s.bad[:min(len(s.bad), 5)], "; ")}
	}
	picks, rule := s.fr.picks()
	finals := map[string]map[string]string{} // name -> leader -> owner ("" for none)
	finalIndex := map[string]map[string]int64{}
	for _, p := range picks {
		if p.f != "read-owner" {
			continue
		}
		owner, ok := jsonString(p.value)
		if !ok && string(compactValue(p.value)) != "null" {
			return Result{Valid: Unknown, Error: fmt.Sprintf("op %d: read-owner value %s is neither an owner nor null", p.index, p.value)}
		}
		if finals[p.key] == nil {
			finals[p.key], finalIndex[p.key] = map[string]string{}, map[string]int64{}
		}
		finals[p.key][p.node], finalIndex[p.key][p.node] = owner, p.index
	}
	windows := s.w.windows()
	r := Result{Valid: True, Stats: map[string]any{"final_rule": rule}}
	counts := map[string]int{}
	claims := 0
	for _, key := range slices.Sorted(maps.Keys(s.names)) {
		n := s.names[key]
		claims += len(n.claims)
		for i, a := range n.claims {
			for _, b := range n.claims[i+1:] {
				if a.owner == b.owner || n.releasedBetween(a, b) || n.releasedBetween(b, a) {
					continue
				}
				counts["double-claim"]++
				r.Anomalies = append(r.Anomalies, Anomaly{Kind: "double-claim", Key: key, Definite: true, Item: key,
					Ops: []int64{a.inv, a.done, b.inv, b.done}, Nodes: union([]string{a.node}, []string{b.node}),
					Nemesis:     During(windows, min(a.start, b.start), max(a.end, b.end)),
					Description: fmt.Sprintf("%s: the claims of %s and of %s were both acknowledged, and neither owner's release can have come between them: both were told the name is theirs", key, a, b)})
			}
		}
		byLeader := finals[key]
		for _, c := range n.claims {
			if n.releasedAfter(c) {
				continue
			}
			var lostAt []string
			shows := ""
			ops := []int64{c.inv, c.done}
			for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
				if byLeader[leader] == c.owner {
					continue
				}
				lostAt = append(lostAt, leader)
				ops = append(ops, finalIndex[key][leader])
				if shows == "" {
					shows = "no owner"
					if o := byLeader[leader]; o != "" {
						shows = o
					}
				}
			}
			if len(lostAt) == 0 {
				continue
			}
			counts["lost-claim"]++
			r.Anomalies = append(r.Anomalies, Anomaly{Kind: "lost-claim", Key: key, Definite: true, Item: key, Ops: ops,
				Nodes: union([]string{c.node}, lostAt), Nemesis: During(windows, c.start, c.end),
				Description: fmt.Sprintf("%s: the claim of %s was acknowledged and never released, and %s's final read shows %s", key, c, strings.Join(lostAt, ","), shows)})
		}
	}
	if claims == 0 {
		return Result{Valid: Unknown, Error: "no acknowledged claim in the history: nothing to judge"}
	}
	if len(finals) == 0 {
		r.Valid = Unknown
		r.Error = "no successful read-owner in the history: a lost claim cannot be told"
	}
	sortAnomalies(r.Anomalies)
	r.Stats["acknowledged_claims"] = claims
	r.Stats["double_claims"] = counts["double-claim"]
	r.Stats["lost_claims"] = counts["lost-claim"]
	if len(r.Anomalies) > 0 {
		r.Valid = False
	}
	return r
}
