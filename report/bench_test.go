package report

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/report/internal/fixture"
	"github.com/crossfire-dev/crossfire/report/reporttest"
)

// BenchmarkReportWrite100k measures writing report.html for a run of 100,000 operations: reading
// the history, pairing the ops, and writing the page with its data.
//
//	go test ./report/ -run '^$' -bench ReportWrite100k -benchtime 5x -count 3 -benchmem
func BenchmarkReportWrite100k(b *testing.B) {
	dir := fixture.Run(b, 100_000)
	var size int64
	for b.Loop() {
		path, err := Write(dir)
		if err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(size)/1e6, "MB/page")
}

// BenchmarkBuild100k is the same without the file: the page to io.Discard.
func BenchmarkBuild100k(b *testing.B) {
	dir := fixture.Run(b, 100_000)
	for b.Loop() {
		if err := Build(io.Discard, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReportOpen100k opens a 100,000-operation report from disk in headless Chromium and
// reports how long the page takes until it has drawn everything (parse, lanes, timeline, plots),
// and how long one full redraw of the timeline and both plots takes, zoomed out (every op in
// view) and zoomed in to a tenth of the run. Skipped without Chromium.
//
//	go test ./report/ -run '^$' -bench ReportOpen100k -benchtime 3x -count 3
func BenchmarkReportOpen100k(b *testing.B) {
	ctx := reporttest.Browser(b)
	path, err := Write(fixture.Run(b, 100_000))
	if err != nil {
		b.Fatal(err)
	}
	var opening, redrawAll, redrawTenth time.Duration
	for b.Loop() {
		start := time.Now()
		if err := reporttest.Open(ctx, path); err != nil {
			b.Fatal(err)
		}
		opening += time.Since(start)
		ms := reporttest.Eval[[]float64](b, ctx, `(function () {
			var S = crossfire.state, end = crossfire.data.end, t = performance.now();
			for (var i = 0; i < 10; i++) { S.t0 = 0; S.t1 = end; crossfire.drawNow(); }
			var all = (performance.now() - t) / 10;
			t = performance.now();
			for (i = 0; i < 10; i++) { S.t0 = end * 0.45; S.t1 = end * 0.55; crossfire.drawNow(); }
			return [all, (performance.now() - t) / 10];
		})()`)
		redrawAll += time.Duration(ms[0] * float64(time.Millisecond))
		redrawTenth += time.Duration(ms[1] * float64(time.Millisecond))
	}
	n := float64(b.N)
	b.ReportMetric(float64(opening.Milliseconds())/n, "ms-to-drawn")
	b.ReportMetric(float64(redrawAll.Microseconds())/1000/n, "ms/redraw-all")
	b.ReportMetric(float64(redrawTenth.Microseconds())/1000/n, "ms/redraw-tenth")
	b.ReportMetric(0, "ns/op")
}
