package local

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
)

func write(t *testing.T, client *http.Client, n clusters.Node, key, value string) error {
	t.Helper()
	resp, err := client.Post(n.URL+"/register/write", "application/json",
		strings.NewReader(`{"key":"`+key+`","value":`+value+`}`))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func read(t *testing.T, n clusters.Node, key string) string {
	t.Helper()
	st, err := server.GetState(context.Background(), n.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	return string(st.Registers[key].Value)
}

func awaitValue(t *testing.T, n clusters.Node, key, want string, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if read(t, n, key) == want {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// startCluster starts a cluster for a test, closed when the test ends.
func startCluster(t *testing.T) *Cluster {
	t.Helper()
	c, err := New(context.Background(), WithDir(t.TempDir()))
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLocalClusterFaults(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t)
	nodes := c.Nodes()
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	client := &http.Client{Timeout: 500 * time.Millisecond}

	if err := write(t, client, n1, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if !awaitValue(t, n3, "a", "1", 5*time.Second) {
		t.Fatal("write at n1 never reached n3")
	}

	// Cut n1->n3 only: n1's writes stop reaching n3 but still reach n2, and n3's reach n1.
	if err := c.Partition(ctx, []clusters.Link{{From: "n1", To: "n3"}}); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, n1, "a", "2"); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, n3, "b", "3"); err != nil {
		t.Fatal(err)
	}
	if !awaitValue(t, n2, "a", "2", 5*time.Second) || !awaitValue(t, n1, "b", "3", 5*time.Second) {
		t.Fatal("uncut links stopped carrying writes")
	}
	if awaitValue(t, n3, "a", "2", 700*time.Millisecond) {
		t.Fatal("a write crossed the cut link n1->n3")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if !awaitValue(t, n3, "a", "2", 5*time.Second) {
		t.Fatal("replication did not resume after heal")
	}

	// A client link cut: the request gets no answer.
	if err := c.Partition(ctx, []clusters.Link{{From: clusters.ClientLink, To: "n2"}}); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, n2, "c", "1"); err == nil {
		t.Fatal("a write through a cut client link was answered")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, n2, "c", "2"); err != nil {
		t.Fatalf("client link not healed: %v", err)
	}

	// Kill n2, write elsewhere, restart it from its data directory: it keeps what it had and
	// catches up.
	pid := c.procs["n2"].cmd.Process.Pid
	if err := c.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, n1, "d", "4"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, n2, "c"); got != "2" {
		t.Fatalf("n2 lost its own acknowledged write across kill -9: c = %q", got)
	}
	if !awaitValue(t, n2, "d", "4", 5*time.Second) {
		t.Fatal("restarted n2 did not catch up")
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatal("the killed process is still alive")
	}

	// Pause n3: it stops answering; resume it and it answers again.
	if err := c.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := server.Healthy(ctx, n3.AdminURL); err == nil {
		t.Fatal("a paused node answered")
	}
	if err := c.Resume(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := server.Healthy(ctx, n3.AdminURL); err != nil {
		t.Fatalf("resumed node does not answer: %v", err)
	}
	if err := c.Quiesce(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("did not converge: %v", err)
	}

	// Close leaves no process behind.
	var pids []int
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("node process %d survived Close", pid)
		}
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(context.Background(), WithNodes(0)); err == nil {
		t.Fatal("a cluster of zero nodes started")
	}
	c, err := New(context.Background(), WithStrategy("nonsense", ""), WithReadyTimeout(2*time.Second))
	if c != nil {
		defer c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "unknown register strategy") {
		t.Fatalf("err = %v, want the node's own reason", err)
	}
}

// TestConflictLogSurvivesKill9 makes a conflict, kills the node that logged it with SIGKILL,
// and finds the record still there after the restart.
func TestConflictLogSurvivesKill9(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, WithDir(t.TempDir()))
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	nodes := c.Nodes()
	client := &http.Client{Timeout: 500 * time.Millisecond}
	cut := []clusters.Link{{From: "n1", To: "n2"}, {From: "n2", To: "n1"}}
	if err := c.Partition(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, nodes[0], "k", "1"); err != nil {
		t.Fatal(err)
	}
	if err := write(t, client, nodes[1], "k", "2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(c.Dir(), "nodes", "n1", "data", server.ConflictFile)
	deadline := time.Now().Add(5 * time.Second)
	var before []byte
	for len(bytes.TrimSpace(before)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no conflict was logged at n1")
		}
		time.Sleep(20 * time.Millisecond)
		before, _ = os.ReadFile(logPath)
	}
	if err := c.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(logPath)
	if !bytes.HasPrefix(after, before) {
		t.Fatalf("the conflict log changed across kill -9:\nbefore %s\nafter %s", before, after)
	}
	st, err := server.GetState(ctx, nodes[0].AdminURL)
	if err != nil || st.Conflicts < 1 {
		t.Fatalf("the restarted node counts %d conflicts (%v)", st.Conflicts, err)
	}
}

// wanToxics lists, per link, the latency of the round-trip toxics it carries.
func wanToxics(c *Cluster) map[clusters.Link][]string {
	out := map[clusters.Link][]string{}
	for l, p := range c.proxies {
		for _, name := range []string{"wan-upstream", "wan-downstream"} {
			if tx := p.Toxics.GetToxic(name); tx != nil {
				out[l] = append(out[l], fmt.Sprintf("%s %d", name, tx.Toxic.(*toxics.LatencyToxic).Latency))
			}
		}
		slices.Sort(out[l])
	}
	return out
}

// A round trip between regions delays every link between leaders by half of it each way and no
// client link; partitions, their healing and clearing a fault's latency leave it; zero removes it.
// A write reaches another leader no sooner than half the round trip after it was acknowledged.
func TestWANDelaysTheLinksBetweenLeaders(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t)
	if err := c.SetWAN(ctx, 600*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		got := wanToxics(c)
		for l := range c.proxies {
			want := "[wan-downstream 300 wan-upstream 300]"
			if l.From == clusters.ClientLink {
				want = "[]"
			}
			if g := fmt.Sprint(got[l]); g != want {
				t.Errorf("%s: %s carries %s, want %s", when, l, g, want)
			}
		}
	}
	check("set")

	nodes := c.Nodes()
	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	if err := write(t, client, nodes[0], "a", "1"); err != nil {
		t.Fatal(err)
	}
	if !awaitValue(t, nodes[2], "a", "1", 30*time.Second) {
		t.Fatal("a write at n1 never reached n3")
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("a write reached n3 %s after it was sent, sooner than half the round trip", took)
	}

	if err := c.Partition(ctx, []clusters.Link{{From: "n1", To: "n2"}, {From: clusters.ClientLink, To: "n3"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLatency(ctx, []clusters.Link{{From: "n2", To: "n3"}}, 50*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ClearLatency(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a partition, a heal and a cleared latency")

	if err := c.SetWAN(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for l, got := range wanToxics(c) {
		if len(got) > 0 {
			t.Errorf("with no round trip, %s still carries %s", l, got)
		}
	}
}
