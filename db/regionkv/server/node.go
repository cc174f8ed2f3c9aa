package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// File names inside a node's data directory.
const (
	WALFile      = "wal.jsonl"
	ConflictFile = "conflicts.jsonl"
)

// Config is one leader's configuration.
type Config struct {
	ID       string            // the node's id: n1, n2, n3 …
	Listen   string            // host:port for the client, replication and admin API
	Peers    map[string]string // peer id -> base URL to reach it (through the link's proxy)
	DataDir  string            // holds the write-ahead log and the conflict log
	Strategy string            // register strategy: lww or single-leader
	Leader   string            // with single-leader: the node every register op goes to
	Stock    string            // stock strategy: pncounter or escrow
	Orders   string            // order strategy: naive or dedup
	Cart     string            // cart strategy: lww, merge or orset
	Logger   *log.Logger       // nil means stderr
}

// Node is one running leader.
type Node struct {
	cfg   Config
	log   *log.Logger
	clock *Clock

	mu        sync.Mutex // guards regs, the files and the applied marks they reflect
	regs      *registers
	inv       *inventory
	carts     *carts
	txns      *registers // the keys of transactions (TxnSpace), each a register of its whole state
	wal       *os.File
	conflicts *os.File
	nConf     int64
	// the conflict records replaying the write-ahead log revealed, one encoded line each: the
	// conflict log must hold at least these (see Open)
	replayed [][]byte

	streams *streams
	client  *http.Client // to peers
	forward *http.Client // single-leader forwarding

	duplicate atomic.Bool // the nemesis makes replication deliver entries more than once
}

