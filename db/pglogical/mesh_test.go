package pglogical

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// TestMeshReplicatesAndLogsConflicts starts three leaders from the image on a network of their
// own, joins them in a full mesh, checks that a write at one reaches the others, then makes two
// leaders update one row while their links are down and reads the conflict back from the logs.
func TestMeshReplicatesAndLogsConflicts(t *testing.T) {
	cli, tag := imageOrSkip(t)
	ctx := t.Context()
	run := fmt.Sprintf("cf-test-%d", time.Now().UnixNano()%1e9)
	labels := docker.RunLabels(run)
	network := "crossfire-" + run
	_, err := cli.NetworkCreate(ctx, network, client.NetworkCreateOptions{Labels: labels})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = cli.NetworkRemove(context.Background(), network, client.NetworkRemoveOptions{}) })

	names := []string{"n1", "n2", "n3"}
	ctrs := map[string]testcontainers.Container{}
	conns := map[string]*pgx.Conn{}
	for _, n := range names {
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
			ContainerRequest: testcontainers.ContainerRequest{
				Image: tag, Name: run + "-" + n,
				Entrypoint:     []string{"/bin/sh", "-c", Entrypoint("last_update_wins")},
				ExposedPorts:   []string{fmt.Sprintf("%d/tcp", Port)},
				Labels:         labels,
				Networks:       []string{network},
				NetworkAliases: map[string][]string{network: {n}},
				WaitingFor:     wait.ForLog("database system is ready to accept connections").WithStartupTimeout(2 * time.Minute),
			},
			Started: true,
		})
		if c != nil {
			t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
		}
		require.NoError(t, err)
		ctrs[n] = c
		host, err := c.Host(ctx)
		require.NoError(t, err)
		port, err := c.MappedPort(ctx, fmt.Sprintf("%d/tcp", Port))
		require.NoError(t, err)
		conn, err := pgx.Connect(ctx, DSN(host, int(port.Num())))
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close(context.Background()) })
		conns[n] = conn
	}
	for _, n := range names {
		require.NoError(t, Prepare(ctx, conns[n], n, DSN(n, Port)))
	}
	for _, n := range names {
		var peers []Peer
		for _, p := range names {
			if p != n {
				peers = append(peers, Peer{Name: p, DSN: DSN(p, Port)})
			}
		}
		require.NoError(t, Subscribe(ctx, conns[n], n, peers))
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, n := range names {
		require.NoError(t, AwaitReplicating(wctx, conns[n]), n)
	}

	// A write at n1 reaches n2 and n3.
	_, err = conns["n1"].Exec(ctx, `INSERT INTO registers (k, v) VALUES ('r0', '1')`)
	require.NoError(t, err)
	for _, n := range []string{"n2", "n3"} {
		require.Eventually(t, func() bool {
			var v string
			return conns[n].QueryRow(ctx, `SELECT v::text FROM registers WHERE k = 'r0'`).Scan(&v) == nil && v == "1"
		}, 30*time.Second, 100*time.Millisecond, "n1's write never reached %s", n)
	}

	// n1 and n2 cut off from each other, each updates the row, then the links come back.
	for _, s := range []struct{ at, sub string }{{"n1", Subscription("n1", "n2")}, {"n2", Subscription("n2", "n1")}} {
		_, err := conns[s.at].Exec(ctx, `SELECT pglogical.alter_subscription_disable($1, true)`, s.sub)
		require.NoError(t, err)
	}
	_, err = conns["n1"].Exec(ctx, `UPDATE registers SET v = '11' WHERE k = 'r0'`)
	require.NoError(t, err)
	_, err = conns["n2"].Exec(ctx, `UPDATE registers SET v = '22' WHERE k = 'r0'`)
	require.NoError(t, err)
	for _, s := range []struct{ at, sub string }{{"n1", Subscription("n1", "n2")}, {"n2", Subscription("n2", "n1")}} {
		_, err := conns[s.at].Exec(ctx, `SELECT pglogical.alter_subscription_enable($1, true)`, s.sub)
		require.NoError(t, err)
	}
	// n2's update is the later one: last_update_wins keeps it everywhere.
	for _, n := range names {
		require.Eventually(t, func() bool {
			var v string
			return conns[n].QueryRow(ctx, `SELECT v::text FROM registers WHERE k = 'r0'`).Scan(&v) == nil && v == "22"
		}, 30*time.Second, 100*time.Millisecond, "%s did not settle on the later update", n)
	}
	var found []Conflict
	require.Eventually(t, func() bool {
		logs, err := ctrs["n1"].Logs(ctx)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(logs)
		logs.Close()
		found, err = ParseConflicts(strings.NewReader(string(b)))
		return err == nil && len(found) > 0
	}, 30*time.Second, 200*time.Millisecond, "n1 logged no conflict")
	c := found[len(found)-1]
	t.Logf("n1 logged: %+v local %+v remote %+v", c, c.Local, c.Remote)
	assert.Equal(t, "UPDATE", c.Op)
	assert.Equal(t, "public.registers", c.Relation)
	assert.Equal(t, "apply_remote", c.Resolution)
	require.NotNil(t, c.Local)
	assert.Equal(t, "r0", c.Local.Columns["k"])
	assert.Equal(t, "11", c.Local.Columns["v"])
	assert.Equal(t, "22", c.Remote.Columns["v"])
	assert.True(t, c.Remote.Committed.After(c.Local.Committed))
	assert.NotZero(t, c.Remote.Origin)

	// As crossfire's conflict record: n2's version arrived at n1 and won.
	origins, err := Origins(ctx, conns["n1"])
	require.NoError(t, err)
	recs := Records("n1", "last_update_wins", found[len(found)-1:], origins)
	require.Len(t, recs, 1)
	assert.Equal(t, "r0", recs[0].Key)
	assert.Equal(t, "n2", recs[0].Incoming.Origin)
	assert.Equal(t, "n1", recs[0].Local[0].Origin)
	assert.Equal(t, "22", string(recs[0].Winner.Value))

	// Caught up, then not: a link down with a change behind it.
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, Quiesce(qctx, conns))
	_, err = conns["n3"].Exec(ctx, `SELECT pglogical.alter_subscription_disable($1, true)`, Subscription("n3", "n1"))
	require.NoError(t, err)
	_, err = conns["n1"].Exec(ctx, `UPDATE registers SET v = '33' WHERE k = 'r0'`)
	require.NoError(t, err)
	short, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	err = Quiesce(short, conns)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "n3_from_n1 disabled")
}
