package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/report/internal/fixture"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// pageData pulls the timeline's data back out of a page.
func pageData(t *testing.T, page string) timelineData {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script id="crossfire-data" type="application/json">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no data element in the page")
	}
	var d timelineData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("the data does not parse: %v", err)
	}
	return d
}

func TestReportIsSelfContainedAndComplete(t *testing.T) {
	dir := fixture.Run(t, 0)
	path, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		`<canvas id="timeline"`, `<canvas id="latency"`, `<canvas id="throughput"`, // timeline and plots
		`class="anomaly-link" data-ops="10,13"`, // the anomaly links to its ops
		`id="conflicts-table"`, `id="windows-table"`, `id="checkers-table"`,
		`definite nonlinearizable`, `<td>register</td>`, `<td>5</td>`, // summary: workload, seed
		`window.crossfire =`, // the script is inlined
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched from anywhere.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page refers outside itself: %s", m)
	}
	if strings.Contains(page, "<link ") || regexp.MustCompile(`<script[^>]+src=`).MatchString(page) {
		t.Error("the page loads a stylesheet or script from a file")
	}
	d := pageData(t, page)
	if len(d.Start) != 6 || len(d.Windows) != 1 || d.Windows[0].F != "partition" {
		t.Fatalf("ops %d, windows %+v", len(d.Start), d.Windows)
	}
	// Lanes grouped by leader in name order, processes in order within each.
	var order []string
	for _, l := range d.Lanes {
		order = append(order, d.Nodes[l.Node]+"/"+string(rune('0'+l.Process)))
	}
	if got := strings.Join(order, " "); got != "n1/0 n2/1 n3/2 n3/3" {
		t.Errorf("lanes %s", got)
	}
	outcomes := map[int64]int8{} // by the invoke's index
	for i := range d.Start {
		outcomes[d.Inv[i]] = d.Outcome[i]
		if d.Stop[i] < d.Start[i] {
			t.Errorf("op %d ends before it starts", i)
		}
	}
	if outcomes[0] != outcomeOK || outcomes[6] != outcomeInfo || outcomes[8] != outcomeFail || outcomes[10] != outcomeOK || outcomes[11] != outcomePending {
		t.Errorf("outcomes %v", outcomes)
	}
	if d.Keys[d.Key[3]] != fixture.HostileKey || d.Cmp[4] != 13 {
		t.Errorf("key %q, completion of the read %d", d.Keys[d.Key[3]], d.Cmp[4])
	}
	// The op that never completed is drawn to the end of the history.
	last := len(d.Start) - 1
	if d.Outcome[last] != outcomePending || d.Stop[last] != d.End || d.Cmp[last] != -1 {
		t.Errorf("pending op: outcome %d stop %d end %d", d.Outcome[last], d.Stop[last], d.End)
	}
	if d.Detail[2][0] != `"`+strings.ReplaceAll(fixture.HostileValue, `"`, `\"`)+`"` || d.Detail[2][2] != fixture.HostileError {
		t.Errorf("details of the hostile op: %q", d.Detail[2])
	}
}

