package pglogical

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"crossfire/clusters"
)

func TestFaketimeOffsets(t *testing.T) {
	assert.Equal(t, "+1.500000", Faketime(1500*time.Millisecond))
	assert.Equal(t, "-0.250000", Faketime(-250*time.Millisecond))
	assert.Equal(t, "+0.000000", Faketime(0))

	at := time.Unix(1000, 0)
	bump := clusters.ClockSetting{OffsetNS: int64(30 * time.Second)}
	assert.Equal(t, 30*time.Second, Offset(bump, at, at.Add(time.Hour)), "a bump stays put")
	drift := clusters.ClockSetting{OffsetNS: int64(time.Second), DriftPPM: 100_000}
	assert.Equal(t, time.Second, Offset(drift, at, at))
	assert.Equal(t, 2*time.Second, Offset(drift, at, at.Add(10*time.Second)), "10%% fast for 10 s is one more second")
	slow := clusters.ClockSetting{DriftPPM: -500_000}
	assert.Equal(t, -5*time.Second, Offset(slow, at, at.Add(10*time.Second)))
	// A strobe of 50 ms periods steps no faster than libfaketime reads its file.
	strobe := clusters.ClockSetting{StrobeNS: int64(2 * time.Second), StrobePeriodNS: int64(50 * time.Millisecond)}
	assert.Equal(t, 2*time.Second, Offset(strobe, at, at.Add(ClockCache/2)))
	assert.Equal(t, -2*time.Second, Offset(strobe, at, at.Add(ClockCache+ClockCache/2)))
	assert.Equal(t, 2*time.Second, Offset(strobe, at, at.Add(2*ClockCache+ClockCache/2)))
	slowStrobe := clusters.ClockSetting{StrobeNS: int64(time.Second), StrobePeriodNS: int64(3 * time.Second)}
	assert.Equal(t, time.Second, Offset(slowStrobe, at, at.Add(2*time.Second)))
	assert.Equal(t, -time.Second, Offset(slowStrobe, at, at.Add(4*time.Second)))
}

// TestFaultsOnTheMesh puts every fault the cluster takes on a running mesh and checks what each
// does to PostgreSQL: a one-way cut stops exactly one direction of replication, a clock setting
// moves now() and commit timestamps, a killed leader restarts from its data, a paused or
// disconnected one comes back, and after each the mesh quiesces again.
func TestFaultsOnTheMesh(t *testing.T) {
	imageOrSkip(t)
	ctx := t.Context()
	c, err := New(ctx, Options{Log: testLog{t}})
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	require.NoError(t, err)
	quiesce := func() {
		t.Helper()
		qctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		start := time.Now()
		require.NoError(t, c.Quiesce(qctx))
		t.Logf("quiescent after %s", time.Since(start).Round(time.Millisecond))
	}
	at := func(id string) *pgx.Conn {
		t.Helper()
		conn, err := c.conn(ctx, id)
		require.NoError(t, err)
		return conn
	}
	value := func(id, key string) string {
		t.Helper()
		var v string
		err := at(id).QueryRow(ctx, `SELECT coalesce((SELECT v #>> '{}' FROM registers WHERE k = $1), '')`, key).Scan(&v)
		require.NoError(t, err)
		return v
	}
	write := func(id, key, v string) {
		t.Helper()
		_, err := at(id).Exec(ctx, `INSERT INTO registers (k, v) VALUES ($1, to_jsonb($2::text)) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, key, v)
		require.NoError(t, err)
	}

	// One-way cut: what n1 sends to n3 stops, nothing else.
	require.NoError(t, c.Partition(ctx, []clusters.Link{{From: "n1", To: "n3"}}))
	write("n1", "cut", "from n1")
	write("n3", "back", "from n3")
	require.Eventually(t, func() bool { return value("n2", "cut") == "from n1" && value("n1", "back") == "from n3" },
		time.Minute, 100*time.Millisecond, "n1->n2 and n3->n1 still replicate")
	assert.Empty(t, value("n3", "cut"), "n1's write crossed the cut link n1->n3")
	require.NoError(t, c.Heal(ctx))
	quiesce()
	assert.Equal(t, "from n1", value("n3", "cut"), "n1's write reached n3 after the heal")

	// Clock: n2 30 s ahead, its commits stamped so; then back.
	require.NoError(t, c.SetClock(ctx, "n2", clusters.ClockSetting{OffsetNS: int64(30 * time.Second)}))
	ahead := func() time.Duration {
		var now time.Time
		require.NoError(t, at("n2").QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now))
		return time.Until(now)
	}
	require.Eventually(t, func() bool { return ahead() > 25*time.Second }, time.Minute, 200*time.Millisecond, "n2's clock did not move")
	write("n2", "skewed", "late")
	var stamp time.Time
	require.NoError(t, at("n2").QueryRow(ctx, `SELECT pg_xact_commit_timestamp(xmin) FROM registers WHERE k = 'skewed'`).Scan(&stamp))
	assert.Greater(t, time.Until(stamp), 25*time.Second, "n2's commit timestamp is not ahead")
	require.NoError(t, c.SetClock(ctx, "n2", clusters.ClockSetting{}))
	require.Eventually(t, func() bool { d := ahead(); return d < 5*time.Second && d > -5*time.Second }, time.Minute, 200*time.Millisecond, "n2's clock did not come back")

	// Kill and restart from the data folder.
	require.NoError(t, c.Kill(ctx, "n3"))
	write("n1", "while-down", "x")
	require.NoError(t, c.Restart(ctx, "n3"))
	assert.Equal(t, "from n1", value("n3", "cut"), "n3 lost its data")
	quiesce()
	assert.Equal(t, "x", value("n3", "while-down"), "n3 did not catch up after its restart")

	// Pause and resume; disconnect and reconnect.
	require.NoError(t, c.Pause(ctx, "n2"))
	write("n1", "while-paused", "y")
	require.NoError(t, c.Resume(ctx, "n2"))
	require.NoError(t, c.Disconnect(ctx, "n1"))
	write("n3", "while-off", "z")
	require.NoError(t, c.Reconnect(ctx, "n1"))
	quiesce()
	assert.Equal(t, "y", value("n2", "while-paused"))
	assert.Equal(t, "z", value("n1", "while-off"))
}
