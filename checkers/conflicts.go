package checkers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"crossfire/history"
)

// ConflictsName is the conflicts checker's name.
const ConflictsName = "conflicts"

// LoggedVersion is a version as a leader's conflict log records it.
type LoggedVersion struct {
	Value  json.RawMessage   `json:"value"`
	TS     int64             `json:"ts"`
	Origin string            `json:"origin"`
	Seq    uint64            `json:"seq"`
	VV     map[string]uint64 `json:"vv"`
}

// ConflictRecord is one record of a leader's conflict log: a replicated version found concurrent
// with the versions the leader held, and the outcome.
type ConflictRecord struct {
	Time     int64           `json:"time"`
	Node     string          `json:"node"`
	Key      string          `json:"key"`
	Strategy string          `json:"strategy"`
	Local    []LoggedVersion `json:"local"`
	Incoming LoggedVersion   `json:"incoming"`
	Winner   LoggedVersion   `json:"winner"`
}

// ConflictLogFile is a leader's conflict log's name.
const ConflictLogFile = "conflicts.jsonl"

// LoadConflictLogs reads every conflict log of a run folder: nodes/<node>/data/conflicts.jsonl
// (the embedded cluster) or nodes/<node>/conflicts.jsonl (copied out of containers). found says
// whether there was any log at all.
func LoadConflictLogs(runDir string) (records []ConflictRecord, found bool, err error) {
	var paths []string
	for _, pattern := range []string{"nodes/*/data/" + ConflictLogFile, "nodes/*/" + ConflictLogFile} {
		m, _ := filepath.Glob(filepath.Join(runDir, pattern))
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, true, err
		}
		s := bufio.NewScanner(f)
		s.Buffer(make([]byte, 1<<16), history.MaxLineBytes)
		line := 0
		for s.Scan() {
			line++
			var r ConflictRecord
			if err := json.Unmarshal(s.Bytes(), &r); err != nil {
				f.Close()
				return nil, true, fmt.Errorf("%s: line %d: %v", p, line, err)
			}
			records = append(records, r)
		}
		f.Close()
		if err := s.Err(); err != nil {
			return nil, true, fmt.Errorf("%s: %v", p, err)
		}
	}
	return records, len(paths) > 0, nil
}

// Conflicts checks that no conflict was resolved silently: every pair of acknowledged writes to
// a key from two leaders that were concurrent (neither version vector includes the other, as the
// writes' meta.vv shows) appears in some leader's conflict log, one logged version including
// each write. Writes without a version vector (inventory) are not its business. Its input is
// the history and the run's conflict logs (Logs); without them it cannot judge.
type Conflicts struct {
	Logs   []ConflictRecord
	Loaded bool // the logs were looked for (an empty log is a log)
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
	writes map[string][]*cartWrite // log key -> acknowledged writes with version vectors
}

var writeFs = map[string]string{"write": "", "cas": "", "add": "cart:", "remove": "cart:"}

func (s *conflictsStream) Observe(op history.Op) {
	if op.IsNemesis() {
		return
	}
	if _, ok := writeFs[op.F]; !ok {
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
	key := writeFs[inv.F] + inv.Key
	s.writes[key] = append(s.writes[key], w)
}

func (s *conflictsStream) Result(context.Context) Result {
	if !s.c.Loaded {
		return Result{Valid: Unknown, Error: "no conflict logs were given (check a run folder to judge them)"}
	}
	byKey := map[string][]ConflictRecord{}
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
					r.Anomalies = append(r.Anomalies, Anomaly{Kind: "silent-conflict", Key: strings.TrimPrefix(key, "cart:"),
						Ops: []int64{a.index, b.index}, Nodes: union([]string{a.origin}, []string{b.origin}), Definite: true,
						Description: fmt.Sprintf("%s: concurrent writes by %s (op %d) and %s (op %d) were resolved without a record in any conflict log",
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
