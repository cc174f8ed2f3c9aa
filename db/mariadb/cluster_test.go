package mariadb

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"crossfire/clusters/docker"
)

// sqlAt opens a client's connection through a leader's client link.
func sqlAt(t *testing.T, c *Cluster, i int) *sql.DB {
	t.Helper()
	dsn, err := driverDSN(c.Nodes()[i].URL, 10*time.Second)
	require.NoError(t, err)
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestGaleraCluster starts three Galera leaders (n1 bootstraps, the others join by state
// transfer), writes at n1 through its client link and reads the write at n3 once quiescent, and
// leaves nothing of the run behind on Close.
func TestGaleraCluster(t *testing.T) {
	cli, _ := imageOrSkip(t)
	ctx := t.Context()
	c, err := New(ctx, Options{Log: testLog{t}})
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	require.NoError(t, err)
	_, err = sqlAt(t, c, 0).ExecContext(ctx, `INSERT INTO registers (k, v) VALUES ('r0', '"galera"')`)
	require.NoError(t, err)
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, c.Quiesce(qctx))
	var v string
	require.NoError(t, sqlAt(t, c, 2).QueryRowContext(ctx, `SELECT v FROM registers WHERE k = 'r0'`).Scan(&v))
	assert.Equal(t, `"galera"`, v)
	require.NoError(t, c.CollectArtifacts(ctx, t.TempDir()))

	run := c.Run()
	require.NoError(t, c.Close())
	filter := make(client.Filters).Add("label", docker.LabelRun+"="+run)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	require.NoError(t, err)
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	require.NoError(t, err)
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: filter})
	require.NoError(t, err)
	assert.Empty(t, cs.Items)
	assert.Empty(t, ns.Items)
	assert.Empty(t, vs.Items)
}
