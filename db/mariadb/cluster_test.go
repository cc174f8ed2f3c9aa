package mariadb

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/sqlclient"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
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

// startReplicating starts a cluster that the test's end removes, writes value at n1 through its
// client link and reads it at n3 once quiescent.
func startReplicating(t *testing.T, o Options, value string) *Cluster {
	t.Helper()
	ctx := t.Context()
	c, err := New(ctx, o)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	require.NoError(t, err)
	_, err = sqlAt(t, c, 0).ExecContext(ctx, `INSERT INTO registers (k, v) VALUES ('r0', ?)`, value)
	require.NoError(t, err)
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, c.Quiesce(qctx))
	var v string
	require.NoError(t, sqlAt(t, c, 2).QueryRowContext(ctx, `SELECT v FROM registers WHERE k = 'r0'`).Scan(&v))
	assert.Equal(t, value, v)
	return c
}

// TestGaleraCluster starts three Galera leaders (n1 bootstraps, the others join by state
// transfer), writes at n1 through its client link and reads the write at n3 once quiescent, and
// leaves nothing of the run behind on Close.
func TestGaleraCluster(t *testing.T) {
	cli, _ := imageOrSkip(t, "")
	ctx := t.Context()
	c := startReplicating(t, Options{Log: testLog{t}}, `"galera"`)
	require.NoError(t, c.CollectArtifacts(ctx, t.TempDir()))
	clientsDoWhatTheySay(t, c)
	clockMoves(t, c)

	run := c.Run()
	require.NoError(t, c.Close())
	left, err := docker.Clean(ctx, cli, docker.Which{Run: run, Running: true, DryRun: true})
	require.NoError(t, err)
	assert.Empty(t, left.Names, "what the run left in Docker")
}

// clientsDoWhatTheySay runs each workload's operations through the clients, against the real
// server, and checks each completion: a cas that writes the value it expected succeeds (MariaDB
// counts such an UPDATE's row as matched, not changed), a cas of null creates the register or
// fails on a value, a remove of what is not there fails, a buy of stock that is not there fails,
// and every ok says which leader served it.
func clientsDoWhatTheySay(t *testing.T, c *Cluster) {
	ctx := t.Context()
	client := func(workload string, options map[string]string) db.Client {
		cl, err := (DB{}).Open(ctx, db.ClientConfig{Workload: workload, Node: c.Nodes()[1], Timeout: 5 * time.Second, Options: options})
		require.NoError(t, err)
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	do := func(cl db.Client, f, key string, v any, want history.Type) history.Op {
		t.Helper()
		done := cl.Invoke(ctx, history.Op{F: f, Key: key, Value: history.Value(v), Req: "r-" + key})
		require.Equal(t, want, done.Type, "%s %s %v: %s", f, key, v, done.Error)
		if done.Type == history.OK {
			assert.JSONEq(t, `"n2"`, string(done.MetaField("served_by")))
		}
		return done
	}
	reg := client(workloads.RegisterName, nil)
	do(reg, "cas", "c1", []any{nil, 1}, history.OK) // creates it
	do(reg, "cas", "c1", []any{nil, 2}, history.Fail)
	do(reg, "cas", "c1", []any{1, 1}, history.OK) // the same value: matched, not changed
	do(reg, "cas", "c1", []any{3, 4}, history.Fail)
	do(reg, "write", "c1", 5, history.OK)
	assert.JSONEq(t, "5", string(do(reg, "read", "c1", nil, history.OK).Value))
	assert.JSONEq(t, "null", string(do(reg, "read", "never", nil, history.OK).Value))

	for _, way := range sqlclient.BuyWays {
		inv := client(workloads.InventoryName, map[string]string{"buy": way})
		sku := "s-" + way
		do(inv, "buy", sku, 1, history.Fail) // nothing there: sold out
		do(inv, "restock", sku, 1, history.OK)
		id := do(inv, "buy", sku, 1, history.OK).Value
		again := inv.Invoke(ctx, history.Op{F: "buy", Key: sku, Value: history.Value(1), Req: "another buyer"})
		assert.Equal(t, history.Fail, again.Type, "a second unit sold: %s", again.Value)
		retry := inv.Invoke(ctx, history.Op{F: "buy", Key: sku, Value: history.Value(1), Req: "r-" + sku})
		assert.JSONEq(t, string(id), string(retry.Value), "a retry of the sale is told its order")
		stock := do(inv, "read-stock", sku, nil, history.OK)
		assert.JSONEq(t, "0", string(stock.Value))
		// The stock row's ledger holds the restock and the one sale, each with its request.
		assert.JSONEq(t, `[{"node":"n2","req":"r-`+sku+`","units":1},{"node":"n2","req":"r-`+sku+`","units":-1}]`,
			string(stock.MetaField("ledger")))
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(do(inv, "read-orders", sku, nil, history.OK).Value, &rows))
		require.Len(t, rows, 1)
		assert.Equal(t, "n2", rows[0]["node"])
		assert.JSONEq(t, string(id), `"`+rows[0]["order"].(string)+`"`)
	}

	cart := client(workloads.CartName, nil)
	do(cart, "add", "k", "x", history.OK)
	do(cart, "add", "k", "x", history.OK)
	do(cart, "remove", "k", "y", history.Fail)
	assert.JSONEq(t, `["x"]`, string(do(cart, "read", "k", nil, history.OK).Value))
}

