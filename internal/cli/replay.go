package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/crossfire-dev/crossfire/db/regionkv/resolve"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Replayed is one logged conflict re-resolved under another strategy.
type Replayed struct {
	Node     string   `json:"node"`
	Key      string   `json:"key"`
	Time     int64    `json:"time"`
	Was      string   `json:"was"` // the strategy the store used
	Original []string `json:"original"`
	Replayed []string `json:"replayed"`
	Back     []string `json:"back,omitempty"`    // items the other strategy would have kept
	Dropped  []string `json:"dropped,omitempty"` // items it would have lost
}

// ReplayReport is what replay writes beside the run.
type ReplayReport struct {
	Strategy   string     `json:"strategy"`
	Conflicts  int        `json:"conflicts"`
	Skipped    int        `json:"skipped"` // not cart conflicts of whole versions (registers, orset operations, orders)
	Differ     []Replayed `json:"differ"`
	LostAdds   int        `json:"lost_adds"`   // the cart checker's lost adds in this run
	LostBack   []string   `json:"lost_back"`   // of those, the items the replay brings back
	Resurrects int        `json:"resurrected"` // the cart checker's resurrected items
	ResGone    []string   `json:"resurrected_gone"`
}

func replayCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", `usage: crossfire replay [flags] RUN

Re-resolves the cart conflicts a run's leaders logged under another strategy, and shows, for
each conflict, where the outcome differs: the items the other strategy would have kept and the
ones it would have lost, and which of the checker's lost adds and resurrected items it mends.
Writes the comparison to RUN/replay-<strategy>.json. Try a new merge rule on real conflicts
before shipping it.`, stderr)
	strategy := fs.String("strategy", "", "the strategy to replay under: "+strings.Join(resolve.CartRules, ", "))
	asJSON := fs.Bool("json", false, "print the comparison as JSON on stdout")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 || *strategy == "" {
		fmt.Fprintln(stderr, "crossfire replay: want a run folder and --strategy")
		return exitUsage
	}
	dir := runFolder(fs.Arg(0))
	if _, err := resolve.Cart(*strategy, nil); err != nil {
		fmt.Fprintf(stderr, "crossfire replay: %v\n", err)
		return exitUsage
	}
	if t, err := runfolder.LoadTest(dir); err == nil && t.Workload != workloads.CartName {
		fmt.Fprintf(stderr, "crossfire replay: %s is a %s run; replay re-resolves cart conflicts\n", dir, t.Workload)
		return exitUsage
	}
	logs, found, err := runfolder.LoadConflicts(dir)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire replay: %v\n", err)
		return exitUsage
	}
	if !found {
		fmt.Fprintf(stderr, "crossfire replay: %s holds no conflict records (%s)\n", dir, runfolder.ConflictsFile)
		return exitUsage
	}
	if rules := cartRules(logs); len(rules) == 0 {
		fmt.Fprintf(stderr, "crossfire replay: none of the %d conflict records in %s was resolved by a cart rule replay knows (%s)\n",
			len(logs), dir, strings.Join(resolve.CartRules, ", "))
		return exitUsage
	}
	rep := replay(logs, *strategy)
	crossCheck(&rep, dir)
	b, _ := json.MarshalIndent(rep, "", "  ")
	out := filepath.Join(dir, "replay-"+*strategy+".json")
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintf(stderr, "crossfire replay: %v\n", err)
		return exitEnv
	}
	if *asJSON {
		fmt.Fprintln(stdout, string(b))
		return exitValid
	}
	for i, d := range rep.Differ {
		if i == 20 {
			fmt.Fprintf(stdout, "… and %d more (see %s)\n", len(rep.Differ)-20, out)
			break
		}
		fmt.Fprintf(stdout, "%s at %s: %s kept %d items, %s would keep %d", d.Key, d.Node, d.Was, len(d.Original), rep.Strategy, len(d.Replayed))
		if len(d.Back) > 0 {
			fmt.Fprintf(stdout, "; back: %s", strings.Join(d.Back, " "))
		}
		if len(d.Dropped) > 0 {
			fmt.Fprintf(stdout, "; gone: %s", strings.Join(d.Dropped, " "))
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "%d logged conflicts, %d replayed under %s, %d with another outcome", rep.Conflicts, rep.Conflicts-rep.Skipped, rep.Strategy, len(rep.Differ))
	if rep.Skipped > 0 {
		fmt.Fprintf(stdout, " (%d skipped: not whole-cart versions)", rep.Skipped)
	}
	fmt.Fprintln(stdout)
	if rep.LostAdds > 0 {
		fmt.Fprintf(stdout, "of the %d lost adds the cart checker found, %d come back under %s\n", rep.LostAdds, len(rep.LostBack), rep.Strategy)
	}
	if rep.Resurrects > 0 {
		fmt.Fprintf(stdout, "of the %d resurrected items, %d stay removed under %s\n", rep.Resurrects, len(rep.ResGone), rep.Strategy)
	}
	fmt.Fprintf(stdout, "written to %s\n", out)
	return exitValid
}

// cartRules are the cart rules replay knows that resolved the logged conflicts.
func cartRules(logs []history.ConflictRecord) []string {
	var out []string
	for _, c := range logs {
		if slices.Contains(resolve.CartRules, c.Strategy) && !slices.Contains(out, c.Strategy) {
			out = append(out, c.Strategy)
		}
	}
	return out
}

// replay re-resolves every whole-cart conflict under strategy; records of another rule (an
// engine's own, or orset's operations) are skipped.
func replay(logs []history.ConflictRecord, strategy string) ReplayReport {
	rep := ReplayReport{Strategy: strategy, Conflicts: len(logs), Differ: []Replayed{}}
	for _, c := range logs {
		if c.Strategy == resolve.CartORSet || !slices.Contains(resolve.CartRules, c.Strategy) {
			rep.Skipped++ // orset's logged operations are not whole carts
			continue
		}
		versions := make([]resolve.Version, 0, len(c.Local)+1)
		for _, v := range append(append([]history.LoggedVersion(nil), c.Local...), c.Incoming) {
			versions = append(versions, resolve.Version{Value: v.Value, TS: v.TS, Origin: v.Origin, Seq: v.Seq, VV: v.VV})
		}
		replayed, _ := resolve.Cart(strategy, versions)
		var orig resolve.CartValue
		_ = json.Unmarshal(c.Winner.Value, &orig)
		back, dropped := diff(replayed.Items, orig.Items), diff(orig.Items, replayed.Items)
		if len(back) == 0 && len(dropped) == 0 {
			continue
		}
		rep.Differ = append(rep.Differ, Replayed{Node: c.Node, Key: c.Key, Time: c.Time, Was: c.Strategy,
			Original: nonNil(orig.Items), Replayed: nonNil(replayed.Items), Back: back, Dropped: dropped})
	}
	sort.SliceStable(rep.Differ, func(i, j int) bool { return rep.Differ[i].Time < rep.Differ[j].Time })
	return rep
}

// crossCheck finds, among the run's lost adds and resurrected items, those the replay mends.
func crossCheck(rep *ReplayReport, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, runfolder.ResultsFile))
	if err != nil {
		return
	}
	var res harness.Result
	if json.Unmarshal(b, &res) != nil {
		return
	}
	back, gone := map[string]bool{}, map[string]bool{}
	for _, d := range rep.Differ {
		for _, it := range d.Back {
			back[it] = true
		}
		for _, it := range d.Dropped {
			gone[it] = true
		}
	}
	rep.LostBack, rep.ResGone = []string{}, []string{}
	for _, r := range res.Summary.Results {
		for _, a := range r.Anomalies {
			switch a.Kind {
			case "lost-add":
				rep.LostAdds++
				if back[a.Item] {
					rep.LostBack = append(rep.LostBack, a.Item)
				}
			case "resurrected":
				rep.Resurrects++
				if gone[a.Item] {
					rep.ResGone = append(rep.ResGone, a.Item)
				}
			}
		}
	}
}

func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
