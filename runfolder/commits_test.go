package runfolder

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

func TestExplainCommitsSaysWhatEachLeaderLogged(t *testing.T) {
	dir := t.TempDir()
	hist := `{"index":0,"time":0,"process":0,"type":"invoke","f":"restock","key":"s1","value":2,"node":"n1","req":"restock-1"}
{"index":1,"time":1,"process":0,"type":"ok","f":"restock","key":"s1","node":"n1","req":"restock-1"}
{"index":2,"time":2,"process":1,"type":"invoke","f":"buy","key":"s1","value":1,"node":"n1","req":"abc12345"}
{"index":3,"time":3,"process":1,"type":"fail","f":"buy","key":"s1","node":"n1","req":"abc12345","error":"1047"}
{"index":4,"time":4,"process":2,"type":"invoke","f":"buy","key":"s1","value":1,"node":"n2","req":"def12345"}
{"index":5,"time":5,"process":2,"type":"ok","f":"buy","key":"s1","value":"n2-7","node":"n2","req":"def12345"}
{"index":6,"time":6,"process":3,"type":"invoke","f":"buy","key":"s1","value":1,"node":"n2","req":"restock-1"}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, HistoryFile), []byte(hist), 0o644))
	stock := func(before, after string) history.RowChange {
		return history.RowChange{Table: "stock", Kind: "update", Before: []string{"s1", "1", before}, After: []string{"s1", "0", after}}
	}
	restock := history.Commit{GTID: "100-1-1", Rows: []history.RowChange{{Table: "stock", Kind: "insert", After: []string{"s1", "2", "n1/restock-1/2;"}}}}
	// A later change of the row holds restock-1 too, before and after: it did not write it. Nor
	// does restock-10 name restock-1.
	abcStock := stock("n1/restock-1/2;", "n1/restock-1/2;n1/abc12345/-1;")
	abc := history.Commit{GTID: "100-1-2", Rows: []history.RowChange{abcStock, {Table: "orders", Kind: "insert", After: []string{"6", "n1", "s1", "1", "abc12345"}}}}
	abcStockOnly := history.Commit{GTID: "100-1-2", Rows: []history.RowChange{abcStock}}
	def := history.Commit{GTID: "100-1-3", Rows: []history.RowChange{stock("n1/restock-1/2;n1/abc12345/-1;", "n1/restock-1/2;n1/abc12345/-1;n2/def12345/-1;n1/restock-10/5;"),
		{Table: "orders", Kind: "insert", After: []string{"7", "n2", "s1", "1", "def12345"}}}}
	logs := map[string][]history.Commit{"n1": {restock, abc, def}, "n2": {restock, abcStockOnly, def}, "n3": {restock}}
	for node, cs := range logs {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, NodesDir, node), 0o755))
		for i := range cs {
			cs[i].Node = node
		}
		require.NoError(t, history.WriteCommits(filepath.Join(dir, NodesDir, node, history.CommitsFile), cs))
	}
	s := checkers.Summary{Results: []checkers.Result{{Checker: "oversell", Anomalies: []checkers.Anomaly{{Kind: "half-applied-sale", Ops: []int64{1, 2, 5, 3}}}}}}
	require.NoError(t, ExplainCommits(dir, filepath.Join(dir, HistoryFile), &s))
	assert.Equal(t, []string{
		`restock "restock-1" (op 0 at n1, ok): transaction 100-1-1 (stock) in the logs of n1,n2,n3`,
		`buy "abc12345" (op 2 at n1, fail): transaction 100-1-2 wrote different tables at different leaders: stock at n2; stock+orders at n1, not of n3; it committed, though its client was told it failed`,
		`buy "def12345" (op 4 at n2, ok): transaction 100-1-3 (stock+orders) in the logs of n1,n2, not of n3`,
	}, s.Results[0].Anomalies[0].Engine)

	// An operation no log holds says so; a folder without logs changes nothing.
	s = checkers.Summary{Results: []checkers.Result{{Anomalies: []checkers.Anomaly{{Ops: []int64{6}}}}}}
	require.NoError(t, ExplainCommits(dir, filepath.Join(dir, HistoryFile), &s))
	assert.Equal(t, []string{`buy "restock-1" (op 6 at n2): transaction 100-1-1 (stock) in the logs of n1,n2,n3`}, s.Results[0].Anomalies[0].Engine)
	bare := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bare, HistoryFile), []byte(hist), 0o644))
	s = checkers.Summary{Results: []checkers.Result{{Anomalies: []checkers.Anomaly{{Ops: []int64{2}}}}}}
	require.NoError(t, ExplainCommits(bare, filepath.Join(bare, HistoryFile), &s))
	assert.Nil(t, s.Results[0].Anomalies[0].Engine)
}

func TestContainsWord(t *testing.T) {
	assert.True(t, containsWord("n1/restock-1/2;", "restock-1"))
	assert.False(t, containsWord("n1/restock-10/2;", "restock-1"))
	assert.True(t, containsWord("n1/restock-10/2;n1/restock-1/3;", "restock-1"))
	assert.False(t, containsWord("xabc12345", "abc12345"))
}