// Nothing that came from the store under test reaches the page as markup: the only script
// elements are the report's own two, and the hostile strings appear only escaped.
func TestReportEscapesWhatTheStoreSaid(t *testing.T) {
	var buf bytes.Buffer
	if err := Build(&buf, fixture.Run(t, 0)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(strings.ToLower(page), "<script"); n != 2 {
		t.Errorf("%d script elements, want the report's 2", n)
	}
	for _, raw := range []string{fixture.HostileValue, fixture.HostileError, fixture.HostileKey, fixture.HostileLog, "<img", "<svg", "onerror=\"", "</script><script>"} {
		if strings.Contains(page, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	for _, escaped := range []string{
		"&lt;svg onload=&#34;window.__pwned=&#39;log&#39;&#34;&gt;&lt;/svg&gt; listening on :7000",            // the node log, as text
		"k&lt;/script&gt;&lt;script&gt;window.__pwned=&#39;key&#39;&lt;/script&gt;",                           // the key in the conflict log
		`&#34;&lt;script&gt;window.__pwned = \&#34;value\&#34;&lt;/script&gt;&#34;  (origin n1, seq 1, ts 5)`, // a logged version, as text
		`\u003cscript\u003ewindow.__pwned`, // the value in the data
	} {
		if !strings.Contains(page, escaped) {
			t.Errorf("the page lacks %q", escaped)
		}
	}
}

func TestReportWithoutResultsOrLogs(t *testing.T) {
	dir := t.TempDir()
	fixture.WriteLines(t, filepath.Join(dir, runfolder.HistoryFile), []history.Op{
		{Index: 0, Time: 10, Process: 0, Type: history.Invoke, F: "read", Key: "x", Node: "n1"},
	})
	var buf bytes.Buffer
	if err := Build(&buf, dir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"not checked", "No test.json", "No conflict logs", "No node logs", "No faults were injected"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if err := Build(&buf, t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a folder without a history: err = %v", err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, runfolder.HistoryFile), []byte("{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\nnot json\n{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Build(&buf, bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a malformed history: err = %v", err)
	}
}

// TestReportSaysNoFaultTookEffect: a run whose faults all failed says so beside the faults.
func TestReportSaysNoFaultTookEffect(t *testing.T) {
	dir := fixture.Run(t, 0)
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), map[string]any{
		"valid":   "unknown",
		"summary": checkers.Summary{Valid: checkers.True, Results: []checkers.Result{{Checker: "well-formed", Valid: checkers.True}}},
		"stats":   map[string]any{"ops": 8, "ok": 4, "fail": 1, "info": 1, "faults": 0, "no_faults": "no fault of partition took effect (1 planned)"},
	})
	var buf bytes.Buffer
	if err := Build(&buf, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no fault of partition took effect (1 planned): the verdict is unknown") {
		t.Fatal("the page does not say that no fault took effect")
	}
}

// TestReportShowsTheCosts: the latency each leader's clients saw and how much was acknowledged
// under a fault, from results.json's stats.
func TestReportShowsTheCosts(t *testing.T) {
	dir := fixture.Run(t, 0)
	costs := checkers.Costs{Leaders: []checkers.LeaderCosts{{Node: "n1", OK: 3, P50NS: 4_000_000, P99NS: 250_000_000}},
		UnderFault: checkers.Availability{Ops: 9, OK: 3}, Clear: checkers.Availability{Ops: 10, OK: 10}}
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), map[string]any{
		"valid": true, "summary": checkers.Summary{Valid: checkers.True},
		"stats": map[string]any{"ops": 19, "faults": 1, "costs": costs},
	})
	var page bytes.Buffer
	require.NoError(t, Build(&page, dir))
	for _, want := range []string{"n1: p50 4 ms, p99 250 ms", "acknowledged under a fault: 3 of 9 begun", "with none: 10 of 10 begun"} {
		assert.Contains(t, page.String(), want)
	}
	assert.NotContains(t, page.String(), "round trip")

	// The latencies of a run whose leaders were a round trip apart are read with that in view.
	fixture.WriteJSON(t, filepath.Join(dir, "test.json"), map[string]any{"name": "fixture", "db": "regionkv", "cluster": "local", "nodes": 3, "wan_rtt_ns": 8e7})
	page.Reset()
	require.NoError(t, Build(&page, dir))
	assert.Contains(t, page.String(), "local, 3 leaders, a round trip of 80ms apart (clients reach their own at once)")
}

// TestConflictTimesAreSecondsSinceTheStart: with the run's start known, the conflict log reads in
// the page's own time, not wall clocks and raw nanoseconds.
func TestConflictTimesAreSecondsSinceTheStart(t *testing.T) {
	dir := fixture.Run(t, 0)
	const start = int64(1_800_000_000_000_000_000)
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), map[string]any{
		"valid": true, "summary": checkers.Summary{Valid: checkers.True},
		"stats": map[string]any{"ops": 8, "faults": 1, "start_unix_ns": start},
	})
	rec := history.ConflictRecord{Time: start + 2_500_000_000, Node: "n1", Key: "c0", Strategy: "lww",
		Local:    []history.LoggedVersion{{Value: []byte(`1`), TS: start + 1_250_000_000, Origin: "n1", Seq: 1}},
		Incoming: history.LoggedVersion{Value: []byte(`2`), TS: start + 2_000_000_000, Origin: "n3", Seq: 1},
		Winner:   history.LoggedVersion{Value: []byte(`2`), TS: start + 2_000_000_000, Origin: "n3", Seq: 1}}
	var b bytes.Buffer
	require.NoError(t, history.WriteConflicts(&b, []history.ConflictRecord{rec}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, runfolder.ConflictsFile), b.Bytes(), 0o644))
	var page bytes.Buffer
	require.NoError(t, Build(&page, dir))
	for _, want := range []string{"<td>2.500s</td>", "ts 1.250s", "ts 2.000s"} {
		assert.Contains(t, page.String(), want)
	}
	assert.NotContains(t, page.String(), fmt.Sprint(start+1_250_000_000))
}

