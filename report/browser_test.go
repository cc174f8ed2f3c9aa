package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/report/internal/fixture"
	"github.com/crossfire-dev/crossfire/report/reporttest"
	"github.com/crossfire-dev/crossfire/runfolder"
)

func TestReportInChromium(t *testing.T) {
	ctx := reporttest.Browser(t)
	dir := fixture.Run(t, 300)
	path, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := reporttest.Open(ctx, path); err != nil {
		t.Fatal(err)
	}

	// The timeline, its bands and the plots are there.
	type pageState struct {
		Drawn      int    `json:"drawn"`
		Windows    int    `json:"windows"`
		Lanes      int    `json:"lanes"`
		Latency    string `json:"latency"`
		Throughput string `json:"throughput"`
		Band       []int  `json:"band"`
	}
	state := reporttest.Eval[pageState](t, ctx, `(function () {
		var c = document.getElementById("timeline"), w = crossfire.data.windows[0], S = crossfire.state;
		var x = 96 + ((w.s + w.e) / 2 - S.t0) / (S.t1 - S.t0) * (S.width - 96), dpr = window.devicePixelRatio || 1;
		var px = c.getContext("2d").getImageData(Math.round(x * dpr), Math.round(35 * dpr), 1, 1).data;
		return { drawn: +c.dataset.drawn, windows: crossfire.data.windows.length, lanes: crossfire.data.lanes.length,
			latency: document.getElementById("latency").dataset.ready, throughput: document.getElementById("throughput").dataset.ready,
			band: [px[0], px[1], px[2]] };
	})()`)
	if state.Drawn < 100 || state.Windows != 1 || state.Lanes < 30 || state.Latency != "1" || state.Throughput != "1" {
		t.Fatalf("page state %+v", state)
	}
	if r, g, b := state.Band[0], state.Band[1], state.Band[2]; !(b > r+40 && b > g+20) {
		t.Errorf("no partition band where the window is: pixel %v", state.Band)
	}

	// Zoom with the wheel and pan by dragging.
	span := reporttest.Eval[[]float64](t, ctx, `(function () {
		var c = document.getElementById("timeline"), r = c.getBoundingClientRect(), before = crossfire.state.t1 - crossfire.state.t0;
		c.dispatchEvent(new WheelEvent("wheel", { deltaY: -600, clientX: r.left + r.width / 2, clientY: r.top + 60, bubbles: true, cancelable: true }));
		return [before, crossfire.state.t1 - crossfire.state.t0];
	})()`)
	if !(span[1] < span[0]/2) {
		t.Errorf("the wheel did not zoom in: span %v → %v", span[0], span[1])
	}
	before := reporttest.Eval[float64](t, ctx, `crossfire.state.t0`)
	box := reporttest.Eval[[]float64](t, ctx, `(function () { var r = document.getElementById("timeline").getBoundingClientRect(); return [r.left, r.top]; })()`)
	if err := chromedp.Do(ctx,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, box[0]+700, box[1]+80, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+500, box[1]+80, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, box[0]+500, box[1]+80, chromedp.ButtonLeft),
	); err != nil {
		t.Fatal(err)
	}
	if after := reporttest.Eval[float64](t, ctx, `crossfire.state.t0`); !(after > before) {
		t.Errorf("dragging left did not move the view later: t0 %v → %v", before, after)
	}

	// Clicking the anomaly brings its op into view and highlights it.
	type selection struct {
		Selected string `json:"selected"`
		Listed   string `json:"listed"`
		InView   bool   `json:"inView"`
		Dark     int    `json:"dark"`
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".anomaly-link")),
		// The canvas is redrawn at the next animation frame.
		chromedp.Poll[chromedp.Void](`document.getElementById("timeline").dataset.selected !== ""`, chromedp.WithPollingTimeout(10*time.Second)),
	); err != nil {
		t.Fatal(err)
	}
	sel := reporttest.Eval[selection](t, ctx, `(function () {
		var c = document.getElementById("timeline"), D = crossfire.data, S = crossfire.state, op = crossfire.byIndex.get(10);
		var p = crossfire.pointOf(10), dpr = window.devicePixelRatio || 1, g = c.getContext("2d"), dark = 0;
		for (var y = p.y - 9; y <= p.y + 9; y++) {
			var d = g.getImageData(Math.round(p.x * dpr), Math.round(y * dpr), 1, 1).data;
			if (d[0] < 40 && d[1] < 60 && d[2] < 110) dark++;
		}
		return { selected: c.dataset.selected, listed: document.getElementById("selection").textContent,
			inView: S.t0 <= D.start[op] && D.stop[op] <= S.t1 && p.y > 34 && p.y < S.height, dark: dark };
	})()`)
	if sel.Selected != "10" || !sel.InView || !strings.Contains(sel.Listed, "#10 → #13") {
		t.Errorf("after clicking the anomaly: %+v", sel)
	}
	if sel.Dark == 0 {
		t.Error("the anomaly's op is not outlined on the canvas")
	}

	// A hostile value shows as text and runs nothing, even when hovered.
	type point struct {
		X float64 `json:"x"`
		Y float64 `json:"y"`
	}
	p := reporttest.Eval[point](t, ctx, `(function () {
		crossfire.select([crossfire.byIndex.get(6)], true);
		var r = document.getElementById("timeline").getBoundingClientRect(), p = crossfire.pointOf(6);
		return { x: r.left + p.x, y: r.top + p.y }; // in the viewport, where the mouse moves
	})()`)
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p.X, p.Y)); err != nil {
		t.Fatal(err)
	}
	type hostileView struct {
		Pwned   bool   `json:"pwned"`
		Tooltip string `json:"tooltip"`
		Log     string `json:"log"`
		Desc    string `json:"desc"`
	}
	hostile := reporttest.Eval[hostileView](t, ctx, `({ pwned: window.__pwned !== undefined, tooltip: document.getElementById("tooltip").textContent,
		log: document.querySelector("pre.log").textContent, desc: document.querySelector("#anomalies .desc").textContent })`)
	if hostile.Pwned {
		t.Fatal("a value from the store ran as script")
	}
	if !strings.Contains(hostile.Tooltip, "error: "+fixture.HostileError) || !strings.Contains(hostile.Log, fixture.HostileLog) || !strings.Contains(hostile.Desc, fixture.HostileValue) {
		t.Errorf("hostile strings are not shown as text: %+v", hostile)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.ArtifactDir(), "report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes; kept with go test -artifacts)", shot, len(png))
}

