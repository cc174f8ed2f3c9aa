package pglogical

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The lines are pglogical 2.4.2's, as a PostgreSQL 15 server with log_line_prefix '%m [%p] '
// wrote them (README.md), among other lines of the log.
const serverLog = `2026-11-27 15:16:50.001 UTC [800] LOG:  database system is ready to accept connections
2026-11-27 15:16:57.793 UTC [812] LOG:  CONFLICT: remote UPDATE on relation public.kv (local index kv_pkey). Resolution: keep_local.
2026-11-27 15:16:57.793 UTC [812] DETAIL:  existing local tuple {k[int4]:10 v[int4]:1} xid=740,origin=0,timestamp=2026-11-27 15:16:57.79302+00; remote tuple {k[int4]:10 v[int4]:3} in xact origin=2,timestamp=2026-11-27 15:16:32.953176+00,commit_lsn=0/1973D68
2026-11-27 15:16:57.800 UTC [812] CONTEXT:  apply UPDATE from remote relation public.kv in commit before 0/1973D68
2026-11-27 15:17:01.250 UTC [813] LOG:  CONFLICT: remote UPDATE on relation public.kv replica identity index kv_pkey (tuple not found). Resolution: skip.
2026-11-27 15:17:01.250 UTC [813] DETAIL:  remote tuple {k[int4]:2 v[int4]:22} in xact origin=1,timestamp=2026-11-27 15:17:01.1+00,commit_lsn=0/1974000
2026-11-27 15:17:02.000 UTC [814] LOG:  CONFLICT: remote INSERT on relation public.cart_items (local index cart_items_pkey). Resolution: apply_remote.
2026-11-27 15:17:02.000 UTC [814] DETAIL:  existing local tuple {cart[text]:c0 item[text]:blue shoes} xid=750,origin=1,timestamp=2026-11-27 15:17:01.999+00; remote tuple {cart[text]:c0 item[text]:blue shoes} in xact origin=2,timestamp=2026-11-27 15:17:01.9995+00,commit_lsn=0/1975000
`

func TestParseConflicts(t *testing.T) {
	cs, err := ParseConflicts(strings.NewReader(serverLog))
	require.NoError(t, err)
	require.Len(t, cs, 3)

	c := cs[0]
	assert.Equal(t, "UPDATE", c.Op)
	assert.Equal(t, "public.kv", c.Relation)
	assert.Equal(t, "kv_pkey", c.Index)
	assert.Equal(t, "keep_local", c.Resolution)
	assert.False(t, c.NotFound)
	assert.Equal(t, time.Date(2026, 11, 27, 15, 16, 57, 793e6, time.UTC), c.Logged)
	require.NotNil(t, c.Local)
	assert.Equal(t, map[string]string{"k": "10", "v": "1"}, c.Local.Columns)
	assert.Equal(t, 0, c.Local.Origin)
	assert.Equal(t, time.Date(2026, 11, 27, 15, 16, 57, 793020e3, time.UTC), c.Local.Committed.UTC())
	assert.Equal(t, map[string]string{"k": "10", "v": "3"}, c.Remote.Columns)
	assert.Equal(t, 2, c.Remote.Origin)
	assert.Equal(t, time.Date(2026, 11, 27, 15, 16, 32, 953176e3, time.UTC), c.Remote.Committed.UTC())

	c = cs[1]
	assert.True(t, c.NotFound)
	assert.Equal(t, "skip", c.Resolution)
	assert.Equal(t, "kv_pkey", c.Index)
	assert.Nil(t, c.Local)
	assert.Equal(t, map[string]string{"k": "2", "v": "22"}, c.Remote.Columns)
	assert.Equal(t, 1, c.Remote.Origin)

	c = cs[2]
	assert.Equal(t, "INSERT", c.Op)
	assert.Equal(t, "apply_remote", c.Resolution)
	assert.Equal(t, map[string]string{"cart": "c0", "item": "blue shoes"}, c.Local.Columns, "a value with a space")
}

func TestParseConflictsRefusesAConflictWithoutItsDetail(t *testing.T) {
	lines := strings.Split(serverLog, "\n")
	broken := strings.Join(append(lines[:2:2], lines[3:]...), "\n") // the first DETAIL gone
	_, err := ParseConflicts(strings.NewReader(broken))
	require.ErrorContains(t, err, "line 2: a CONFLICT line without its DETAIL")
	_, err = ParseConflicts(strings.NewReader(strings.Join(lines[:2], "\n")))
	require.ErrorContains(t, err, "line 2")
}

func TestRecords(t *testing.T) {
	cs, err := ParseConflicts(strings.NewReader(serverLog))
	require.NoError(t, err)
	recs := Records("n1", "last_update_wins", cs, map[int]string{1: "n2", 2: "n3"})
	require.Len(t, recs, 1, "the kv table is none of the workloads'")
	cs[0].Relation = "public.registers"
	cs[0].Local.Columns = map[string]string{"k": "r0", "v": `"x"`}
	cs[0].Remote.Columns = map[string]string{"k": "r0", "v": `"y"`}
	recs = Records("n1", "last_update_wins", cs, map[int]string{1: "n2", 2: "n3"})
	require.Len(t, recs, 2)
	r := recs[0]
	assert.Equal(t, "n1", r.Node)
	assert.Equal(t, "r0", r.Key)
	assert.Equal(t, "last_update_wins", r.Strategy)
	require.Len(t, r.Local, 1)
	assert.Equal(t, `"x"`, string(r.Local[0].Value))
	assert.Equal(t, "n1", r.Local[0].Origin, "origin 0 is the leader itself")
	assert.Equal(t, "n3", r.Incoming.Origin)
	assert.Equal(t, `"y"`, string(r.Incoming.Value))
	assert.Equal(t, r.Local[0], r.Winner, "keep_local keeps the local version")
	assert.Equal(t, cs[0].Logged.UnixNano(), r.Time)
	c := recs[1] // the cart item, applied
	assert.Equal(t, "c0", c.Key)
	assert.Equal(t, `"blue shoes"`, string(c.Incoming.Value))
	assert.Equal(t, c.Incoming, c.Winner)
	assert.Equal(t, "n2", c.Local[0].Origin)
}
