package pglogical

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// The cluster is what the harness will run: a Quiescer, a ConflictSource, an ArtifactCollector.
var (
	_ clusters.Quiescer          = (*Cluster)(nil)
	_ clusters.ConflictSource    = (*Cluster)(nil)
	_ clusters.ArtifactCollector = (*Cluster)(nil)
)

// TestClusterThroughTheSidecar starts three leaders behind the sidecar (replication and clients
// through its proxies), writes at n1 and reads the write at n3 once quiescent, and leaves
// nothing of the run behind on Close.
func TestClusterThroughTheSidecar(t *testing.T) {
	cli, _ := imageOrSkip(t)
	ctx := t.Context()
	c, err := New(ctx, Options{Log: testLog{t}})
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	require.NoError(t, err)
	nodes := c.Nodes()
	require.Len(t, nodes, 3)
	n1, err := pgx.Connect(ctx, nodes[0].URL)
	require.NoError(t, err)
	defer n1.Close(context.Background())
	_, err = n1.Exec(ctx, `INSERT INTO registers (k, v) VALUES ('r0', '"through the sidecar"')`)
	require.NoError(t, err)
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, c.Quiesce(qctx))
	n3, err := pgx.Connect(ctx, nodes[2].URL)
	require.NoError(t, err)
	defer n3.Close(context.Background())
	var v string
	require.NoError(t, n3.QueryRow(ctx, `SELECT v #>> '{}' FROM registers WHERE k = 'r0'`).Scan(&v))
	assert.Equal(t, "through the sidecar", v)
	recs, err := c.Conflicts(ctx)
	require.NoError(t, err)
	assert.Empty(t, recs, "one write, no conflict")
	dir := t.TempDir()
	require.NoError(t, c.CollectArtifacts(ctx, dir))
	// Each leader's data is in a volume of its own, labelled with the run.
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", docker.LabelRun+"="+c.Run())})
	require.NoError(t, err)
	assert.Len(t, vs.Items, 3)

	run := c.Run()
	require.NoError(t, c.Close())
	left, err := docker.Clean(ctx, cli, docker.Which{Run: run, Running: true, DryRun: true})
	require.NoError(t, err)
	assert.Empty(t, left.Names, "what the run left in Docker")
}

// BenchmarkNew measures New to three leaders joined in a full mesh with every subscription
// replicating (images already built), and Close.
func BenchmarkNew(b *testing.B) {
	if err := Prerequisites(b.Context()); err != nil {
		b.Skip(err)
	}
	cli, err := docker.Client(b.Context())
	if err != nil {
		b.Skip(err)
	}
	defer cli.Close()
	if _, err := EnsureImage(b.Context(), cli, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c, err := New(b.Context(), Options{})
		if err != nil {
			if c != nil {
				c.Close()
			}
			b.Fatal(err)
		}
		b.StopTimer()
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
