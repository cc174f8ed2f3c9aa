// Package server is regionkv, the multi-leader store that crossfire ships to show what it finds: one leader per region, each
// accepting writes locally, logging them to a write-ahead log it fsyncs before acknowledging,
// and replicating asynchronously to its peers.
//
// Replication is push-based and at least once: every leader streams the entries it originated,
// in sequence order, to each peer; a peer applies an entry only if it is the next one it expects
// from that origin, so duplicates and replays are harmless and a stream resumes after a
// partition or a restart from the peer's own high-water mark. Concurrent updates are detected
// with per-key version vectors. A key keeps the set of its concurrent versions (its siblings);
// what a read returns is decided by the key's strategy (lww: the newest timestamp, then the
// greater node id), and every time a replicated version turns out to be concurrent with a local
// one, the conflict is appended to the node's durable conflict log with all versions and the
// winner. With the single-leader strategy, every register operation is forwarded to one leader,
// which answers only from its own fsynced state: the linearizable control. With read-replicas,
// only writes and cas are: reads are answered locally, from what replication has brought.
//
// Every timestamp the node takes comes from its Clock, whose offset the clock nemesis sets at
// run time through the admin endpoint. The package imports nothing of the harness: it is a
// separate program under test, started by cmd/regionkv or by a re-executed crossfire binary.
// admin.go holds the other side of its admin protocol, which regionkv's clusters use.
package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/crossfire-dev/crossfire/db/regionkv/resolve"
)

// Register strategies.
const (
	LWW          = "lww"
	SingleLeader = "single-leader"
	// ReadReplicas is the single leader with regional read replicas: writes and cas go to the
	// leader, reads are served by the leader the client asked, from what has reached it.
	ReadReplicas = "read-replicas"
)

// RegisterStrategies lists the register strategies by name.
var RegisterStrategies = []string{LWW, SingleLeader, ReadReplicas}

// HasLeader reports whether a register strategy writes at one leader.
func HasLeader(strategy string) bool { return strategy == SingleLeader || strategy == ReadReplicas }

// VV is a version vector (resolve.VV).
type VV = resolve.VV

// Version is one value of a key, with where and when it was written (resolve.Version).
type Version = resolve.Version

// Entry is one replicated update in its origin's stream: a new version of a register, or, with
// Inv set, an inventory change (its Version then carries only origin, seq and timestamp).
type Entry struct {
	Space   string  `json:"space,omitempty"` // "" for registers and inventory, CartSpace for carts
	Key     string  `json:"key"`
	Version Version `json:"version"`
	Inv     *InvOp  `json:"inv,omitempty"`
	Cart    *CartOp `json:"cart,omitempty"` // orset cart operations
	Txn     *TxnOp  `json:"txn,omitempty"`  // a transaction's writes (TxnSpace)
}

// Conflict is one record of the conflict log: a replicated version that was concurrent with the
// versions the node held, and what the strategy made of them.
type Conflict struct {
	Time     int64     `json:"time"` // the node's clock when it was detected
	Node     string    `json:"node"` // the node that detected it
	Key      string    `json:"key"`
	Strategy string    `json:"strategy"`
	Local    []Version `json:"local"`    // the concurrent versions the node held
	Incoming Version   `json:"incoming"` // the replicated version
	Winner   Version   `json:"winner"`   // what reads return afterwards
}

// registers holds every key's siblings. It is not safe for concurrent use; Node locks it.
type registers struct {
	keys map[string][]Version
}

func newRegisters() *registers { return &registers{keys: map[string][]Version{}} }

// next builds the version a local write at node creates: it covers every sibling.
func (r *registers) next(key, node string, seq uint64, value json.RawMessage, ts int64) Version {
	vv := VV{}
	for _, s := range r.keys[key] {
		vv = vv.Merge(s.VV)
	}
	vv[node]++
	return Version{Value: value, TS: ts, Origin: node, Seq: seq, VV: vv}
}

// apply adds a version to its key. It returns the siblings that were concurrent with it (a
// conflict when not empty) and whether the version was new at all.
func (r *registers) apply(key string, v Version) (concurrent []Version, applied bool) {
	sibs := r.keys[key]
	kept := sibs[:0:0]
	for _, s := range sibs {
		if s.VV.Covers(v.VV) {
			return nil, false // already known, or superseded
		}
		if !v.VV.Covers(s.VV) {
			kept = append(kept, s)
		}
	}
	concurrent = append([]Version(nil), kept...)
	r.keys[key] = append(kept, v)
	return concurrent, true
}

// read returns the value reads see, and false when the key was never written.
func (r *registers) read(key string) (Version, bool) {
	sibs := r.keys[key]
	if len(sibs) == 0 {
		return Version{}, false
	}
	return resolve.LWW(sibs), true
}

// snapshot returns every key's resolved version, for final reads and convergence.
func (r *registers) snapshot() map[string]Version {
	out := make(map[string]Version, len(r.keys))
	for k := range r.keys {
		out[k], _ = r.read(k)
	}
	return out
}

// sameJSON compares two JSON values by their compact encodings.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 {
		a = json.RawMessage("null")
	}
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// streams tracks, per origin, the highest sequence number applied, and keeps the node's own
// stream for its pushers.
type streams struct {
	mu      sync.Mutex
	applied map[string]uint64
	own     []Entry // own[i] has Seq i+1
	wake    chan struct{}
}

func newStreams() *streams {
	return &streams{applied: map[string]uint64{}, wake: make(chan struct{})}
}

// appendOwn records a local entry and wakes the pushers.
func (s *streams) appendOwn(e Entry) {
	s.mu.Lock()
	s.own = append(s.own, e)
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// from returns up to max own entries starting at seq, and a channel closed when more arrive.
func (s *streams) from(seq uint64, max int) ([]Entry, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < 1 {
		seq = 1
	}
	if seq > uint64(len(s.own)) {
		return nil, s.wake
	}
	end := seq - 1 + uint64(max)
	if end > uint64(len(s.own)) {
		end = uint64(len(s.own))
	}
	return append([]Entry(nil), s.own[seq-1:end]...), s.wake
}

func (s *streams) ownLen() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.own))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func errorf(format string, args ...any) error { return fmt.Errorf("regionkv: "+format, args...) }