// BenchmarkNew measures New to three Galera leaders Synced in one primary component, the tables
// made (image built), and Close.
//
//	go test ./db/mariadb/ -run '^$' -bench New -benchtime 2x -count 2 -timeout 30m
func BenchmarkNew(b *testing.B) {
	if err := Prerequisites(b.Context()); err != nil {
		b.Skip(err)
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

// TestAsyncCluster starts three masters replicating from each other, writes at n1 and reads the
// write at n3 once quiescent; then, with every link cut, inserts the same row at n1 and n2: once
// healed, replication stops (STRICT, duplicate key) and Quiesce names the stopped channels.
func TestAsyncCluster(t *testing.T) {
	imageOrSkip(t, "")
	ctx := t.Context()
	c := startReplicating(t, Options{Log: testLog{t}, Settings: Settings{Replication: Async}}, `"async"`)

	var all []clusters.Link
	for _, a := range c.IDs() {
		for _, b := range c.IDs() {
			if a != b {
				all = append(all, clusters.Link{From: a, To: b})
			}
		}
	}
	require.NoError(t, c.Partition(ctx, all))
	_, err := sqlAt(t, c, 0).ExecContext(ctx, `INSERT INTO registers (k, v) VALUES ('dup', '1')`)
	require.NoError(t, err)
	_, err = sqlAt(t, c, 1).ExecContext(ctx, `INSERT INTO registers (k, v) VALUES ('dup', '2')`)
	require.NoError(t, err)
	require.NoError(t, c.Heal(ctx))
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = c.Quiesce(qctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped")
	assert.Contains(t, err.Error(), "1062")
	t.Log(err)
}

// clockMoves sets n2's clock 30 s ahead through its libfaketime file and sees NOW() move there,
// then puts it back.
func clockMoves(t *testing.T, c *Cluster) {
	ctx := t.Context()
	ahead := func() time.Duration {
		t.Helper()
		db, err := c.conn("n2")
		require.NoError(t, err)
		var now float64
		require.NoError(t, db.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&now))
		return time.Until(time.Unix(0, int64(now*1e9)))
	}
	require.NoError(t, c.SetClock(ctx, "n2", clusters.ClockSetting{OffsetNS: int64(30 * time.Second)}))
	require.Eventually(t, func() bool { return ahead() > 25*time.Second }, time.Minute, 200*time.Millisecond, "n2's NOW() did not move")
	require.NoError(t, c.SetClock(ctx, "n2", clusters.ClockSetting{}))
	require.Eventually(t, func() bool { d := ahead(); return d < 5*time.Second && d > -5*time.Second }, time.Minute, 200*time.Millisecond, "n2's NOW() did not come back")
}

// TestGaleraRecoversFromKillingEveryLeader kills n1, writes at n2 (so that n2 and n3 are ahead
// of n1), kills n2 and n3 and restarts all three together. With pc.recovery off no leader
// restores a primary component by itself: the cluster must bootstrap the most advanced leader
// (n2 or n3), never n1, whose bootstrap would lose the write.
func TestGaleraRecoversFromKillingEveryLeader(t *testing.T) {
	imageOrSkip(t, "")
	ctx := t.Context()
	c := startReplicating(t, Options{Log: testLog{t}, Settings: Settings{PCRecovery: "off"}}, `"before"`)
	require.NoError(t, c.Kill(ctx, "n1"))
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.Eventually(t, func() bool {
		_, err := sqlAt(t, c, 1).ExecContext(wctx, `INSERT INTO registers (k, v) VALUES ('after', '"n1 down"')`)
		return err == nil
	}, 2*time.Minute, time.Second, "n2 took no write with n1 down")
	require.NoError(t, c.Kill(ctx, "n2"))
	require.NoError(t, c.Kill(ctx, "n3"))
	require.NoError(t, c.RestartAll(ctx, []string{"n1", "n2", "n3"}))
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, c.Quiesce(qctx))
	for i := range 3 {
		var v string
		require.NoError(t, sqlAt(t, c, i).QueryRowContext(ctx, `SELECT v FROM registers WHERE k = 'after'`).Scan(&v), "n%d", i+1)
		assert.Equal(t, `"n1 down"`, v)
	}
}

// TestGaleraLeaderWhoseRestartGaveUpReturnsLater kills n3 and restarts it with too little time
// to come back (as a restart in the main phase gives up when a Galera leader finds no primary
// component to join): n3 stays unreachable, returning. Its engine then stops by itself, as such
// a leader's does, and the next restart, with time enough, starts it again and waits for it: the
// cluster settles with all three.
func TestGaleraLeaderWhoseRestartGaveUpReturnsLater(t *testing.T) {
	cli, _ := imageOrSkip(t, "")
	ctx := t.Context()
	c := startReplicating(t, Options{Log: testLog{t}}, `"before"`)
	require.NoError(t, c.Kill(ctx, "n3"))
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	err := c.Restart(rctx, "n3")
	cancel()
	require.Error(t, err, "n3 answered within a second of its start")
	assert.False(t, c.Reachable("n3"), "a leader whose restart gave up is not reachable")
	ctr := c.Cluster.Container("n3")
	require.NotNil(t, ctr)
	require.Eventually(t, func() bool {
		_ = docker.KillLeader(ctx, cli, ctr.GetContainerID(), "n3", false) // the engine gives up
		return !c.Running(ctx, "n3")
	}, time.Minute, time.Second, "n3 did not stop")
	rctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	require.NoError(t, c.Restart(rctx, "n3"))
	assert.True(t, c.Reachable("n3"))
	qctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, c.Quiesce(qctx))
	var v string
	require.NoError(t, sqlAt(t, c, 2).QueryRowContext(ctx, `SELECT v FROM registers WHERE k = 'r0'`).Scan(&v))
	assert.Equal(t, `"before"`, v)
}

