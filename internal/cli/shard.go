package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/crossfire-dev/crossfire/matrix/plan"
)

// mergeCmd is crossfire matrix --merge DIR…: the shards' tables joined into one per plan.
func mergeCmd(dirs []string, store, summary string, stdout, stderr io.Writer) int {
	if len(dirs) == 0 {
		fmt.Fprintln(stderr, "crossfire matrix --merge: name the folders that hold the shards' stores (matrix.json and matrix-plan.json each)")
		return exitUsage
	}
	found, err := plan.FindShards(dirs)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire matrix --merge: %v\n", err)
		return exitUsage
	}
	if len(found) == 0 {
		fmt.Fprintf(stderr, "crossfire matrix --merge: no %s under %s\n", plan.PlanFile, strings.Join(dirs, ", "))
		return exitUsage
	}
	merged, err := plan.Merge(found)
	var tables []string
	var all []plan.Outcome
	code := exitValid
	for _, m := range merged {
		where := plan.Where(m.Plan.DB, m.Plan.Cluster, m.Plan.WAN)
		if m.Plan.Of > 1 {
			where += fmt.Sprintf(", %d shards", m.Plan.Of)
		}
		tables = append(tables, plan.Table(m.Outs, where, m.Took))
		all = append(all, m.Outs...)
		for _, o := range m.Outs {
			if !o.Expected {
				code = exitInvalid
			}
		}
	}
	table := strings.Join(tables, "\n")
	fmt.Fprint(stdout, table)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire matrix --merge: %v\n", err)
		code = exitInvalid
	}
	if werr := plan.Write(store, all, table, summary); werr != nil {
		fmt.Fprintf(stderr, "crossfire matrix --merge: %v\n", werr)
		return exitEnv
	}
	return code
}
