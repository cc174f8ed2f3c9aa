package plan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/matrix/plan"
)

// A run whose verdict is not the expected one fails the table, and says why in one cell.
func TestMatrixTableMarksTheUnexpected(t *testing.T) {
	table := plan.Table([]plan.Outcome{
		{Row: "cart orset", Faults: "partitions", Seed: 1, Expect: "valid", Valid: checkers.True, Expected: true, Dir: "store/a"},
		{Row: "cart merge", Faults: "partitions", Seed: 2, Expect: "resurrected", Valid: checkers.True, Why: "no resurrection | none\nsecond line", Dir: "store/b"},
	}, "regionkv, docker cluster", 90*time.Second)
	for _, want := range []string{
		"### ❌ crossfire validation matrix (regionkv, docker cluster): 1 of 2 runs as expected, in 1m30s",
		"| cart orset | partitions | 1 | valid | valid | yes |",
		`| cart merge | partitions | 2 | resurrected | valid | **no**: no resurrection \| none | 0 | 0 | ` + "`store/b` |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "second line") {
		t.Error("a multi-line reason broke the table")
	}
}
