package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/report"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// Server serves a store directory for people: the runs in a table (newest first, filterable by
// verdict) at /, and each run's files under /runs/<test>/<time>/, its report made on first
// request when the run has none. It reads the store through an os.Root, so no path, .. or
// symbolic link reaches outside it.
type Server struct {
	store string
	root  *os.Root
}

// NewServer serves the store directory dir; Close releases it.
func NewServer(dir string) (*Server, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("report: the store %s: %w", dir, err)
	}
	return &Server{store: dir, root: root}, nil
}

// Close releases the store.
func (s *Server) Close() error { return s.root.Close() }

// RunInfo is one run in the listing.
type RunInfo struct {
	Path     string        // <test>/<time>, relative to the store, with forward slashes
	Test     string        // the test's name
	Started  time.Time     // from the folder's name
	Duration time.Duration // the main phase, from test.json
	Workload string
	Nemeses  string
	Verdict  string // valid, invalid, unknown, or "not checked" when there is no results.json
	Ops      int64
	Report   bool // report.html is there already
	// What tells runs of one test apart.
	DB        string // the database and its options, "NAME: strategy lww"
	Cluster   string
	Seed      uint64
	Anomalies int
}

// Verdicts are the listing's filters, in the order they are offered.
var Verdicts = []string{"invalid", "unknown", "valid", "not checked"}

// Runs lists the store's runs, newest first. A folder counts as a run when it holds a history.
func (s *Server) Runs() ([]RunInfo, error) {
	var runs []RunInfo
	tests, err := fs.ReadDir(s.root.FS(), ".")
	if err != nil {
		return nil, err
	}
	for _, t := range tests {
		if !t.IsDir() {
			continue
		}
		stamps, err := fs.ReadDir(s.root.FS(), t.Name())
		if err != nil {
			continue
		}
		for _, st := range stamps {
			if !st.IsDir() { // the latest link is a symlink, not a directory entry
				continue
			}
			rel := t.Name() + "/" + st.Name()
			if _, err := s.root.Stat(path.Join(rel, runfolder.HistoryFile)); err != nil {
				continue
			}
			runs = append(runs, s.runInfo(t.Name(), st.Name()))
		}
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].Started.Equal(runs[j].Started) {
			return runs[i].Started.After(runs[j].Started)
		}
		return runs[i].Path < runs[j].Path
	})
	return runs, nil
}

func (s *Server) runInfo(test, stamp string) RunInfo {
	rel := test + "/" + stamp
	ri := RunInfo{Path: rel, Test: test, Verdict: "not checked"}
	ri.Started, _ = time.Parse("20060102T150405.000Z", stamp)
	var t report.TestInfo
	if b, err := s.root.ReadFile(path.Join(rel, runfolder.TestFile)); err == nil && json.Unmarshal(b, &t) == nil {
		ri.Duration = time.Duration(t.Duration)
		ri.Workload = t.Workload
		ri.Nemeses = strings.Join(t.Nemeses, ", ")
		ri.DB, ri.Cluster, ri.Seed = t.Strategies(), t.Cluster, t.Seed
		if t.Name != "" {
			ri.Test = t.Name
		}
	}
	var r struct {
		Valid *json.RawMessage `json:"valid"`
		Stats struct {
			Ops int64 `json:"ops"`
		} `json:"stats"`
		Summary struct {
			Results []struct {
				Anomalies []json.RawMessage `json:"anomalies"`
			} `json:"results"`
		} `json:"summary"`
	}
	if b, err := s.root.ReadFile(path.Join(rel, runfolder.ResultsFile)); err == nil && json.Unmarshal(b, &r) == nil && r.Valid != nil {
		switch string(*r.Valid) {
		case "true":
			ri.Verdict = "valid"
		case "false":
			ri.Verdict = "invalid"
		default:
			ri.Verdict = "unknown"
		}
		ri.Ops = r.Stats.Ops
		for _, res := range r.Summary.Results {
			ri.Anomalies += len(res.Anomalies)
		}
	}
	if _, err := s.root.Stat(path.Join(rel, report.File)); err == nil {
		ri.Report = true
	}
	return ri
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "crossfire serve only reads", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/":
		s.listing(w, r)
	case strings.HasPrefix(p, "/runs/"):
		s.file(w, r, strings.TrimPrefix(p, "/runs/"))
	default:
		http.NotFound(w, r)
	}
}