// A report of 100,000 operations opens and draws: only what is in view is painted, and merged
// bars keep the count of rectangles down. (How fast: BenchmarkReportOpen100k.)
func TestReport100kOpensInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := reporttest.Browser(t)
	dir := fixture.Run(t, 100_000)
	path, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := reporttest.Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	type counts struct {
		Ops   int `json:"ops"`
		Drawn int `json:"drawn"`
	}
	got := reporttest.Eval[counts](t, ctx, `({ ops: crossfire.data.start.length, drawn: +document.getElementById("timeline").dataset.drawn })`)
	if got.Ops != 100_006 || got.Drawn == 0 || got.Drawn >= got.Ops {
		t.Fatalf("ops %d, bars drawn %d", got.Ops, got.Drawn)
	}
}

// cartRun writes a cart run folder: clients that retried at another leader, a partition and a
// kill that overlap, and results.json with lost adds of two causes and a resurrection.
func cartRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var ops []history.Op
	at := int64(0)
	add := func(op history.Op) {
		at += 20_000_000 // 20 ms apart
		op.Index, op.Time = int64(len(ops)), at
		ops = append(ops, op)
	}
	nodes := []string{"n1", "n2", "n3"}
	for i := 0; i < 60; i++ {
		p := i % 6
		node := nodes[p%3]
		if p == 0 && i >= 30 {
			node = "n2" // process 0 retried at n2 from the middle of the run on
		}
		switch i {
		case 10:
			add(history.Op{Process: -1, Type: history.Invoke, F: "partition", Value: json.RawMessage(`{"shape":"one-way","cut":["n3->n1"]}`)})
			add(history.Op{Process: -1, Type: history.Info, F: "partition", Value: json.RawMessage(`{"shape":"one-way","cut":["n3->n1"]}`)})
		case 20:
			add(history.Op{Process: -1, Type: history.Invoke, F: "kill", Value: json.RawMessage(`{"node":"n2"}`)})
			add(history.Op{Process: -1, Type: history.Info, F: "kill", Value: json.RawMessage(`{"node":"n2"}`)})
		case 35:
			add(history.Op{Process: -1, Type: history.Invoke, F: "heal"})
			add(history.Op{Process: -1, Type: history.Info, F: "heal"})
		case 45:
			add(history.Op{Process: -1, Type: history.Invoke, F: "restart", Value: json.RawMessage(`{"node":"n2"}`)})
			add(history.Op{Process: -1, Type: history.Info, F: "restart", Value: json.RawMessage(`{"node":"n2"}`)})
		}
		item := history.Value(fmt.Sprintf("i%d", i))
		add(history.Op{Process: p, Type: history.Invoke, F: "add", Key: "c0", Value: item, Node: node})
		add(history.Op{Process: p, Type: history.OK, F: "add", Key: "c0", Node: node})
	}
	fixture.WriteLines(t, filepath.Join(dir, runfolder.HistoryFile), ops)
	lost := func(i int, cause string) checkers.Anomaly {
		return checkers.Anomaly{Kind: "lost-add", Key: "c0", Item: fmt.Sprintf("i%d", i), Ops: []int64{int64(2 * i)}, Definite: true, Cause: cause,
			Description: fmt.Sprintf("c0: the add of i%d was acknowledged, and n1 no longer shows it", i)}
	}
	res := map[string]any{
		"valid": false,
		"summary": checkers.Summary{Valid: checkers.False, Results: []checkers.Result{{Checker: checkers.CartName, Valid: checkers.False,
			Anomalies: []checkers.Anomaly{lost(1, "lww"), lost(2, checkers.CauseClockSkew), lost(3, checkers.CauseClockSkew), lost(4, "lww"), lost(5, checkers.CauseClockSkew),
				{Kind: "resurrected", Key: "c0", Item: "i7", Ops: []int64{14}, Definite: true, Cause: checkers.CauseMergeRule, Description: "c0: i7 was removed and n2 shows it again"}}}}},
		"stats": map[string]any{"ops": 60, "ok": 60, "faults": 2},
	}
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), res)
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.TestFile), map[string]any{"name": "cart-lww-partition+kill", "db": "regionkv", "workload": "cart",
		"nemeses": []string{"partition", "kill"}, "cluster": "local", "nodes": 3})
	return dir
}