// TestGaleraRegainsAPrimaryComponent kills n1 while n2 is cut off from both peers: n2 and n3 each
// hold a minority of the last primary component and, healed, stay non-primary together. Quiesce
// bootstraps the most advanced of them (pc.bootstrap), starts n1 again to join, and waits for the
// three to settle, with the write made before the faults everywhere.
func TestGaleraRegainsAPrimaryComponent(t *testing.T) {
	imageOrSkip(t, "")
	ctx := t.Context()
	c := startReplicating(t, Options{Log: testLog{t}}, `"before"`)
	var cut []clusters.Link
	for _, other := range []string{"n1", "n3"} {
		cut = append(cut, clusters.Link{From: "n2", To: other}, clusters.Link{From: other, To: "n2"})
	}
	require.NoError(t, c.Partition(ctx, cut))
	require.NoError(t, c.Kill(ctx, "n1"))
	require.Eventually(t, func() bool {
		s, err := c.galera(ctx, "n3")
		return err == nil && s.status != "Primary"
	}, time.Minute, time.Second, "n3 stayed primary alone")
	require.NoError(t, c.Heal(ctx))
	qctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	require.NoError(t, c.Quiesce(qctx))
	for i := range 3 {
		var v string
		require.NoError(t, sqlAt(t, c, i).QueryRowContext(ctx, `SELECT v FROM registers WHERE k = 'r0'`).Scan(&v), "n%d", i+1)
		assert.Equal(t, `"before"`, v)
	}
}