var listingPage = template.Must(template.New("listing").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "?"
		}
		return t.Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>crossfire runs: {{.Store}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 20px; color: #1d2129; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #d8dde6; padding: 4px 8px; text-align: left; }
th { background: #f5f7fa; }
.v-valid { color: #0f6b2b; font-weight: 600; } .v-invalid { color: #a4161a; font-weight: 600; } .v-unknown, .v-not { color: #7a5200; font-weight: 600; }
nav a { margin-right: 10px; } nav a.on { font-weight: 700; text-decoration: none; color: #1d2129; }
.note { color: #667085; }
</style></head><body>
<h1>crossfire runs</h1>
<p class="note">{{len .Runs}} of {{.Total}} runs in {{.Store}}, newest first.</p>
<nav id="filters">verdict: <a href="/" {{if eq .Filter ""}}class="on"{{end}}>all</a>{{range .Verdicts}}<a href="/?verdict={{.}}" {{if eq $.Filter .}}class="on"{{end}}>{{.}}</a>{{end}}</nav>
<table id="runs">
<tr><th>test</th><th>started</th><th>database</th><th>cluster</th><th>seed</th><th>main phase</th><th>workload</th><th>nemeses</th><th>ops</th><th>verdict</th><th>anomalies</th><th>files</th></tr>
{{range .Runs}}<tr class="run" data-verdict="{{.Verdict}}"><td><a href="/runs/{{.Path}}/report.html">{{.Test}}</a></td><td>{{when .Started}}</td><td>{{.DB}}</td><td>{{.Cluster}}</td><td>{{if .Seed}}{{.Seed}}{{end}}</td><td>{{.Duration}}</td><td>{{.Workload}}</td><td>{{.Nemeses}}</td><td>{{.Ops}}</td><td class="v-{{.Verdict}}">{{.Verdict}}</td><td>{{.Anomalies}}</td><td><a href="/runs/{{.Path}}/">files</a></td></tr>
{{else}}<tr><td colspan="12" class="note">No runs{{if .Filter}} with this verdict{{end}}.</td></tr>{{end}}
</table>
</body></html>
`))

func (s *Server) listing(w http.ResponseWriter, r *http.Request) {
	runs, err := s.Runs()
	if err != nil {
		http.Error(w, "reading the store: "+err.Error(), http.StatusInternalServerError)
		return
	}
	filter := r.URL.Query().Get("verdict")
	if filter != "" && !slices.Contains(Verdicts, filter) {
		http.Error(w, fmt.Sprintf("unknown verdict %q (valid: %s)", filter, strings.Join(Verdicts, ", ")), http.StatusBadRequest)
		return
	}
	shown := runs[:0:0]
	for _, ri := range runs {
		if filter == "" || ri.Verdict == filter {
			shown = append(shown, ri)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = listingPage.Execute(w, map[string]any{"Store": s.store, "Runs": shown, "Total": len(runs), "Filter": filter, "Verdicts": Verdicts})
}

// file serves one file or folder of the store. Any .. is refused outright; os.Root refuses
// symbolic links that lead out of the store.
func (s *Server) file(w http.ResponseWriter, r *http.Request, rel string) {
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			http.Error(w, "refused: the path leads outside the store", http.StatusForbidden)
			return
		}
	}
	rel = strings.Trim(path.Clean("/"+rel), "/")
	if rel == "" {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	if path.Base(rel) == report.File {
		s.ensureReport(path.Dir(rel))
	}
	f, err := s.root.Open(rel)
	if err != nil {
		s.openError(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.openError(w, r, err)
		return
	}
	if st.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		s.folder(w, rel, f)
		return
	}
	if strings.HasSuffix(rel, ".jsonl") || strings.HasSuffix(rel, ".log") {
		// Shown as text: a history or a log is never a page of its own.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}

func (s *Server) openError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		http.Error(w, "no such run or file in the store", http.StatusNotFound)
	case strings.Contains(err.Error(), "escapes"):
		http.Error(w, "refused: the path leads outside the store", http.StatusForbidden)
	default:
		http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
	}
}

// ensureReport writes a run's report when the run has a history but no report yet (a run that
// was killed before it could write one, or one made before reports existed).
func (s *Server) ensureReport(rel string) {
	if _, err := s.root.Stat(path.Join(rel, report.File)); err == nil {
		return
	}
	if _, err := s.root.Stat(path.Join(rel, runfolder.HistoryFile)); err != nil {
		return
	}
	// Resolve the folder inside the root first, so a link cannot send the write elsewhere.
	if real, err := filepath.EvalSymlinks(filepath.Join(s.store, filepath.FromSlash(rel))); err == nil {
		if base, err := filepath.EvalSymlinks(s.store); err == nil && strings.HasPrefix(real, base+string(filepath.Separator)) {
			_, _ = report.Write(real)
		}
	}
}

var folderPage = template.Must(template.New("folder").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Path}}</title>
<style>body { font: 14px/1.45 system-ui, sans-serif; margin: 20px; } li { margin: 2px 0; }</style></head><body>
<p><a href="/">all runs</a></p>
<h1>{{.Path}}</h1>
<ul id="entries">{{range .Entries}}<li><a href="{{.}}">{{.}}</a></li>{{end}}</ul>
</body></html>
`))

func (s *Server) folder(w http.ResponseWriter, rel string, f *os.File) {
	entries, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = folderPage.Execute(w, map[string]any{"Path": rel, "Entries": names})
}
