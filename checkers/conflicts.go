package checkers

import (
	"context"
	"fmt"
	"sort"

	"crossfire/history"
)

// ConflictsName is the conflicts checker's name.
const ConflictsName = "conflicts"

// Conflicts checks that no conflict was resolved silently: every pair of acknowledged writes to
// a key from two leaders that were concurrent (neither version vector includes the other, as the
// writes' meta.vv shows) appears in some leader's conflict records, one logged version including
// each write. Writes without a version vector (inventory) are not its business. Its input is
// the history and the conflict records the database gave (Logs: a run folder's
// conflicts.jsonl); without them it cannot judge.
type Conflicts struct {
	Logs   []history.ConflictRecord
	Loaded bool // the records were looked for (no record is an answer too)
}

// Name implements Checker.
func (Conflicts) Name() string { return ConflictsName }

// Check implements Checker.
func (c Conflicts) Check(ctx context.Context, ops []history.Op) Result {
	return checkByStreaming(ctx, c, ops)
}

// Stream implements Streamer.
func (c Conflicts) Stream() Stream { return &conflictsStream{c: c, writes: map[string][]*cartWrite{}} }

type conflictsStream struct {
	c      Conflicts
	p      pairer
	writes map[string][]*cartWrite // key -> acknowledged writes with version vectors
}

// writeFs are the writes of the built-in workloads whose concurrency the records must cover.
var writeFs = map[string]bool{"write": true, "cas": true, "add": true, "remove": true}

func (s *conflictsStream) Observe(op history.Op) {
	if op.IsNemesis() {
		return
	}
	if !writeFs[op.F] {
		return
	}
	if op.Type == history.Invoke {
		s.p.observe(op)
		return
	}
	inv, ok := s.p.observe(op)
	if !ok || op.Type != history.OK {
		return
	}
	w, versioned := writeOf(op)
	if !versioned {
		return
	}
	s.writes[inv.Key] = append(s.writes[inv.Key], w)
}

func (s *conflictsStream) Result(context.Context) Result {
	if !s.c.Loaded {
		return Result{Valid: Unknown, Error: "no conflict records were given (check a run folder whose database gives them)"}
	}
	byKey := map[string][]history.ConflictRecord{}
	for _, r := range s.c.Logs {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	r := Result{Valid: True, Stats: map[string]any{"logged_conflicts": len(s.c.Logs)}}
	pairs, silent := 0, 0
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		ws, recs := s.writes[key], byKey[key]
		// For each write, the records that log a version including it, as the held side (local)
		// and as the arriving side (incoming).
		local := make([][]bool, len(ws))
		incoming := make([][]bool, len(ws))
		for i, w := range ws {
			local[i] = make([]bool, len(recs))
			incoming[i] = make([]bool, len(recs))
			for j, rec := range recs {
				for _, v := range rec.Local {
					local[i][j] = local[i][j] || coversVV(v.VV, w.vv)
				}
				incoming[i][j] = coversVV(rec.Incoming.VV, w.vv)
			}
		}
		for i := range ws {
			for k := i + 1; k < len(ws); k++ {
				a, b := ws[i], ws[k]
				if a.origin == b.origin || !concurrentVV(a.vv, b.vv) {
					continue
				}
				pairs++
				logged := false
				for j := range recs {
					if local[i][j] && incoming[k][j] || incoming[i][j] && local[k][j] {
						logged = true
						break
					}
				}
				if logged {
					continue
				}
				silent++
				if silent <= 50 {
					r.Anomalies = append(r.Anomalies, Anomaly{Kind: "silent-conflict", Key: key,
						Ops: []int64{a.index, b.index}, Nodes: union([]string{a.origin}, []string{b.origin}), Definite: true,
						Description: fmt.Sprintf("%s: concurrent writes by %s (op %d) and %s (op %d) were resolved without a conflict record at any leader",
							key, a.origin, a.index, b.origin, b.index)})
				}
			}
		}
	}
	r.Stats["concurrent_pairs"] = pairs
	r.Stats["silent"] = silent
	if silent > 0 {
		r.Valid = False
	}
	return r
}
