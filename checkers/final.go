package checkers

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math/big"
	"sort"

	"github.com/crossfire-dev/crossfire/history"
)

// readFs are the reads of the built-in workloads (HISTORY.md): what a final read can be.
var readFs = map[string]bool{"read": true, "read-stock": true, "read-orders": true, "read-profile": true, "read-owner": true}

// The rules by which final reads are found; results name the one they used.
const (
	// FinalByMarker: the reads whose invoke carries meta.final, as the harness marks them.
	FinalByMarker = "meta.final"
	// FinalByLast: in a history without the marker, the last successful read of each key at
	// each leader (Jepsen's convention).
	FinalByLast = "the last successful read of each key at each leader"
)

// finalKey is what a final read is of: the read, the key and the leader.
type finalKey struct{ f, key, node string }

// finalPick is one final read: what it read, where, when it began, and its answer.
type finalPick struct {
	finalKey
	start, index int64 // the invoke's time; the completion's index
	value, meta  json.RawMessage
}

// finalReads picks a history's final reads as it streams by: the reads marked final, or, while
// none is marked, the last successful read of each key at each leader. Its state is one read
// per (read, key, leader).
type finalReads struct {
	marked   bool
	byMarker map[finalKey]*finalPick
	last     map[finalKey]*finalPick // updated in place: a read costs a lookup, not an allocation
	// The leaders that were asked for final reads (by the marker) or for any read (without it),
	// whatever the answer: a leader asked and never answering is a gap, not a leader less.
	markedNodes, readNodes map[string]bool
}

// observe takes a completed read: its invoke (f, key, node, time, and whether meta.final marks
// it) and its completion.
func (f *finalReads) observe(inv history.Op, done history.Op) {
	if readFs[inv.F] {
		f.take(finalKey{inv.F, inv.Key, inv.Node}, inv.Time, inv.MetaBool("final"), done)
	}
}

// take is observe for a caller that kept only what it needs of the invoke.
func (f *finalReads) take(k finalKey, start int64, final bool, done history.Op) {
	if final {
		if !f.marked {
			f.marked, f.last, f.readNodes = true, nil, nil
			f.byMarker, f.markedNodes = map[finalKey]*finalPick{}, map[string]bool{}
		}
		f.markedNodes[k.node] = true
		if done.Type == history.OK {
			f.byMarker[k] = &finalPick{k, start, done.Index, done.Value, done.Meta}
		}
		return
	}
	if f.marked {
		return
	}
	if f.last == nil {
		f.last, f.readNodes = map[finalKey]*finalPick{}, map[string]bool{}
	}
	f.readNodes[k.node] = true
	if done.Type != history.OK {
		return
	}
	if p := f.last[k]; p != nil {
		p.start, p.index, p.value, p.meta = start, done.Index, done.Value, done.Meta
	} else {
		f.last[k] = &finalPick{k, start, done.Index, done.Value, done.Meta}
	}
}

// nodes lists the leaders asked for final reads under the rule in force, sorted.
func (f *finalReads) nodes() []string {
	m := f.readNodes
	if f.marked {
		m = f.markedNodes
	}
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// picks returns the final reads, sorted by (read, key, leader), and the rule that chose them.
func (f *finalReads) picks() ([]finalPick, string) {
	m, rule := f.last, FinalByLast
	if f.marked {
		m, rule = f.byMarker, FinalByMarker
	}
	keys := make([]finalKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.f != b.f {
			return a.f < b.f
		}
		if a.key != b.key {
			return a.key < b.key
		}
		return a.node < b.node
	})
	out := make([]finalPick, len(keys))
	for i, k := range keys {
		out[i] = *m[k]
	}
	return out, rule
}

// canonicalDigest hashes a JSON value so that values equal as data hash equal: an object's keys
// in any order, a number however it is spelled (1, 1.0, 1e0), and a list as the multiset of its
// items (final reads list rows and items in any order). A value that is not JSON hashes as its
// bytes.
func canonicalDigest(raw json.RawMessage) uint64 {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		h := fnv.New64a()
		h.Write(raw)
		return h.Sum64()
	}
	return hashValue(v)
}

func hashValue(v any) uint64 {
	h := fnv.New64a()
	switch x := v.(type) {
	case nil:
		h.Write([]byte("n"))
	case bool:
		if x {
			h.Write([]byte("t"))
		} else {
			h.Write([]byte("f"))
		}
	case string:
		h.Write([]byte("s"))
		h.Write([]byte(x))
	case json.Number:
		h.Write([]byte("#"))
		if r, ok := new(big.Rat).SetString(string(x)); ok {
			h.Write([]byte(r.RatString()))
		} else {
			h.Write([]byte(x))
		}
	case []any:
		sum := uint64(len(x)) * 0x9e3779b97f4a7c15
		for _, it := range x {
			sum += mix(hashValue(it))
		}
		return sum
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.Write([]byte("{"))
		var b [8]byte
		for _, k := range keys {
			h.Write([]byte(k))
			h.Write([]byte{0})
			sub := hashValue(x[k])
			for i := range b {
				b[i] = byte(sub >> (8 * i))
			}
			h.Write(b[:])
		}
	}
	return h.Sum64()
}
