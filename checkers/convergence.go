package checkers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/history"
)

// ConvergenceName is the convergence checker's name.
const ConvergenceName = "convergence"

// Convergence checks that, after healing and quiescing, every leader's final reads agree: the
// same value for every (read, key) read at the end, compared as data (objects by key, numbers by
// value, lists as multisets). The final reads are those marked with meta.final (the harness also
// records there how long replication took to catch up, "quiesce_ns", and whether it did,
// "converged"); in a history without the marker, the last successful read of each key at each
// leader. It needs final reads from at least two leaders, each naming its leader; a history with
// no read at all, or whose reads name no leader (Jepsen's), is none of its business.
//
// Where the final reads carry the version each leader holds (meta.ts and meta.origin), a
// divergence is put down to its cause when the history shows one: two leaders holding versions
// from different origins with the same timestamp are a tie that last-writer-wins broke
// differently at each (CauseTimestampTie); a version whose write (an acknowledged operation with
// the same meta.ts and meta.origin) completed while a clock fault skewed its origin's clock is
// clock skew (CauseClockSkew). Otherwise no cause is named.
type Convergence struct{}

// Name implements Checker.
func (Convergence) Name() string { return ConvergenceName }

// Check implements Checker.
func (c Convergence) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, c, in)
}

// Stream implements Streamer.
func (Convergence) Stream(in Input) Stream {
	return &convergenceStream{clocks: clockSkews{faults: in.Faults}}
}

type readKey struct{ f, key string }

type convergenceStream struct {
	open      history.Matcher[readInvoke] // each process's read in flight
	finals    finalReads
	reads     int // completed reads of any kind
	quiesceNS int64
	converged bool
	sawMeta   bool
	digests   map[uint64]uint64 // raw bytes' hash -> canonical digest
	clocks    clockSkews
	// (origin, ts) -> when the acknowledged write that made that version completed: only writes
	// whose answers carry both
	written map[stamp]int64
}

// versionedFs are the built-in workloads' writes whose answers may carry the version they made.
var versionedFs = map[string]bool{"write": true, "cas": true, "add": true, "remove": true, "set-field": true, "claim": true, "release": true}

// stamp is a version as a store names it: the leader that wrote it and its timestamp.
type stamp struct {
	origin string
	ts     int64
}

// stampOf reads an answer's meta.origin and meta.ts.
func stampOf(meta json.RawMessage) (stamp, bool) {
	if len(meta) == 0 {
		return stamp{}, false
	}
	var m struct {
		TS     *int64 `json:"ts"`
		Origin string `json:"origin"`
	}
	if json.Unmarshal(meta, &m) != nil || m.TS == nil || m.Origin == "" {
		return stamp{}, false
	}
	return stamp{m.Origin, *m.TS}, true
}

// readInvoke is what the checker keeps of a read's invoke until it completes: every read is
// paired (without meta.final the last ones are final), so it keeps little.
type readInvoke struct {
	k     finalKey
	start int64
	final bool
}

func (s *convergenceStream) Observe(op history.Op) {
	if op.IsNemesis() {
		s.clocks.observe(op)
		return
	}
	if !readFs[op.F] {
		if op.Type == history.OK && versionedFs[op.F] && bytes.Contains(op.Meta, []byte(`"ts"`)) {
			if st, ok := stampOf(op.Meta); ok {
				if s.written == nil {
					s.written = map[stamp]int64{}
				}
				s.written[st] = op.Time
			}
		}
		return
	}
	if op.Type == history.Invoke {
		final := op.MetaBool("final")
		if final && op.MetaField("quiesce_ns") != nil {
			s.sawMeta = true
			s.quiesceNS = op.MetaInt("quiesce_ns")
			s.converged = op.MetaBool("converged")
		}
		s.open.Invoke(op, readInvoke{finalKey{op.F, op.Key, op.Node}, op.Time, final})
		return
	}
	inv, ok := s.open.Complete(op)
	if !ok {
		return
	}
	s.reads++
	s.finals.take(inv.k, inv.start, inv.final, op)
}

// digest caches digests by the value's raw bytes: converged leaders answer with the same bytes.
// The quick digest takes a list as the multiset of its items' compact JSON, which is what
// converged leaders give almost always; where quick digests differ, the canonical one (objects
// by key, numbers by value) decides, so that only values that may really differ pay for it.
func (s *convergenceStream) digest(raw json.RawMessage, canonical bool) uint64 {
	key := maphash.Bytes(rowsSeed, raw)
	if canonical {
		key = ^key
	}
	if d, ok := s.digests[key]; ok {
		return d
	}
	if s.digests == nil {
		s.digests = map[uint64]uint64{}
	}
	d := quickDigest(raw)
	if canonical {
		d = canonicalDigest(raw)
	}
	s.digests[key] = d
	return d
}

// quickDigest hashes a value as compact JSON, a list as the sum of its items' hashes, so that
// the order of its items does not matter.
func quickDigest(raw json.RawMessage) uint64 {
	if d, ok := plainDigest(raw); ok {
		return d
	}
	return decodedDigest(raw)
}

// decodedDigest is quickDigest through encoding/json, for any value.
func decodedDigest(raw json.RawMessage) uint64 {
	var list []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
		sum := uint64(len(list)) * 0x9e3779b97f4a7c15
		for _, it := range list {
			sum += mix(decodedDigest(it))
		}
		return sum
	}
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	return fnv64(b.Bytes())
}

// mix spreads a hash's bits so that sums of hashes do not cancel.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

type finalRead struct {
	sum   uint64 // the value's digest
	value json.RawMessage
	index int64
	meta  json.RawMessage
}