// Open replays the node's write-ahead log and returns the node, ready to Serve.
func Open(cfg Config) (*Node, error) {
	if cfg.ID == "" {
		return nil, errorf("a node needs an id")
	}
	switch cfg.Strategy {
	case "":
		cfg.Strategy = LWW
	case LWW, SingleLeader, ReadReplicas:
	default:
		return nil, errorf("unknown register strategy %q (valid: %v)", cfg.Strategy, RegisterStrategies)
	}
	if cfg.Stock == "" {
		cfg.Stock = PNCounter
	}
	if cfg.Orders == "" {
		cfg.Orders = Naive
	}
	if cfg.Cart == "" {
		cfg.Cart = CartLWW
	}
	if !contains(CartStrategies, cfg.Cart) {
		return nil, errorf("unknown cart strategy %q (valid: %v)", cfg.Cart, CartStrategies)
	}
	if !contains(StockStrategies, cfg.Stock) {
		return nil, errorf("unknown stock strategy %q (valid: %v)", cfg.Stock, StockStrategies)
	}
	if !contains(OrderStrategies, cfg.Orders) {
		return nil, errorf("unknown order strategy %q (valid: %v)", cfg.Orders, OrderStrategies)
	}
	if cfg.Orders == Queue && cfg.Leader == "" {
		return nil, errorf("queue orders need a leader, the writer")
	}
	if (HasLeader(cfg.Strategy) || cfg.Orders == Queue) && cfg.Leader != cfg.ID && cfg.Peers[cfg.Leader] == "" {
		return nil, errorf("leader %s is not a peer of %s", cfg.Leader, cfg.ID)
	}
	if HasLeader(cfg.Strategy) && cfg.Leader == "" {
		return nil, errorf("%s needs a leader", cfg.Strategy)
	}
	if HasLeader(cfg.Strategy) && cfg.Leader != cfg.ID && cfg.Peers[cfg.Leader] == "" {
		return nil, errorf("leader %s is not a peer of %s", cfg.Leader, cfg.ID)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	lg := cfg.Logger
	if lg == nil {
		lg = log.New(os.Stderr, cfg.ID+" ", log.LstdFlags|log.Lmicroseconds)
	}
	n := &Node{
		cfg: cfg, log: lg, clock: &Clock{}, regs: newRegisters(), streams: newStreams(),
		inv:     newInventory(cfg.ID, cfg.Stock, cfg.Orders),
		carts:   newCarts(cfg.Cart),
		txns:    newRegisters(),
		client:  &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
		forward: &http.Client{Timeout: 700 * time.Millisecond, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	n.inv.writer = cfg.Leader
	var err error
	if n.wal, err = openReplay(filepath.Join(cfg.DataDir, WALFile), n.replay); err != nil {
		return nil, err
	}
	if n.conflicts, err = openReplay(filepath.Join(cfg.DataDir, ConflictFile), func([]byte) error { n.nConf++; return nil }); err != nil {
		n.wal.Close()
		return nil, err
	}
	// Entries are made durable before they are applied and their conflicts logged: a crash
	// between the two leaves entries whose conflicts were never written. Replaying the log
	// revealed the same conflicts in the same order, and the conflict log holds the first of
	// them; the rest are written now, with the time of the recovery.
	if missing := int64(len(n.replayed)) - n.nConf; missing > 0 {
		var buf bytes.Buffer
		for _, line := range n.replayed[n.nConf:] {
			buf.Write(line)
		}
		n.appendSync(n.conflicts, buf.Bytes())
		n.nConf += missing
		n.log.Printf("logged %d conflicts that a crash had kept from the conflict log", missing)
	}
	n.replayed = nil
	// A crash can fall between learning that an order lost and refunding it, or between taking
	// a purchase request and answering it.
	for _, o := range n.inv.pendingRefunds() {
		n.refundLocked(o)
	}
	n.answerRequestsLocked()
	n.log.Printf("opened %s: strategy %s, stock %s, orders %s, %d own entries, applied %v",
		cfg.DataDir, cfg.Strategy, cfg.Stock, cfg.Orders, n.streams.ownLen(), n.streams.applied)
	return n, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// openReplay opens an append-only JSONL file, feeds each whole line to fn, and cuts off a torn
// last line (a write that was never acknowledged) so that new records follow good ones.
func openReplay(path string, fn func([]byte) error) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	var good int64
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if ferr := fn(line[:len(line)-1]); ferr != nil {
			break
		}
		good += int64(len(line))
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (n *Node) replay(line []byte) error {
	var e Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return err
	}
	// Conflicts are logged for replicated entries only (Apply), as they were when they arrived.
	if c := n.applyEntry(e); c != nil && e.Version.Origin != n.cfg.ID {
		c.Time = n.clock.Now().UnixNano()
		var buf bytes.Buffer
		encodeLine(&buf, c)
		n.replayed = append(n.replayed, buf.Bytes())
	}
	if e.Version.Origin == n.cfg.ID {
		n.streams.own = append(n.streams.own, e)
	}
	n.streams.applied[e.Version.Origin] = e.Version.Seq
	return nil
}

// appendSync appends lines to f and fsyncs it. A node that cannot make its log durable must not
// acknowledge anything again, so failure is fatal.
func (n *Node) appendSync(f *os.File, lines []byte) {
	if _, err := f.Write(lines); err != nil {
		n.log.Fatalf("writing %s: %v", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		n.log.Fatalf("syncing %s: %v", f.Name(), err)
	}
}

func encodeLine(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are encoded
	}
	buf.Write(b)
	buf.WriteByte('\n')
}

// applyEntry applies one entry, local or replicated, to the state it changes, and returns the
// conflict it revealed (nil for none).
func (n *Node) applyEntry(e Entry) *Conflict {
	if e.Space == TxnSpace {
		if cs := n.applyTxn(e); len(cs) > 0 {
			return cs[0]
		}
		return nil
	}
	if e.Space == CartSpace {
		return n.carts.apply(n.cfg.ID, e)
	}
	if e.Inv != nil {
		oc := n.inv.apply(e.Version.Origin, e.Version.Seq, e.Inv)
		if oc == nil {
			return nil
		}
		return &Conflict{Node: n.cfg.ID, Key: "order:" + oc.incoming.Req, Strategy: Dedup,
			Local: []Version{orderVersion(oc.held)}, Incoming: orderVersion(oc.incoming), Winner: orderVersion(oc.winner)}
	}
	concurrent, ok := n.regs.apply(e.Key, e.Version)
	if !ok || len(concurrent) == 0 {
		return nil
	}
	winner, _ := n.regs.read(e.Key)
	return &Conflict{Node: n.cfg.ID, Key: e.Key, Strategy: n.cfg.Strategy, Local: concurrent, Incoming: e.Version, Winner: winner}
}

// appendOwnLocked stamps e as the next entry of this node's stream, makes it durable, applies it
// and hands it to the pushers. n.mu must be held.
func (n *Node) appendOwnLocked(e Entry) Entry {
	seq := n.streams.ownLen() + 1
	e.Version.Origin, e.Version.Seq = n.cfg.ID, seq
	if e.Version.TS == 0 {
		e.Version.TS = n.clock.Now().UnixNano()
	}
	var buf bytes.Buffer
	encodeLine(&buf, e)
	n.appendSync(n.wal, buf.Bytes())
	n.applyEntry(e)
	n.streams.appendOwn(e)
	n.streams.mu.Lock()
	n.streams.applied[n.cfg.ID] = seq
	n.streams.mu.Unlock()
	return e
}

// writeLocked makes a local register write durable and visible. n.mu must be held.
func (n *Node) writeLocked(key string, value json.RawMessage) Version {
	v := n.regs.next(key, n.cfg.ID, n.streams.ownLen()+1, value, n.clock.Now().UnixNano())
	return n.appendOwnLocked(Entry{Key: key, Version: v}).Version
}

// refundLocked gives back the units of one of this region's orders that lost to another
// region's order for the same req. n.mu must be held.
func (n *Node) refundLocked(o Order) {
	n.appendOwnLocked(Entry{Key: o.SKU, Inv: &InvOp{Kind: KindRefund, SKU: o.SKU, Order: &o}})
}

// Read returns a key's value (nil if never written) and its version.
func (n *Node) Read(key string) (Version, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.regs.read(key)
}

// Write stores value under key and returns the new version once it is durable.
func (n *Node) Write(key string, value json.RawMessage) Version {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.writeLocked(key, value)
}

// ErrPrecondition is a compare-and-set whose comparison failed: nothing was written.
var ErrPrecondition = errors.New("precondition failed")

// CAS writes newValue if the key's current value equals expected.
func (n *Node) CAS(key string, expected, newValue json.RawMessage) (Version, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	cur, _ := n.regs.read(key)
	if !sameJSON(cur.Value, expected) {
		return cur, ErrPrecondition
	}
	return n.writeLocked(key, newValue), nil
}

// Apply applies entries replicated from origin, in order, and returns the highest sequence
// number now applied from it. Entries already applied are skipped; a gap stops the batch.
func (n *Node) Apply(origin string, entries []Entry) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.streams.mu.Lock()
	applied := n.streams.applied[origin]
	n.streams.mu.Unlock()
	var fresh []Entry
	var buf bytes.Buffer
	for _, e := range entries {
		if e.Version.Origin != origin || e.Version.Seq <= applied+uint64(len(fresh)) {
			continue
		}
		if e.Version.Seq != applied+uint64(len(fresh))+1 {
			break
		}
		fresh = append(fresh, e)
		encodeLine(&buf, e)
	}
	if len(fresh) == 0 {
		return applied
	}
	n.appendSync(n.wal, buf.Bytes())
	buf.Reset()
	now := n.clock.Now().UnixNano()
	for _, e := range fresh {
		var cs []*Conflict
		if e.Space == TxnSpace {
			cs = n.applyTxn(e)
		} else if c := n.applyEntry(e); c != nil {
			cs = []*Conflict{c}
		}
		for _, c := range cs {
			c.Time = now
			encodeLine(&buf, c)
			n.nConf++
		}
	}
	if buf.Len() > 0 {
		n.appendSync(n.conflicts, buf.Bytes())
	}
	applied += uint64(len(fresh))
	n.streams.mu.Lock()
	n.streams.applied[origin] = applied
	n.streams.mu.Unlock()
	for _, o := range n.inv.pendingRefunds() {
		n.refundLocked(o)
	}
	n.answerRequestsLocked()
	return applied
}

// answerRequestsLocked is the writer's side of the queue: each request not answered yet is
// filled (a sale at the writer, unless its req already has an order) or refused (sold out).
// n.mu must be held.
func (n *Node) answerRequestsLocked() {
	for _, r := range n.inv.takeRequests() {
		if _, ok := n.inv.existing(r.req); ok || n.inv.refused[r.id] {
			continue // answered before (a retry of a sale already made, or a replayed request)
		}
		if n.inv.available(r.sku) >= r.qty {
			n.saleLocked(r.sku, r.qty, r.req)
			continue
		}
		n.appendOwnLocked(Entry{Key: r.sku, Inv: &InvOp{Kind: KindRefusal, SKU: r.sku, Request: r.id}})
	}
}

// State is what the admin endpoint reports: every register's resolved version and how far each
// origin's stream has been applied, which the harness compares to know replication is done.
type State struct {
	ID        string             `json:"id"`
	Strategy  string             `json:"strategy"`
	Registers map[string]Version `json:"registers"`
	Applied   map[string]uint64  `json:"applied"`
	Conflicts int64              `json:"conflicts"`
	ClockNS   int64              `json:"clock_offset_ns"`
}

// State snapshots the node.
func (n *Node) State() State {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.streams.mu.Lock()
	applied := make(map[string]uint64, len(n.streams.applied))
	for k, v := range n.streams.applied {
		applied[k] = v
	}
	n.streams.mu.Unlock()
	return State{ID: n.cfg.ID, Strategy: n.cfg.Strategy, Registers: n.regs.snapshot(),
		Applied: applied, Conflicts: n.nConf, ClockNS: int64(n.clock.Offset())}
}

// Close closes the node's files.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return errors.Join(n.wal.Close(), n.conflicts.Close())
}

// Serve runs the HTTP API on ln and the replication pushers until ctx ends.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	for _, id := range sortedKeys(n.cfg.Peers) {
		wg.Add(1)
		go func(id, url string) {
			defer wg.Done()
			n.push(ctx, id, url)
		}(id, n.cfg.Peers[id])
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	case err = <-errc:
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// pushBatch bounds one replication request.
const pushBatch = 256

type replicateRequest struct {
	Origin  string  `json:"origin"`
	Entries []Entry `json:"entries"`
}

type replicateResponse struct {
	Applied uint64 `json:"applied"`
}

// push streams the node's own entries to one peer until ctx ends. It starts by asking the peer
// how far it got (an empty batch), so a restart resends nothing the peer already holds.
func (n *Node) push(ctx context.Context, peer, url string) {
	var next uint64 // 0: not yet known
	backoff := 50 * time.Millisecond
	var failing atomic.Bool
	for ctx.Err() == nil {
		var batch []Entry
		var wake <-chan struct{}
		if next > 0 {
			batch, wake = n.streams.from(next, pushBatch)
			if len(batch) == 0 {
				select {
				case <-wake:
				case <-ctx.Done():
					return
				}
				continue
			}
		}
		applied, err := n.send(ctx, url, batch)
		if err == nil && n.duplicate.Load() && len(batch) > 0 {
			// The nemesis's duplicated delivery: the same batch again, then, now and then, a
			// rewind that resends entries the peer already holds.
			applied, err = n.send(ctx, url, batch)
			if err == nil && batch[0].Version.Seq%4 == 0 {
				rewound := batch[0].Version.Seq - min(batch[0].Version.Seq-1, 16)
				if _, err = n.send(ctx, url, mustFrom(n.streams, rewound)); err == nil {
					applied, err = n.send(ctx, url, batch)
				}
			}
		}
		if err != nil {
			if !failing.Swap(true) {
				n.log.Printf("replication to %s failing: %v", peer, err)
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		if failing.Swap(false) {
			n.log.Printf("replication to %s resumed at %d", peer, applied+1)
		}
		backoff = 50 * time.Millisecond
		next = applied + 1
	}
}

func mustFrom(s *streams, seq uint64) []Entry {
	es, _ := s.from(seq, pushBatch)
	return es
}

func (n *Node) send(ctx context.Context, url string, batch []Entry) (uint64, error) {
	body, _ := json.Marshal(replicateRequest{Origin: n.cfg.ID, Entries: batch})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/replicate", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var r replicateResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	return r.Applied, nil
}