// TestReportLanesLegendAndAnomalyGroups: a client's ops are drawn under the leader that served
// each (a retry at another leader gets a lane there), overlapping faults have a legend and stripes
// of their own with short labels, and anomalies come grouped by kind and cause with a filter.
func TestReportLanesLegendAndAnomalyGroups(t *testing.T) {
	ctx := reporttest.Browser(t)
	path, err := Write(cartRun(t))
	require.NoError(t, err)
	require.NoError(t, reporttest.Open(ctx, path))

	type page struct {
		Lanes      [][2]int `json:"lanes"`
		OpsAtN2    int      `json:"opsAtN2"`
		Misplaced  int      `json:"misplaced"`
		Legend     string   `json:"legend"`
		Swatches   int      `json:"swatches"`
		Label      string   `json:"label"`
		Groups     []string `json:"groups"`
		Stripes    []bool   `json:"stripes"`
		LaneOfLate string   `json:"laneOfLate"`
	}
	got := reporttest.Eval[page](t, ctx, `(function () {
		var D = crossfire.data, misplaced = 0, atN2 = 0, n2 = D.nodes.indexOf("n2");
		for (var i = 0; i < D.start.length; i++) {
			if (D.lanes[D.lane[i]].n !== D.node[i]) misplaced++;
			if (D.lanes[D.lane[i]].p === 0 && D.node[i] === n2) atN2++;
		}
		var w = D.windows.filter(function (w) { return w.f === "partition"; })[0];
		// The stripes: the partition's row and the kill's row, both painted where they overlap.
		var c = document.getElementById("timeline"), S = crossfire.state, dpr = window.devicePixelRatio || 1, g = c.getContext("2d");
		var k = D.windows.filter(function (w) { return w.f === "kill"; })[0], t = (Math.max(w.s, k.s) + Math.min(w.e, k.e)) / 2;
		var x = 96 + (t - S.t0) / (S.t1 - S.t0) * (S.width - 96);
		var stripe = function (row) { var d = g.getImageData(Math.round(x * dpr), Math.round((34 + 4 * row + 1) * dpr), 1, 1).data; return d[0] + d[1] + d[2] < 600; };
		return { lanes: D.lanes.map(function (l) { return [l.p, l.n]; }), opsAtN2: atN2, misplaced: misplaced,
			legend: document.getElementById("fault-legend").textContent, swatches: document.querySelectorAll("#fault-legend .sw").length,
			label: crossfire.shortLabel(w),
			groups: Array.prototype.map.call(document.querySelectorAll("#anomalies details.group > summary"), function (s) { return s.textContent.replace(/\s+/g, " ").trim(); }),
			stripes: [stripe(crossfire.kinds.indexOf("partition")), stripe(crossfire.kinds.indexOf("kill"))] };
	})()`)
	assert.Zero(t, got.Misplaced, "ops drawn under a leader that did not serve them")
	assert.Equal(t, 5, got.OpsAtN2, "process 0's ops at n2")
	lanesOf0 := 0
	for _, l := range got.Lanes {
		if l[0] == 0 {
			lanesOf0++
		}
	}
	assert.Equal(t, 2, lanesOf0, "process 0 worked at n1 and n2: a lane under each")
	assert.Equal(t, "partitionkill", got.Legend)
	assert.Equal(t, 2, got.Swatches)
	assert.Equal(t, "one-way n3->n1", got.Label)
	assert.Equal(t, []bool{true, true}, got.Stripes, "overlapping faults each have their stripe")
	require.Len(t, got.Groups, 3)
	assert.Equal(t, "3 definite lost-add, put down to clock-skew cart", got.Groups[0])
	assert.Equal(t, "2 definite lost-add, put down to lww cart", got.Groups[1])
	assert.Equal(t, "1 definite resurrected, put down to merge-rule cart", got.Groups[2])

	// The filter keeps what matches and hides groups left empty.
	typeFilter := func(text string) {
		reporttest.Eval[bool](t, ctx, `(function () { var f = document.getElementById("anomaly-filter"); f.focus(); f.value = `+strconv.Quote(text)+`;
			f.dispatchEvent(new Event("input", { bubbles: true })); return true; })()`)
	}
	typeFilter("i3")
	type filtered struct {
		Visible []string `json:"visible"`
		Groups  int      `json:"groups"`
		Count   string   `json:"count"`
	}
	f := reporttest.Eval[filtered](t, ctx, `({
		visible: Array.prototype.filter.call(document.querySelectorAll("#anomalies li.anomaly"), function (li) { return !li.hidden && !li.closest("details").hidden; })
			.map(function (li) { return li.querySelector(".desc").textContent; }),
		groups: Array.prototype.filter.call(document.querySelectorAll("#anomalies details.group"), function (g) { return !g.hidden; }).length,
		count: document.getElementById("anomaly-count").textContent })`)
	assert.Equal(t, []string{"c0: the add of i3 was acknowledged, and n1 no longer shows it"}, f.Visible)
	assert.Equal(t, 1, f.Groups)
	assert.Equal(t, "1 of 6 listed anomalies match, in 1 groups", f.Count)

	typeFilter("skew")
	assert.Equal(t, 3, reporttest.Eval[int](t, ctx, `Array.prototype.filter.call(document.querySelectorAll("#anomalies li.anomaly"), function (li) { return !li.hidden; }).length`))

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	shot := filepath.Join(t.ArtifactDir(), "report-groups.png")
	require.NoError(t, os.WriteFile(shot, png, 0o644))
	t.Logf("screenshot: %s", shot)
}

