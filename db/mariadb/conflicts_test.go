package mariadb

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The brute-force aborts of a real Galera log (MariaDB 10.11.18, a read-modify-write flash
// sale), among certification failures and other lines: each becomes a record naming the SKU,
// with the replicated statement as the winner and the local one (often COMMIT) as the loser.
func TestAbortsFromARealLog(t *testing.T) {
	f, err := os.Open("testdata/galera-conflicts.log")
	require.NoError(t, err)
	defer f.Close()
	aborts, err := ParseAborts(f)
	require.NoError(t, err)
	require.Len(t, aborts, 4)
	assert.Equal(t, "UPDATE stock SET units = 10 WHERE sku = 's1'", aborts[0].Winner, "raw bytes after the statement are cut off")
	assert.Equal(t, "COMMIT", aborts[0].Loser)
	assert.Equal(t, "UPDATE stock SET units = 36 WHERE sku = 's1'", aborts[2].Loser)
	assert.Equal(t, 2026, aborts[0].Logged.Year())

	recs := Records("n1", aborts)
	require.Len(t, recs, 4)
	assert.Equal(t, "s1", recs[0].Key)
	assert.Equal(t, "s0", recs[1].Key)
	assert.Equal(t, "n1", recs[0].Node)
	assert.Equal(t, "certification", recs[0].Strategy)
	assert.JSONEq(t, `"UPDATE stock SET units = 10 WHERE sku = 's1'"`, string(recs[0].Winner.Value))
	assert.JSONEq(t, `"COMMIT"`, string(recs[0].Local[0].Value))
}

func TestKeyOf(t *testing.T) {
	for stmt, want := range map[string]string{
		"UPDATE registers SET v = '3' WHERE k = 'r1' AND v = '2'":                               "r1",
		"INSERT INTO registers (k, v) VALUES ('r2', '5') ON DUPLICATE KEY UPDATE v = VALUES(v)": "r2",
		"INSERT IGNORE INTO cart_items (cart, item) VALUES ('c0', 'c0-ab')":                     "c0",
		"DELETE FROM cart_items WHERE cart = 'c1' AND item = 'c1-x'":                            "c1",
		"INSERT INTO orders (leader, sku, qty, req) VALUES ('n1', 's0', 1, 'q')":                "",
		"COMMIT": "",
	} {
		assert.Equal(t, want, KeyOf(stmt), stmt)
	}
}

// TestLastPosition reads the position a leader recovered at its last start from its log, as
// its entrypoint writes it (lines from a real log, two starts), and says when there is none.
func TestLastPosition(t *testing.T) {
	log := `crossfire: starting mariadbd --wsrep-new-cluster
2026-12-06  3:02:40 0 [Note] WSREP: Found saved state: 00000000-0000-0000-0000-000000000000:-1, safe_to_bootstrap: 1
WSREP: Recovered position 7ffd44f4-f121-11f1-866a-2f0c55e78781:10
crossfire: starting mariadbd --wsrep_start_position=7ffd44f4-f121-11f1-866a-2f0c55e78781:10
2026-12-06  3:03:40 0 [ERROR] WSREP: gcs connect failed: Operation timed out
WSREP: Recovered position 7ffd44f4-f121-11f1-866a-2f0c55e78781:12
crossfire: starting mariadbd --wsrep_start_position=7ffd44f4-f121-11f1-866a-2f0c55e78781:12 --wsrep-new-cluster
`
	p, err := LastPosition(strings.NewReader(log))
	require.NoError(t, err)
	assert.Equal(t, Position{UUID: "7ffd44f4-f121-11f1-866a-2f0c55e78781", Seqno: 12}, p)
	_, err = LastPosition(strings.NewReader("crossfire: starting mariadbd --wsrep-new-cluster\n"))
	assert.ErrorContains(t, err, "no recovered position")
}
