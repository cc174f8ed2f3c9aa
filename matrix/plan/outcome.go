package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// Outcome is one run of the validation matrix, as matrix.json holds it.
type Outcome struct {
	DB       string         `json:"db,omitempty"`
	Cluster  string         `json:"cluster,omitempty"`
	Row      string         `json:"row"`
	Version  string         `json:"version,omitempty"` // the engine's version, for a row that names one
	Faults   string         `json:"faults"`
	Seed     uint64         `json:"seed"`
	Expect   string         `json:"expect"`
	Valid    checkers.Valid `json:"valid"`
	Expected bool           `json:"as_expected"`
	Why      string         `json:"why,omitempty"` // what differed, or what failed
	Ops      int64          `json:"ops"`
	Faulted  int            `json:"faults_injected"`
	Took     time.Duration  `json:"took_ns"`
	Dir      string         `json:"dir,omitempty"`
	// What the design cost its clients in this run, and the anomalies it cost them.
	Costs     *checkers.Costs `json:"costs,omitempty"`
	Anomalies int             `json:"anomalies"`
}

// Outcome is what a run of j came to, its result res (or the error that kept it from one) judged
// by its row: as expected when the run was made, was not interrupted, and its row's judge
// accepts it.
func (j Job) Outcome(database, cluster string, res runfolder.Result, err error, took time.Duration) Outcome {
	out := Outcome{DB: database, Cluster: cluster, Row: j.Row, Version: j.MatrixRow.Version, Faults: strings.Join(j.Test.Nemeses, ", "), Seed: j.Seed,
		Expect: j.MatrixRow.Expect, Valid: res.Valid, Ops: res.Stats.Ops, Faulted: res.Stats.Faults, Took: took, Dir: res.Dir,
		Costs: res.Stats.Costs, Anomalies: res.Summary.Anomalies()}
	switch {
	case err != nil:
		out.Why = err.Error()
	case res.Stats.Interrupted:
		out.Why = "interrupted"
	default:
		if why := j.MatrixRow.Judge(res); why != nil {
			out.Why = why.Error()
		} else {
			out.Expected = true
		}
	}
	return out
}

// Where names where a matrix ran: the database, the cluster kind and, with --wan, how far
// apart its leaders were.
func Where(database, cluster string, wan time.Duration) string {
	where := database + ", " + cluster + " cluster"
	if wan > 0 {
		where += ", leaders " + wan.String() + " apart (round trip)"
	}
	return where
}

// Table renders the outcomes as Markdown: a headline, then a row per run, and what each
// run's design cost.
func Table(outs []Outcome, where string, took time.Duration) string {
	var b strings.Builder
	bad := 0
	for _, out := range outs {
		if !out.Expected {
			bad++
		}
	}
	mark := "✅"
	if bad > 0 || len(outs) == 0 {
		mark = "❌"
	}
	fmt.Fprintf(&b, "### %s crossfire validation matrix (%s): %d of %d runs as expected, in %s\n\n", mark, where, len(outs)-bad, len(outs), took.Round(time.Second))
	versioned := slices.ContainsFunc(outs, func(o Outcome) bool { return o.Version != "" })
	b.WriteString("| " + versionHead(versioned) + "configuration | faults | seed | expected | verdict | as expected | ops | faults injected | run folder |\n")
	b.WriteString("|" + versionRule(versioned) + "---|---|---|---|---|---|---|---|---|\n")
	for _, out := range outs {
		ok := "yes"
		if !out.Expected {
			ok = "**no**: " + mdCell(firstLine(out.Why))
		}
		fmt.Fprintf(&b, "| %s%s | %s | %d | %s | %s | %s | %d | %d | `%s` |\n", versionCell(versioned, out), out.configuration(), out.Faults, out.Seed, out.Expect, out.Valid, ok, out.Ops, out.Faulted, mdCell(out.Dir))
	}
	b.WriteString(costsTable(outs))
	return b.String()
}

// costsTable renders what each run's design cost: latency of acknowledged operations per
// leader (p50/p99), the share of operations acknowledged while a fault was in force and while
// none was, and the anomalies found.
func costsTable(outs []Outcome) string {
	var b strings.Builder
	b.WriteString("\nWhat each design cost its clients (latency of acknowledged operations per leader, p50/p99; operations acknowledged of those begun under a fault, and with none):\n\n")
	versioned := slices.ContainsFunc(outs, func(o Outcome) bool { return o.Version != "" })
	b.WriteString("| " + versionHead(versioned) + "configuration | seed | latency p50/p99 per leader | acknowledged under a fault | acknowledged with none | anomalies |\n")
	b.WriteString("|" + versionRule(versioned) + "---|---|---|---|---|---|\n")
	for _, out := range outs {
		if out.Costs == nil {
			continue
		}
		var lat []string
		for _, l := range out.Costs.Leaders {
			lat = append(lat, fmt.Sprintf("%s %s/%s", l.Node, ms(l.P50NS), ms(l.P99NS)))
		}
		fmt.Fprintf(&b, "| %s%s | %d | %s | %s | %s | %d |\n", versionCell(versioned, out), out.configuration(), out.Seed, strings.Join(lat, ", "),
			share(out.Costs.UnderFault), share(out.Costs.Clear), out.Anomalies)
	}
	return b.String()
}

// configuration is the outcome's row without the version its name begins with.
func (o Outcome) configuration() string {
	if o.Version == "" {
		return o.Row
	}
	return strings.TrimPrefix(o.Row, o.Version+" ")
}

// The version column, where a row names a version.
func versionHead(on bool) string {
	if on {
		return "version | "
	}
	return ""
}

func versionRule(on bool) string {
	if on {
		return "---|"
	}
	return ""
}

func versionCell(on bool, o Outcome) string {
	if !on {
		return ""
	}
	return o.Version + " | "
}

// ms renders nanoseconds as milliseconds, with a decimal below 10.
func ms(ns int64) string {
	if ns < 10e6 {
		return fmt.Sprintf("%.1f ms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%d ms", ns/1e6)
}

// share renders an availability as a percentage with its counts.
func share(a checkers.Availability) string {
	if a.Ops == 0 {
		return "none begun"
	}
	return fmt.Sprintf("%.0f%% (%d of %d)", 100*a.Fraction(), a.OK, a.Ops)
}

// mdCell keeps a table cell on one line and its pipes out of the table's structure.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Write writes matrix.json and matrix.md into the store, and appends the table to summary.
func Write(store string, outs []Outcome, table, summary string) error {
	if err := os.MkdirAll(store, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(outs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(store, "matrix.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(store, "matrix.md"), []byte(table), 0o644); err != nil {
		return err
	}
	if summary == "" {
		return nil
	}
	f, err := os.OpenFile(summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("the summary file: %w", err)
	}
	_, err = f.WriteString(table + "\n")
	return errors.Join(err, f.Close())
}

// firstLine is s up to its first line end.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
