package checkers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"crossfire/history"
)

// ConvergenceName is the convergence checker's name.
const ConvergenceName = "convergence"

// Convergence checks that, after healing and quiescing, every leader's final reads agree: the
// same value for every (f, key) read at the end (lists compared as sets). The final reads are
// the ops whose invoke carries meta "final": true; the harness also records there how long
// replication took to catch up ("quiesce_ns") and whether it did ("converged").
type Convergence struct{}

// Name implements Checker.
func (Convergence) Name() string { return ConvergenceName }

// Check implements Checker.
func (c Convergence) Check(ctx context.Context, ops []history.Op) Result {
	return checkByStreaming(ctx, c, ops)
}

// Stream implements Streamer.
func (Convergence) Stream() Stream {
	return &convergenceStream{reads: map[readKey]map[string]finalRead{}}
}

type readKey struct{ f, key string }

type finalRead struct {
	sum   uint64 // an order-independent hash of the value (see digest)
	shown string // the start of the value, to show when leaders differ
	index int64
}

type convergenceStream struct {
	p         pairer
	reads     map[readKey]map[string]finalRead // (f, key) -> leader -> its last ok final read
	leaders   map[string]bool
	quiesceNS int64
	converged bool
	sawMeta   bool
	digests   map[uint64]uint64 // raw bytes' hash -> digest
}

func (s *convergenceStream) Observe(op history.Op) {
	if op.IsNemesis() {
		return
	}
	if op.Type == history.Invoke {
		if op.MetaBool("final") {
			s.p.observe(op) // only final reads are paired: the map stays small
		}
		return
	}
	if len(s.p.open) == 0 {
		return
	}
	inv, ok := s.p.observe(op)
	if !ok {
		return
	}
	if s.leaders == nil {
		s.leaders = map[string]bool{}
	}
	s.leaders[inv.Node] = true
	if q := inv.MetaField("quiesce_ns"); q != nil {
		s.sawMeta = true
		s.quiesceNS = inv.MetaInt("quiesce_ns")
		s.converged = inv.MetaBool("converged")
	}
	if op.Type != history.OK {
		return
	}
	k := readKey{inv.F, inv.Key}
	if s.reads[k] == nil {
		s.reads[k] = map[string]finalRead{}
	}
	shown := string(op.Value[:min(len(op.Value), 120)])
	if len(op.Value) > 120 {
		shown = shown[:117] + "..."
	}
	s.reads[k][inv.Node] = finalRead{sum: s.digest(op.Value), shown: shown, index: op.Index}
}

// digest caches digests by the value's raw bytes: converged leaders answer with the same bytes.
func (s *convergenceStream) digest(raw json.RawMessage) uint64 {
	h := fnv.New64a()
	h.Write(raw)
	key := h.Sum64()
	if d, ok := s.digests[key]; ok {
		return d
	}
	if s.digests == nil {
		s.digests = map[uint64]uint64{}
	}
	d := digest(raw)
	s.digests[key] = d
	return d
}

// digest hashes a value so that equal values hash equal: compact JSON, and a list as the sum
// of its items' hashes, so that the order of its items does not matter. Final reads are large
// (every order row) and only compared, so a hash serves where a sorted copy would cost.
func digest(raw json.RawMessage) uint64 {
	var list []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
		sum := uint64(len(list)) * 0x9e3779b97f4a7c15
		for _, it := range list {
			sum += mix(digest(it))
		}
		return sum
	}
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	h := fnv.New64a()
	h.Write(b.Bytes())
	return h.Sum64()
}

// mix spreads a hash's bits so that sums of hashes do not cancel.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

func (s *convergenceStream) Result(context.Context) Result {
	if len(s.leaders) == 0 {
		return Result{Valid: Unknown, Error: "no final reads in the history: nothing shows the leaders' end states"}
	}
	leaders := make([]string, 0, len(s.leaders))
	for l := range s.leaders {
		leaders = append(leaders, l)
	}
	sort.Strings(leaders)
	r := Result{Valid: True, Stats: map[string]any{"leaders": len(leaders), "final_reads": len(s.reads)}}
	if s.sawMeta {
		r.Stats["quiesce_ns"] = s.quiesceNS
		r.Stats["replication_caught_up"] = s.converged
	}
	keys := make([]readKey, 0, len(s.reads))
	for k := range s.reads {
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
		byLeader := s.reads[k]
		values := map[uint64][]string{} // value digest -> leaders
		shown := map[uint64]string{}
		var ops []int64
		for _, l := range leaders {
			fr, ok := byLeader[l]
			if !ok {
				missing = append(missing, fmt.Sprintf("%s gave no final %s of %q", l, k.f, k.key))
				continue
			}
			values[fr.sum] = append(values[fr.sum], l)
			shown[fr.sum] = fr.shown
			ops = append(ops, fr.index)
		}
		if len(values) < 2 {
			continue
		}
		var parts []string
		for sum, ls := range values {
			parts = append(parts, fmt.Sprintf("%s: %s", strings.Join(ls, ","), shown[sum]))
		}
		sort.Strings(parts)
		r.Anomalies = append(r.Anomalies, Anomaly{Kind: "divergence", Key: k.key, Ops: ops, Nodes: leaders, Definite: true,
			Description: fmt.Sprintf("final %s of %q differs between leaders: %s", k.f, k.key, strings.Join(parts, "; "))})
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
