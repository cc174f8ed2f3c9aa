// Package report writes report.html, the page an engineer opens first when a check fails: what
// the test was and what every checker said, a timeline of every operation (one lane per client
// process, grouped by leader, bars from invoke to completion coloured by outcome, the nemesis
// windows as bands across all lanes), the anomalies linked to their operations, latency and
// throughput per leader over time, the conflict log and the node logs.
//
// The page is one self-contained file: its script and style are embedded with go:embed and
// inlined, and it loads nothing from the network, so it opens from disk. The timeline draws on a
// canvas and only what is in view, so a history of 100,000 operations stays responsive.
//
// Everything that came from the system under test (values, errors, node logs, keys) is escaped:
// the server-rendered parts go through html/template, the data for the script is JSON with <, >
// and & escaped inside a non-executable script element, and the script writes it as text only.
package report

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// File is the report's name in a run folder.
const File = runfolder.ReportFile

// Limits on what the page carries, so that it stays quick to open.
const (
	maxDetail    = 240  // characters of an op's value, result, error or meta shown on hover
	maxConflicts = 2000 // conflict log entries listed (the count says how many there were)
	maxLogLines  = 200  // last lines of each node log
	maxAnomalies = 500  // anomalies listed per checker
)

//go:embed assets/report.js
var script string

//go:embed assets/report.css
var style string

//go:embed assets/report.html.tmpl
var pageSource string

// page is the parsed template, parsed on first use: a process that never writes a report (crossfire
// check) does not pay for it at start-up.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"dur": func(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() },
		// cycle draws a dependency cycle's transactions and edges.
		"cycle": cycleSVG,
		// stat shows a checker's stat: whole numbers without an exponent.
		"stat": Stat,
		// ns shows a duration that came through JSON as a number of nanoseconds.
		"ns": func(v any) string {
			if f, ok := v.(float64); ok {
				return Duration(time.Duration(f))
			}
			return fmt.Sprint(v)
		},
	}).Parse(pageSource))
})

// Stat shows one of a checker's stats as a person reads it: its name in words and its value, a
// number of nanoseconds (a name ending in _ns) as a duration: "quiesce 7.6 s", "final reads 12".
func Stat(name string, v any) string {
	f, isNumber := v.(float64)
	if n, ok := v.(int64); ok {
		f, isNumber = float64(n), true
	}
	if n, ok := v.(int); ok {
		f, isNumber = float64(n), true
	}
	words := strings.ReplaceAll(strings.TrimSuffix(name, "_ns"), "_", " ")
	switch {
	case isNumber && strings.HasSuffix(name, "_ns"):
		return words + " " + Duration(time.Duration(f))
	case isNumber && f == float64(int64(f)):
		return fmt.Sprintf("%s %d", words, int64(f))
	}
	return fmt.Sprintf("%s %v", words, v)
}

