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

func TestMatrixTableGivesVersionsAColumn(t *testing.T) {
	costs := &checkers.Costs{}
	table := plan.Table([]plan.Outcome{
		{Row: "11.8 galera profile", Version: "11.8", Faults: "partition", Seed: 1, Expect: "valid", Valid: checkers.True, Expected: true, Costs: costs},
		{Row: "10.11 galera profile", Version: "10.11", Faults: "partition", Seed: 1, Expect: "valid", Valid: checkers.True, Expected: true, Costs: costs},
	}, "mariadb, docker cluster", time.Minute)
	for _, want := range []string{
		"| version | configuration | faults |",
		"| 11.8 | galera profile | partition | 1 |",
		"| 10.11 | galera profile | partition | 1 |",
		"| version | configuration | seed | latency",
		"| 10.11 | galera profile | 1 |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if plain := plan.Table([]plan.Outcome{{Row: "cart orset"}}, "regionkv", time.Second); strings.Contains(plain, "version") {
		t.Errorf("a table without versions has a version column:\n%s", plain)
	}
}