func TestStatsReadAsWords(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"quiesce_ns", float64(7627051636), "quiesce 7.6 s"},
		{"quiesce_ns", float64(430 * time.Millisecond), "quiesce 430 ms"},
		{"final_reads", float64(12), "final reads 12"},
		{"final_rule", "meta.final", "final rule meta.final"},
		{"replication_caught_up", true, "replication caught up true"},
	} {
		if got := Stat(c.name, c.v); got != c.want {
			t.Errorf("Stat(%s, %v) = %q, want %q", c.name, c.v, got, c.want)
		}
	}
}

// TestReportDrawsCycles: an anomaly that is a dependency cycle is drawn, its transactions on a
// circle and an arrow per edge labelled with its kind and key, the reasons beside it, escaped.
func TestReportDrawsCycles(t *testing.T) {
	dir := fixture.Run(t, 0)
	cycle := []checkers.CycleStep{
		{From: 0, To: 2, Kind: "wr", Key: "y", Why: "T2 read y = 1, which T0 wrote <script>x</script>"},
		{From: 2, To: 0, Kind: "wr", Key: "x", Why: "T0 read x = 1, which T2 wrote"},
	}
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), map[string]any{
		"valid": false,
		"summary": checkers.Summary{Valid: checkers.False, Results: []checkers.Result{{Checker: checkers.IsolationName, Valid: checkers.False,
			Anomalies: []checkers.Anomaly{{Kind: "G1c", Ops: []int64{1, 3}, Definite: true, Description: "a cycle", Cycle: cycle}}}}},
	})
	var buf bytes.Buffer
	if err := Build(&buf, dir); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, `<svg class="cycle"`); n != 1 {
		t.Fatalf("%d cycles drawn, want 1", n)
	}
	if n := strings.Count(page, `class="edge edge-wr"`); n != 2 {
		t.Errorf("%d wr edges drawn, want 2", n)
	}
	for _, want := range []string{">T0</text>", ">T2</text>", ">wr y</text>", ">wr x</text>", "which T0 wrote &lt;script&gt;x&lt;/script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>x</script>") {
		t.Error("a reason reached the page unescaped")
	}
}

// TestReportShowsWhatTheEngineLogged: an anomaly's lines from the leaders' logs are on the page,
// escaped.
func TestReportShowsWhatTheEngineLogged(t *testing.T) {
	dir := fixture.Run(t, 0)
	engine := []string{`buy "r<b>1" (op 1 at n1, fail): transaction 100-1-7 (stock+orders) in the logs of n1,n2; it committed, though its client was told it failed`}
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), map[string]any{
		"valid": false,
		"summary": checkers.Summary{Valid: checkers.False, Results: []checkers.Result{{Checker: checkers.OversellName, Valid: checkers.False,
			Anomalies: []checkers.Anomaly{{Kind: "half-applied-sale", Ops: []int64{1}, Definite: true, Description: "a sale", Engine: engine}}}}},
	})
	var buf bytes.Buffer
	if err := Build(&buf, dir); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.Contains(page, `<li>engine: buy &#34;r&lt;b&gt;1&#34; (op 1 at n1, fail): transaction 100-1-7 (stock&#43;orders)`) {
		t.Errorf("the page lacks the engine's line, escaped:\n%s", page[strings.Index(page, `id="anomalies"`):][:1500])
	}
}