// Duration is a duration as the report and the CLI show it: "430 ms", "7.6 s", "95 s".
func Duration(d time.Duration) string {
	switch {
	case d < time.Millisecond && d > -time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second && d > -time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 100*time.Second && d > -100*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// Write builds the report of the run folder dir and writes it to dir/report.html (through a
// temporary file, so a reader never sees half a page). It returns the report's path.
func Write(dir string) (string, error) {
	path := filepath.Join(dir, File)
	tmp, err := os.CreateTemp(dir, ".report-*.html")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := Build(w, dir); err != nil {
		tmp.Close()
		return "", err
	}
	if err := errors.Join(w.Flush(), tmp.Chmod(0o644), tmp.Close()); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// Build writes the report of the run folder dir to w. A run folder needs its history; test.json,
// results.json, the conflict logs and the node logs are shown when they are there (a run killed
// before its check has no results).
func Build(w io.Writer, dir string) error {
	v, err := load(dir)
	if err != nil {
		return err
	}
	return page().Execute(w, v)
}

// view is what the page template renders.
type view struct {
	Title     string
	Test      TestInfo
	HasTest   bool
	HasResult bool
	Valid     string
	Stats     map[string]any
	Results   []checkerView
	Windows   []checkers.Window
	Conflicts conflictsView
	Logs      []nodeLog
	Porcupine string // the linearizability visualization's file name, if there is one
	Files     []string
	Ops       int
	Anomalies int // how many in all
	Groups    []anomalyGroup
	Truncated bool
	Generated string
	Script    template.JS
	Style     template.CSS
	Data      template.HTML // <script type="application/json"> holding the timeline's data
}

// TestInfo is what the report and the store's listing read of a run's test.json.
type TestInfo struct {
	Name          string            `json:"name"`
	DB            string            `json:"db"`
	Workload      string            `json:"workload"`
	Options       map[string]string `json:"options"`
	Nemeses       []string          `json:"nemeses"`
	Cluster       string            `json:"cluster"`
	Nodes         int               `json:"nodes"`
	Seed          uint64            `json:"seed"`
	Duration      int64             `json:"duration_ns"`
	Rate          float64           `json:"rate"`
	Concurrency   int               `json:"concurrency"`
	Interval      int64             `json:"interval_ns"`
	FaultDuration int64             `json:"fault_duration_ns"`
	WAN           int64             `json:"wan_rtt_ns,omitempty"` // the round trip between leaders, 0 for none
	Schedule      []any             `json:"schedule"`
}

// Strategies says which database the test ran against, with its options.
func (t TestInfo) Strategies() string {
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if t.Options[k] != "" {
			parts = append(parts, k+" "+t.Options[k])
		}
	}
	s := strings.Join(parts, ", ")
	if t.DB != "" {
		s = strings.TrimSuffix(t.DB+": "+s, ": ")
	}
	return s
}

type results struct {
	Summary checkers.Summary `json:"summary"`
	Stats   map[string]any   `json:"stats"`
}

type checkerView struct {
	checkers.Result
	Shown []anomalyView
	More  int
}

// anomalyGroup is the anomalies of one checker of one kind, cause and certainty: a cart run's 142
// lost adds read as "91 put down to clock skew, 51 to last-writer-wins", not as a list.
type anomalyGroup struct {
	Checker, Kind, Cause string
	Definite             bool
	Count                int
	Shown                []anomalyView
	ID                   string
}

// More is how many of the group's anomalies the page leaves to results.json.
func (g anomalyGroup) More() int { return g.Count - len(g.Shown) }

type anomalyView struct {
	checkers.Anomaly
	ID     string // the anchor of the anomaly's entry
	OpList string // its op indices, comma-separated, for the script
}

type conflictsView struct {
	Total   int
	Entries []conflictView
	Loaded  bool
}

type conflictView struct {
	Node, Key, Strategy string
	Versions            []string
	Incoming            string
	Winner              string
	Time                string
}

type nodeLog struct {
	Node    string
	Lines   string
	Skipped int
}

func load(dir string) (view, error) {
	v := view{Script: template.JS(script), Style: template.CSS(style), Generated: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile(filepath.Join(dir, runfolder.TestFile)); err == nil {
		if json.Unmarshal(b, &v.Test) == nil {
			v.HasTest = true
		}
	}
	var res results
	if b, err := os.ReadFile(filepath.Join(dir, runfolder.ResultsFile)); err == nil {
		if err := json.Unmarshal(b, &res); err != nil {
			return v, fmt.Errorf("report: %s: %w", runfolder.ResultsFile, err)
		}
		v.HasResult = true
		v.Valid = res.Summary.Valid.String()
		v.Stats = res.Stats
	}
	v.Title = v.Test.Name
	if v.Title == "" {
		v.Title = filepath.Base(dir)
	}

	f, err := os.Open(filepath.Join(dir, runfolder.HistoryFile))
	if err != nil {
		return v, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	tl, err := buildTimeline(f)
	if err != nil {
		return v, fmt.Errorf("report: %s: %w", runfolder.HistoryFile, err)
	}
	v.Windows, v.Ops, v.Truncated = tl.windows, tl.nOps, tl.truncated

	type groupKey struct {
		checker, kind, cause string
		definite             bool
	}
	groups := map[groupKey]*anomalyGroup{}
	var order []groupKey
	for i, r := range res.Summary.Results {
		cv := checkerView{Result: r}
		for j, a := range r.Anomalies {
			k := groupKey{r.Checker, a.Kind, a.Cause, a.Definite}
			g := groups[k]
			if g == nil {
				g = &anomalyGroup{Checker: r.Checker, Kind: a.Kind, Cause: a.Cause, Definite: a.Definite, ID: fmt.Sprintf("g%d", len(order))}
				groups[k] = g
				order = append(order, k)
			}
			g.Count++
			if j >= maxAnomalies {
				cv.More++
				continue
			}
			var ids []string
			for _, op := range a.Ops {
				ids = append(ids, fmt.Sprint(op))
			}
			av := anomalyView{Anomaly: a, ID: fmt.Sprintf("a%d-%d", i, j), OpList: strings.Join(ids, ",")}
			cv.Shown = append(cv.Shown, av)
			g.Shown = append(g.Shown, av)
		}
		v.Results = append(v.Results, cv)
		v.Anomalies += len(r.Anomalies)
	}
	// Definite before possible, then the largest groups first.
	for _, k := range order {
		v.Groups = append(v.Groups, *groups[k])
	}
	sort.SliceStable(v.Groups, func(i, j int) bool {
		if v.Groups[i].Definite != v.Groups[j].Definite {
			return v.Groups[i].Definite
		}
		return v.Groups[i].Count > v.Groups[j].Count
	})
	if _, err := os.Stat(filepath.Join(dir, checkers.VisualizationFile)); err == nil {
		v.Porcupine = checkers.VisualizationFile
	}
	start, _ := v.Stats["start_unix_ns"].(float64)
	v.Conflicts, err = loadConflicts(dir, int64(start))
	if err != nil {
		return v, err
	}
	v.Logs = loadLogs(dir)
	v.Files = listFiles(dir)

	data, err := json.Marshal(tl.data) // escapes <, > and & in strings: nothing can end the element
	if err != nil {
		return v, err
	}
	v.Data = template.HTML(`<script id="crossfire-data" type="application/json">` + string(data) + `</script>`)
	return v, nil
}

// loadConflicts reads the conflict records; with the run's start (wall-clock ns, 0 if unknown),
// their times and timestamps read as seconds since it, as everything else on the page does.
func loadConflicts(dir string, start int64) (conflictsView, error) {
	recs, found, err := runfolder.LoadConflicts(dir)
	if err != nil {
		return conflictsView{}, fmt.Errorf("report: %w", err)
	}
	cv := conflictsView{Total: len(recs), Loaded: found}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time < recs[j].Time })
	for i, r := range recs {
		if i == maxConflicts {
			break
		}
		e := conflictView{Node: r.Node, Key: r.Key, Strategy: r.Strategy, Incoming: versionText(r.Incoming, start), Winner: versionText(r.Winner, start),
			Time: stampText(r.Time, start)}
		for _, l := range r.Local {
			e.Versions = append(e.Versions, versionText(l, start))
		}
		cv.Entries = append(cv.Entries, e)
	}
	return cv, nil
}

// versionText shows a logged version for people: its value (as JSON, with what JSON escapes
// for HTML put back, since the page's template escapes it as text), then where it came from.
// stampText shows a wall-clock stamp (ns) as seconds since the run's start, or as a time of day
// when the start is unknown (a run folder of an older crossfire).
func stampText(ns, start int64) string {
	if start == 0 {
		return time.Unix(0, ns).UTC().Format("15:04:05.000000")
	}
	return fmt.Sprintf("%.3fs", float64(ns-start)/1e9)
}

func versionText(v history.LoggedVersion, start int64) string {
	value := "null"
	if len(v.Value) > 0 {
		var x any
		if json.Unmarshal(v.Value, &x) == nil {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if enc.Encode(x) == nil {
				value = strings.TrimSpace(b.String())
			}
		} else {
			value = string(v.Value)
		}
	}
	ts := fmt.Sprint(v.TS) // a stamp of unknown meaning without the run's start
	if v.TS != 0 && start != 0 {
		ts = stampText(v.TS, start)
	}
	s := fmt.Sprintf("%s  (origin %s, seq %d, ts %s", clip(value, 300), v.Origin, v.Seq, ts)
	if len(v.VV) > 0 {
		keys := make([]string, 0, len(v.VV))
		for k := range v.VV {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s:%d", k, v.VV[k]))
		}
		s += ", vv " + strings.Join(parts, " ")
	}
	return s + ")"
}

func loadLogs(dir string) []nodeLog {
	paths, _ := filepath.Glob(filepath.Join(dir, "nodes", "*", "node.log"))
	sort.Strings(paths)
	var out []nodeLog
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		l := nodeLog{Node: filepath.Base(filepath.Dir(p))}
		if len(lines) > maxLogLines {
			l.Skipped = len(lines) - maxLogLines
			lines = lines[len(lines)-maxLogLines:]
		}
		l.Lines = strings.Join(lines, "\n")
		out = append(out, l)
	}
	return out
}

// listFiles lists the run folder's files, relative to it, for links.
func listFiles(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err == nil && !strings.HasPrefix(filepath.Base(rel), ".") {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// compact removes insignificant space from raw JSON for display.
func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