// TestEveryRunShapeOpens opens the report of every shape a run folder takes (faults and
// anomalies, no fault at all, no anomaly, no conflict log, no results, an empty history) and
// fails on any error the page reports, or a timeline with ops that draws none.
func TestEveryRunShapeOpens(t *testing.T) {
	ctx := reporttest.Browser(t)
	noFault := func(t *testing.T, dir string) {
		path := filepath.Join(dir, runfolder.HistoryFile)
		f, err := os.Open(path)
		require.NoError(t, err)
		r := history.NewReader(f)
		var ops []history.Op
		for {
			op, err := r.Next()
			if err != nil {
				break
			}
			if !op.IsNemesis() {
				op.Index = int64(len(ops))
				ops = append(ops, op)
			}
		}
		f.Close()
		fixture.WriteLines(t, path, ops)
		validResults(t, dir)
	}
	shapes := []struct {
		name    string
		shape   func(t *testing.T, dir string)
		windows int
		ops     bool
	}{
		{"faults and an anomaly", func(*testing.T, string) {}, 1, true},
		{"no fault", noFault, 0, true},
		{"no fault, no conflict log, no node log", func(t *testing.T, dir string) {
			noFault(t, dir)
			require.NoError(t, os.Remove(filepath.Join(dir, runfolder.ConflictsFile)))
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "nodes")))
		}, 0, true},
		{"no anomaly", func(t *testing.T, dir string) { validResults(t, dir) }, 1, true},
		{"no results", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, runfolder.ResultsFile)))
		}, 1, true},
		{"empty history", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, runfolder.HistoryFile), nil, 0o644))
			validResults(t, dir)
		}, 0, false},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			dir := fixture.Run(t, 40)
			sh.shape(t, dir)
			path, err := Write(dir)
			require.NoError(t, err)
			require.NoError(t, reporttest.Open(ctx, path))
			type drawn struct {
				Drawn   int `json:"drawn"`
				Windows int `json:"windows"`
				Ops     int `json:"ops"`
			}
			d := reporttest.Eval[drawn](t, ctx, `({ drawn: +document.getElementById("timeline").dataset.drawn,
				windows: crossfire.data.windows.length, ops: crossfire.data.start.length })`)
			assert.Equal(t, sh.windows, d.Windows, "fault windows")
			if sh.ops && (d.Ops == 0 || d.Drawn == 0) {
				t.Errorf("the timeline of %d ops drew %d bars", d.Ops, d.Drawn)
			}
		})
	}
}

// validResults writes a results.json that found nothing wrong.
func validResults(t *testing.T, dir string) {
	fixture.WriteJSON(t, filepath.Join(dir, runfolder.ResultsFile), map[string]any{
		"valid": true,
		"summary": checkers.Summary{Valid: checkers.True, Results: []checkers.Result{
			{Checker: checkers.LinearizableName, Valid: checkers.True}, {Checker: "well-formed", Valid: checkers.True}}},
		"stats": map[string]any{"ops": 8, "ok": 4, "fail": 1, "info": 1, "faults": 0},
	})
}