func (s *convergenceStream) Result(context.Context) Result {
	if s.reads == 0 {
		return notApplicable("no read in the history: nothing shows what the leaders hold")
	}
	picks, rule := s.finals.picks()
	if len(picks) == 0 {
		return Result{Valid: Unknown, Error: "no successful read in the history: nothing shows the leaders' end states"}
	}
	reads := map[readKey]map[string]finalRead{}
	var leaders []string
	unnamed := 0
	for _, l := range s.finals.nodes() {
		if l == "" {
			unnamed++
		} else {
			leaders = append(leaders, l)
		}
	}
	for _, p := range picks {
		if p.node == "" {
			continue
		}
		k := readKey{p.f, p.key}
		if reads[k] == nil {
			reads[k] = map[string]finalRead{}
		}
		reads[k][p.node] = finalRead{sum: s.digest(p.value, false), value: p.value, index: p.index, meta: p.meta}
	}
	r := Result{Valid: True, Stats: map[string]any{"leaders": len(leaders), "final_reads": len(reads), "final_rule": rule}}
	if s.sawMeta {
		r.Stats["quiesce_ns"] = s.quiesceNS
		r.Stats["replication_caught_up"] = s.converged
	}
	switch {
	case unnamed > 0 && len(leaders) == 0:
		// A history whose operations name no leader (Jepsen's, a single-copy store's) has no
		// leaders to compare: convergence is not its question.
		return notApplicable(fmt.Sprintf("no final read (by %s) names a leader: there are no leaders' states to compare", rule))
	case unnamed > 0:
		return Result{Valid: Unknown, Stats: r.Stats, Error: fmt.Sprintf("final reads (by %s) that name no leader beside ones that do (%s): whose state they show is unknown", rule, strings.Join(leaders, ","))}
	case len(leaders) < 2:
		return Result{Valid: Unknown, Stats: r.Stats, Error: fmt.Sprintf("final reads (by %s) from %d leader(s) only (%s): nothing to compare", rule, len(leaders), strings.Join(leaders, ","))}
	}
	keys := make([]readKey, 0, len(reads))
	for k := range reads {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].f != keys[j].f {
			return keys[i].f < keys[j].f
		}
		return keys[i].key < keys[j].key
	})
	var missing []string
	for _, k := range keys {
		byLeader := reads[k]
		values := map[uint64][]string{} // value digest -> leaders
		shown := map[uint64]json.RawMessage{}
		var ops []int64
		for _, l := range leaders {
			fr, ok := byLeader[l]
			if !ok {
				missing = append(missing, fmt.Sprintf("%s gave no final %s of %q", l, k.f, k.key))
				continue
			}
			values[fr.sum] = append(values[fr.sum], l)
			shown[fr.sum] = fr.value
			ops = append(ops, fr.index)
		}
		if len(values) > 1 {
			// Told apart by their bytes: compare them as data.
			values, shown = map[uint64][]string{}, map[uint64]json.RawMessage{}
			for _, l := range leaders {
				if fr, ok := byLeader[l]; ok {
					sum := s.digest(fr.value, true)
					values[sum] = append(values[sum], l)
					shown[sum] = fr.value
				}
			}
		}
		if len(values) < 2 {
			continue
		}
		var groups []valueGroup
		for sum, ls := range values {
			groups = append(groups, valueGroup{ls, shown[sum]})
		}
		desc := differences(groups) // sorts each group's leaders, and the groups by their first
		cause, why := s.cause(groups, byLeader)
		r.Anomalies = append(r.Anomalies, Anomaly{Kind: "divergence", Key: k.key, Ops: ops, Nodes: leaders, Definite: true, Cause: cause,
			Description: fmt.Sprintf("final %s of %q differs between leaders: %s%s", k.f, k.key, desc, why)})
	}
	switch {
	case len(r.Anomalies) > 0:
		r.Valid = False
	case len(missing) > 0:
		r.Valid = Unknown
		r.Error = strings.Join(missing[:min(len(missing), 5)], "; ")
	}
	return r
}

// cause puts a divergence down to what the versions the leaders hold show, if they show it: a
// tie of timestamps between versions of different origins, or a version written while its
// origin's clock was skewed. groups are the leaders holding each value, in differences' order.
func (s *convergenceStream) cause(groups []valueGroup, byLeader map[string]finalRead) (cause, why string) {
	held := make([]stamp, len(groups))
	for i, g := range groups {
		st, ok := stampOf(byLeader[g.leaders[0]].meta)
		if !ok {
			return "", ""
		}
		held[i] = st
	}
	for i := range held {
		for j := i + 1; j < len(held); j++ {
			if held[i].ts == held[j].ts && held[i].origin != held[j].origin {
				return CauseTimestampTie, fmt.Sprintf("; %s %s's version and %s %s's, both stamped %s: a tie that last-writer-wins broke differently at each",
					holds(groups[i].leaders), held[i].origin, holds(groups[j].leaders), held[j].origin, stampTime(held[i].ts))
			}
		}
	}
	for i, st := range held {
		if t, ok := s.written[st]; ok {
			if skew := s.clocks.at(st.origin, t); skew != "" {
				return CauseClockSkew, fmt.Sprintf("; the version %s was written at %s under %s", holds(groups[i].leaders), st.origin, skew)
			}
		}
	}
	return "", ""
}

// holds is "n1 holds" or "n1,n2 hold".
func holds(leaders []string) string {
	if len(leaders) == 1 {
		return leaders[0] + " holds"
	}
	return strings.Join(leaders, ",") + " hold"
}

// stampTime shows a timestamp of Unix nanoseconds as a UTC time, to the nanosecond.
func stampTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
