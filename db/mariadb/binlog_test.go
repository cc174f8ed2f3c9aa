package mariadb

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/history"
)

// testdata/binlog.txt is part of a Galera leader's binary log as mariadb-binlog decodes it
// (--base64-output=DECODE-ROWS --verbose): a DDL, then two purchases of the read-modify-write
// flash sale, each a stock update and an order insert.
func TestReadBinlog(t *testing.T) {
	f, err := os.Open("testdata/binlog.txt")
	require.NoError(t, err)
	defer f.Close()
	commits, err := ReadBinlog(f, "n2")
	require.NoError(t, err)
	require.Len(t, commits, 3)
	assert.Equal(t, history.Commit{Node: "n2", GTID: "100-1-1", ServerID: 1}, commits[0])
	c := commits[1]
	assert.Equal(t, "100-1-30", c.GTID)
	require.Len(t, c.Rows, 2)
	stock, order := c.Rows[0], c.Rows[1]
	assert.Equal(t, "stock", stock.Table)
	assert.Equal(t, "update", stock.Kind)
	assert.Equal(t, []string{"s1", "12"}, stock.Before[:2])
	assert.Equal(t, []string{"s1", "11"}, stock.After[:2])
	assert.Contains(t, stock.After[2], "n2/a787b1d16661c073/-1;")
	assert.NotContains(t, stock.Before[2], "a787b1d16661c073")
	assert.Equal(t, history.RowChange{Table: "orders", Kind: "insert", After: []string{"35", "n2", "s1", "1", "a787b1d16661c073"}}, order)
	assert.Equal(t, []string{"stock", "orders"}, c.Tables())
	assert.Equal(t, "100-1-31", commits[2].GTID)
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{`'a\'b'`: "a'b", `'x\\y'`: `x\y`, "12": "12", "NULL": "NULL", `''`: "", `'line\nnext'`: "line\nnext"} {
		assert.Equal(t, want, unquote(in), in)
	}
}
