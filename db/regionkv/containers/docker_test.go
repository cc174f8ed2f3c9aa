package containers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
)

// dockerOrSkip returns a Docker client, or skips the test with a one-line reason.
func dockerOrSkip(t *testing.T) *client.Client {
	t.Helper()
	cli, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestImagesAreBuiltOnceAndRun(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx := t.Context()
	dir := t.TempDir()
	node, proxy, err := Images(ctx, cli, dir)
	if err != nil {
		t.Fatal(err)
	}
	// The same binary again: the image is found, not built.
	_, built, err := docker.EnsureImage(ctx, cli, NodeRepo, dir+"/"+NodeRepo)
	if err != nil || built {
		t.Fatalf("second EnsureImage built=%v err=%v", built, err)
	}
	if _, err := cli.ImageInspect(ctx, proxy); err != nil {
		t.Fatalf("toxiproxy image %s: %v", proxy, err)
	}
	run := fmt.Sprintf("test-%d", time.Now().UnixNano())
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        node,
			Cmd:          []string{"--id", "n1", "--data", "/data", "--listen", "0.0.0.0:8080"},
			ExposedPorts: []string{"8080/tcp"},
			Labels:       map[string]string{docker.Label: "true", docker.LabelRun: run},
			WaitingFor:   wait.ForHTTP("/admin/health").WithPort("8080/tcp").WithStartupTimeout(30 * time.Second),
		},
		Started: true,
	})
	if c != nil {
		t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	}
	if err != nil {
		t.Fatalf("running %s: %v", node, err)
	}
	endpoint, err := c.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(endpoint + "/admin/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health of the node in its container: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestCleanRemovesWhatIsLabelled(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx := context.Background()
	node, _, err := Images(ctx, cli, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("clean-%d", time.Now().UnixNano())
	labels := map[string]string{docker.Label: "true", docker.LabelRun: run}
	nw, err := cli.NetworkCreate(ctx, "crossfire-"+run, client.NetworkCreateOptions{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: node, Labels: labels, Cmd: []string{"--id", "n1", "--data", "/data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is old enough yet. (Only this run's things are touched: other packages' tests may
	// have clusters running.)
	if r, err := docker.Clean(ctx, cli, docker.Which{OlderThan: time.Hour, Run: run}); err != nil || r.Containers != 0 || r.Networks != 0 {
		t.Fatalf("clean of old things removed %+v (%v)", r, err)
	}
	if r, err := docker.Clean(ctx, cli, docker.Which{Run: run + "-other"}); err != nil || r.Containers != 0 || r.Networks != 0 {
		t.Fatalf("clean of another run removed %+v (%v)", r, err)
	}
	r, err := docker.Clean(ctx, cli, docker.Which{Run: run})
	if err != nil || r.Containers != 1 || r.Networks != 1 {
		t.Fatalf("clean removed %+v (%v)", r, err)
	}
	if _, err := cli.ContainerInspect(ctx, ctr.ID, client.ContainerInspectOptions{}); err == nil {
		t.Fatal("the labelled container survived")
	}
	if _, err := cli.NetworkInspect(ctx, nw.ID, client.NetworkInspectOptions{}); err == nil {
		t.Fatal("the labelled network survived")
	}
}

// TestClusterReplicatesAndPartitions starts three leaders in containers behind the Toxiproxy
// sidecar: a write reaches every leader, a cut link stops it, heal lets it through, and Close
// leaves nothing labelled with the run.
func TestClusterReplicatesAndPartitions(t *testing.T) {
	cli := dockerOrSkip(t)
	ctx := t.Context()
	c := startCluster(t)
	nodes := c.Nodes()
	post := func(n int, key, value string) {
		resp, err := http.Post(nodes[n].URL+"/register/write", "application/json", strings.NewReader(`{"key":"`+key+`","value":`+value+`}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	seen := func(n int, key, value string, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			st, err := server.GetState(ctx, nodes[n].AdminURL)
			if err == nil && string(st.Registers[key].Value) == value {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	post(0, "a", "1")
	if !seen(2, "a", "1", 10*time.Second) {
		t.Fatal("a write at n1 never reached n3")
	}
	if err := c.Partition(ctx, []clusters.Link{{From: "n1", To: "n3"}}); err != nil {
		t.Fatal(err)
	}
	post(0, "a", "2")
	if !seen(1, "a", "2", 10*time.Second) {
		t.Fatal("the uncut link n1->n2 stopped")
	}
	if seen(2, "a", "2", time.Second) {
		t.Fatal("a write crossed the cut link n1->n3")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if !seen(2, "a", "2", 10*time.Second) {
		t.Fatal("replication did not resume after heal")
	}
	run := c.Run()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	left, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", docker.LabelRun+"="+run)})
	if err != nil || len(left.Items) != 0 {
		t.Fatalf("%d containers of the run left (%v)", len(left.Items), err)
	}
}

// TestClusterKillPauseAndArtifacts kills a leader through the Docker API and restarts it with its
// data, pauses another, and copies logs and conflict logs out.
func TestClusterKillPauseAndArtifacts(t *testing.T) {
	dockerOrSkip(t)
	ctx := t.Context()
	c := startCluster(t)
	write := func(n int, key, value string) error { return writeAt(c, n, key, value) }
	// A conflict for the conflict log: the same key at n1 and n2 while they cannot talk.
	cut := []clusters.Link{{From: "n1", To: "n2"}, {From: "n2", To: "n1"}}
	if err := c.Partition(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if write(0, "k", "1") != nil || write(1, "k", "2") != nil {
		t.Fatal("writes failed")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := server.Healthy(ctx, c.Nodes()[1].AdminURL); err == nil {
		t.Fatal("a killed leader answered")
	}
	if err := c.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	st, err := server.GetState(ctx, c.Nodes()[1].AdminURL)
	if err != nil || len(st.Registers["k"].Value) == 0 {
		t.Fatalf("n2 lost its acknowledged write across SIGKILL: %v %v", st.Registers, err)
	}
	if err := c.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	if err := server.Healthy(pctx, c.Nodes()[2].AdminURL); err == nil {
		t.Fatal("a paused leader answered")
	}
	cancel()
	if err := c.Resume(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quiesce(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatal("did not converge after the faults")
	}
	dir := t.TempDir()
	if err := c.CollectArtifacts(ctx, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"n1/node.log", "n2/node.log", "n3/node.log"} {
		if b, err := os.ReadFile(dir + "/" + f); err != nil || !strings.Contains(string(b), "listening on") {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, err := os.ReadFile(dir + "/n1/data/conflicts.jsonl"); err != nil || len(b) == 0 {
		t.Errorf("n1's conflict log was not copied out: %v", err)
	}
}

// TestClusterDisconnect takes a leader off the run's network: no client or peer reaches it, a
// clock set meanwhile and a kill and restart off the network are honoured, and once it is back
// it answers through its client link and catches up on what it missed.
func TestClusterDisconnect(t *testing.T) {
	dockerOrSkip(t)
	ctx := t.Context()
	c := startCluster(t)
	write := func(n int, key, value string) error { return writeAt(c, n, key, value) }
	if err := write(0, "k", "1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := write(2, "k", "9"); err == nil {
		t.Fatal("a client reached a leader that is off the network")
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	if err := server.Healthy(pctx, c.Nodes()[2].AdminURL); err == nil {
		t.Fatal("the admin port of a disconnected leader answered")
	}
	cancel()
	if err := write(0, "k", "2"); err != nil {
		t.Fatalf("n1 stopped taking writes when n3 went: %v", err)
	}
	// Off the network, the leader is killed and restarted, and given a clock it cannot hear yet.
	if err := c.SetClock(ctx, "n3", clusters.ClockSetting{OffsetNS: int64(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reconnect(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quiesce(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("did not converge after the reconnection: %v", err)
	}
	st, err := server.GetState(ctx, c.Nodes()[2].AdminURL)
	if err != nil || string(st.Registers["k"].Value) != "2" || st.ClockNS != int64(time.Hour) {
		t.Fatalf("n3 after reconnecting: k=%s clock=%v (%v)", st.Registers["k"].Value, time.Duration(st.ClockNS), err)
	}
	if err := write(2, "k", "3"); err != nil {
		t.Fatalf("a client could not reach n3 once it was back: %v", err)
	}
}

// TestHealTrustsDocker makes faults behind the cluster's back, as a Docker call that timed out on
// crossfire's side but went through would: Restart, Resume and Reconnect look at what Docker says
// and undo them, so no leader stays down, frozen or cut off after healing.
func TestHealTrustsDocker(t *testing.T) {
	dockerOrSkip(t)
	ctx := t.Context()
	c := startCluster(t)
	id := func(n string) string { return c.Container(n).GetContainerID() }
	if _, err := c.Docker().ContainerKill(ctx, id("n1"), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Docker().ContainerPause(ctx, id("n2"), client.ContainerPauseOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Docker().NetworkDisconnect(ctx, c.Network(), client.NetworkDisconnectOptions{Container: id("n3"), Force: true}); err != nil {
		t.Fatal(err)
	}
	for _, heal := range []func(context.Context, string) error{c.Resume, c.Restart, c.Reconnect} {
		for _, n := range []string{"n1", "n2", "n3"} {
			if err := heal(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range c.Nodes() {
		if err := writeAt(c, i, "k", fmt.Sprint(i)); err != nil {
			t.Errorf("n%d after healing: %v", i+1, err)
		}
	}
	if err := c.Quiesce(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("did not converge after healing what the cluster did not know of: %v", err)
	}
}

// startCluster starts a three-leader cluster that the test's end removes.
func startCluster(t *testing.T) *Cluster {
	t.Helper()
	c, err := New(t.Context())
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeAt writes a register through leader n's client link, and fails on anything but 200.
func writeAt(c *Cluster, n int, key, value string) error {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Post(c.Nodes()[n].URL+"/register/write", "application/json",
		strings.NewReader(`{"key":"`+key+`","value":`+value+`}`))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestAFailedHealKeepsTheLinkCut: when the sidecar refuses to rebuild a cut link, Heal says so
// and the cluster still knows the link is cut, so the next heal restores it.
func TestAFailedHealKeepsTheLinkCut(t *testing.T) {
	dockerOrSkip(t)
	ctx := t.Context()
	c := startCluster(t)
	api, err := c.Sidecar().Container.PortEndpoint(ctx, docker.SidecarAPIPort+"/tcp", "http")
	require.NoError(t, err)
	target, err := url.Parse(api)
	require.NoError(t, err)
	// The sidecar's API, refusing to delete or create a proxy.
	relay := httputil.NewSingleHostReverseProxy(target)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete || r.Method == http.MethodPost && r.URL.Path == "/proxies" {
			http.Error(w, "refused", http.StatusInternalServerError)
			return
		}
		relay.ServeHTTP(w, r)
	}))
	defer refusing.Close()

	cut := clusters.Link{From: "n1", To: "n3"}
	require.NoError(t, c.Partition(ctx, []clusters.Link{cut}))
	real := c.Sidecar().API
	c.Sidecar().API = toxiclient.NewClient(refusing.URL)
	require.Error(t, c.Heal(ctx), "a heal the sidecar refused passed")
	require.True(t, c.Sidecar().Cut(cut), "the cluster forgot that the link is cut")

	c.Sidecar().API = real
	require.NoError(t, c.Heal(ctx))
	assert.False(t, c.Sidecar().Cut(cut))
	require.NoError(t, writeAt(c, 0, "healed", "1"))
	require.NoError(t, c.Quiesce(ctxFor(t, 20*time.Second)), "replication over the rebuilt link")

	// The same for a slowed link whose latency could not be removed.
	require.NoError(t, c.SetLatency(ctx, []clusters.Link{cut}, 50*time.Millisecond, 0))
	c.Sidecar().API = toxiclient.NewClient(refusing.URL)
	require.Error(t, c.ClearLatency(ctx), "a clear the sidecar refused passed")
	require.True(t, c.Sidecar().Slowed(cut), "the cluster forgot that the link is slowed")
	c.Sidecar().API = real
	require.NoError(t, c.ClearLatency(ctx))
	assert.False(t, c.Sidecar().Slowed(cut))
}

// TestWANSurvivesTheLinkFaults: the round trip between leaders is a pair of toxics on every
// proxy between leaders and on no client link; a heal that rebuilds a cut proxy puts them back,
// clearing a fault's latency leaves them, and a write takes at least half the round trip to
// reach another leader.
func TestWANSurvivesTheLinkFaults(t *testing.T) {
	dockerOrSkip(t)
	ctx := t.Context()
	c := startCluster(t)
	require.NoError(t, c.SetWAN(ctx, 400*time.Millisecond))
	check := func(when string) {
		t.Helper()
		proxies, err := c.Sidecar().API.Proxies()
		require.NoError(t, err)
		for name, p := range proxies {
			l, err := clusters.ParseLink(name)
			require.NoError(t, err)
			toxics, err := p.Toxics()
			require.NoError(t, err)
			var got []string
			for _, tx := range toxics {
				if strings.HasPrefix(tx.Name, "wan-") {
					got = append(got, fmt.Sprintf("%s %s %v", tx.Name, tx.Stream, tx.Attributes["latency"]))
				}
			}
			slices.Sort(got)
			want := "[wan-downstream downstream 200 wan-upstream upstream 200]"
			if l.From == clusters.ClientLink {
				want = "[]"
			}
			assert.Equal(t, want, fmt.Sprint(got), "%s: %s", when, l)
		}
	}
	check("set")
	cut := clusters.Link{From: "n1", To: "n3"}
	require.NoError(t, c.Partition(ctx, []clusters.Link{cut}))
	require.NoError(t, c.SetLatency(ctx, []clusters.Link{{From: "n2", To: "n3"}}, 50*time.Millisecond, 0))
	require.NoError(t, c.Heal(ctx))
	require.NoError(t, c.ClearLatency(ctx))
	check("after a cut, a heal and a cleared latency")

	start := time.Now()
	require.NoError(t, writeAt(c, 0, "far", "1"))
	require.NoError(t, c.Quiesce(ctxFor(t, 60*time.Second)))
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "a write replicated sooner than half the round trip")

	require.NoError(t, c.SetWAN(ctx, 0))
	proxies, err := c.Sidecar().API.Proxies()
	require.NoError(t, err)
	for name, p := range proxies {
		toxics, err := p.Toxics()
		require.NoError(t, err)
		for _, tx := range toxics {
			assert.False(t, strings.HasPrefix(tx.Name, "wan-"), "%s keeps %s with no round trip", name, tx.Name)
		}
	}
}
