package pglogical

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The lines are pglogical 2.4.2's, as a PostgreSQL 15 server with log_line_prefix '%m [%p] '
// wrote them (targets/pglogical.md), among other lines of the log.
const serverLog = `2026-11-27 15:16:50.001 UTC [800] LOG:  database system is ready to accept connections
2026-11-27 15:16:57.793 UTC [812] LOG:  CONFLICT: remote UPDATE on relation public.kv (local index kv_pkey). Resolution: keep_local.
2026-11-27 15:16:57.793 UTC [812] DETAIL:  existing local tuple {k[int4]:10 v[int4]:1} xid=740,origin=0,timestamp=2026-11-27 15:16:57.79302+00; remote tuple {k[int4]:10 v[int4]:3} in xact origin=2,timestamp=2026-11-27 15:16:32.953176+00,commit_lsn=0/1973D68
2026-11-27 15:16:57.800 UTC [812] CONTEXT:  apply UPDATE from remote relation public.kv in commit before 0/1973D68
2026-11-27 15:17:01.250 UTC [813] LOG:  CONFLICT: remote UPDATE on relation public.kv replica identity index kv_pkey (tuple not found). Resolution: skip.
2026-11-27 15:17:01.250 UTC [813] DETAIL:  remote tuple {k[int4]:2 v[int4]:22} in xact origin=1,timestamp=2026-11-27 15:17:01.1+00,commit_lsn=0/1974000
2026-11-27 15:17:02.000 UTC [814] LOG:  CONFLICT: remote INSERT on relation public.carts (local index carts_pkey). Resolution: apply_remote.
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
