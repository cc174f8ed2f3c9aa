package server

import (
	"context"
	"errors"
	"io"
	"log"
	"path/filepath"
	"testing"
	"time"
)

func invNode(t *testing.T, id, dir, stock, orders string) *Node {
	t.Helper()
	n, err := Open(Config{ID: id, DataDir: filepath.Join(dir, id), Stock: stock, Orders: orders, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// exchange delivers every entry each node has originated to every other node.
func exchange(nodes ...*Node) {
	for _, from := range nodes {
		es, _ := from.streams.from(1, 1<<20)
		for _, to := range nodes {
			if to != from {
				to.Apply(from.cfg.ID, es)
			}
		}
	}
}

func mustBuy(t *testing.T, n *Node, sku, req string) Order {
	t.Helper()
	o, err := n.Buy(context.Background(), sku, 1, req)
	if err != nil {
		t.Fatalf("%s buy %s: %v", n.cfg.ID, req, err)
	}
	return o
}

func TestPNCounterOversellsAcrossAPartition(t *testing.T) {
	dir := t.TempDir()
	a := invNode(t, "n1", dir, PNCounter, Naive)
	b := invNode(t, "n2", dir, PNCounter, Naive)
	a.Restock("s", 1)
	exchange(a, b)
	// Partitioned: each sees one unit and sells it.
	mustBuy(t, a, "s", "r1")
	mustBuy(t, b, "s", "r2")
	exchange(a, b)
	if a.Stock("s") != -1 || b.Stock("s") != -1 {
		t.Fatalf("stock %d/%d, want -1 on both: the counter converged on an oversell", a.Stock("s"), b.Stock("s"))
	}
	if len(a.Orders("s")) != 2 {
		t.Fatalf("orders %v", a.Orders("s"))
	}
	if _, err := a.Buy(context.Background(), "s", 1, "r3"); err != ErrSoldOut {
		t.Fatalf("buy at negative stock: %v", err)
	}
}

func TestEscrowNeverOversells(t *testing.T) {
	dir := t.TempDir()
	a := invNode(t, "n1", dir, Escrow, Naive)
	b := invNode(t, "n2", dir, Escrow, Naive)
	a.Restock("s", 3)
	exchange(a, b)
	if _, err := b.Buy(context.Background(), "s", 1, "x"); err != ErrSoldOut {
		t.Fatalf("n2 sold without rights (and without peers to borrow from): %v", err)
	}
	if got := a.GiveRights(RightsRequest{SKU: "s", To: "n2", Want: 1}); got.Given != 2 {
		t.Fatalf("gave %d rights, want 2 (half of 3, rounded up)", got.Given)
	}
	// Until the transfer arrives, the rights are nowhere but in flight.
	if _, err := b.Buy(context.Background(), "s", 1, "x"); err != ErrSoldOut {
		t.Fatalf("n2 sold rights still in flight: %v", err)
	}
	exchange(a, b)
	// Partitioned now: each sells what it holds and no more.
	sold := 0
	for i, n := range []*Node{a, b, a, b, a, b} {
		if _, err := n.Buy(context.Background(), "s", 1, string(rune('a'+i))); err == nil {
			sold++
		}
	}
	if sold != 3 {
		t.Fatalf("sold %d of 3 units", sold)
	}
	exchange(a, b)
	if a.Stock("s") != 0 || b.Stock("s") != 0 {
		t.Fatalf("stock %d/%d, want 0", a.Stock("s"), b.Stock("s"))
	}
}

func TestNaiveDuplicatesARetryThatReachedTwoRegions(t *testing.T) {
	dir := t.TempDir()
	a := invNode(t, "n1", dir, PNCounter, Naive)
	b := invNode(t, "n2", dir, PNCounter, Naive)
	a.Restock("s", 5)
	exchange(a, b)
	o1 := mustBuy(t, a, "s", "req-1")
	if again := mustBuy(t, a, "s", "req-1"); again != o1 {
		t.Fatalf("a retry in the same region made a new order: %v vs %v", again, o1)
	}
	exchange(a, b)
	// The retry reaches the other region, which dedups only its own requests.
	o2 := mustBuy(t, b, "s", "req-1")
	if o2.Order == o1.Order {
		t.Fatal("naive deduplicated across regions")
	}
	exchange(a, b)
	if rows := a.Orders("s"); len(rows) != 2 || a.Stock("s") != 3 {
		t.Fatalf("rows %v, stock %d: want the duplicate sale", rows, a.Stock("s"))
	}
}

func TestDedupKeepsOneOrderAndRefundsTheLoser(t *testing.T) {
	dir := t.TempDir()
	a := invNode(t, "n1", dir, PNCounter, Dedup)
	b := invNode(t, "n2", dir, PNCounter, Dedup)
	c := invNode(t, "n3", dir, PNCounter, Dedup)
	a.Restock("s", 5)
	exchange(a, b, c)
	// Partitioned: the same request reaches two regions.
	o1 := mustBuy(t, a, "s", "req-1")
	o2 := mustBuy(t, b, "s", "req-1")
	exchange(a, b, c)
	exchange(a, b, c) // the loser's refund travels too
	winner := o1
	if beats(o2, o1) {
		winner = o2
	}
	for _, n := range []*Node{a, b, c} {
		rows := n.Orders("s")
		if len(rows) != 1 || rows[0] != winner {
			t.Fatalf("%s rows %v, want only %v", n.cfg.ID, rows, winner)
		}
		if n.Stock("s") != 4 {
			t.Fatalf("%s stock %d, want 4: one sale, the loser refunded once", n.cfg.ID, n.Stock("s"))
		}
	}
	for _, n := range []*Node{a, b, c} {
		confs := readConflicts(t, n)
		if len(confs) != 1 || confs[0].Strategy != Dedup || confs[0].Key != "order:req-1" {
			t.Fatalf("%s conflict log %+v", n.cfg.ID, confs)
		}
	}
	// Once a region knows the order, a redelivery there sells nothing.
	if again := mustBuy(t, c, "s", "req-1"); again != winner {
		t.Fatalf("redelivery answered %v, want %v", again, winner)
	}
	// A restart replays the refund and does not refund again.
	loser := b
	if winner == o2 {
		loser = a
	}
	own := loser.streams.ownLen()
	loser.Close()
	re := invNode(t, loser.cfg.ID, dir, PNCounter, Dedup)
	if re.streams.ownLen() != own || re.Stock("s") != 4 {
		t.Fatalf("after restart: %d own entries (was %d), stock %d", re.streams.ownLen(), own, re.Stock("s"))
	}
}

// TestQueueSellsOnlyAtTheWriter: a purchase at a region is a request in that region's stream;
// while the writer has not seen it the buyer is not answered (and the request stays queued),
// the writer fills it when it arrives, a retry of it is told that order, and a purchase of stock
// that is not there is refused, the refusal reaching the buyer's region.
func TestQueueSellsOnlyAtTheWriter(t *testing.T) {
	dir := t.TempDir()
	open := func(id string) *Node {
		n, err := Open(Config{ID: id, DataDir: filepath.Join(dir, id), Stock: PNCounter, Orders: Queue, Leader: "n1",
			Peers: map[string]string{"n1": "http://n1.invalid", "n2": "http://n2.invalid"}, Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	w, b := open("n1"), open("n2")
	w.Restock("s", 1)
	exchange(w, b)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := b.Buy(ctx, "s", 1, "r1")
	cancel()
	if !errors.Is(err, ErrNotAnswered) {
		t.Fatalf("a purchase the writer never saw: %v", err)
	}
	if b.Stock("s") != 1 || len(b.Orders("s")) != 0 {
		t.Fatal("a region other than the writer sold")
	}
	exchange(w, b) // the writer takes the request and sells
	exchange(w, b) // its order reaches n2
	o := mustBuy(t, b, "s", "r1")
	if o.Node != "n1" {
		t.Fatalf("the order was taken by %s, not the writer", o.Node)
	}

	done := make(chan error, 1)
	go func() {
		_, err := b.Buy(context.Background(), "s", 1, "r2")
		done <- err
	}()
	deadline := time.After(time.Minute)
	for {
		exchange(w, b)
		select {
		case <-deadline:
			t.Fatal("the refusal never reached the buyer")
		case err := <-done:
			if !errors.Is(err, ErrSoldOut) {
				t.Fatalf("a purchase of stock that is not there: %v", err)
			}
			if w.Stock("s") != 0 || b.Stock("s") != 0 || len(w.Orders("s")) != 1 {
				t.Fatalf("stock %d/%d, orders %v", w.Stock("s"), b.Stock("s"), w.Orders("s"))
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}
