package runfolder

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// TestLoadConflicts: a folder without records has none, records written are read back, and a
// broken one names its line.
func TestLoadConflicts(t *testing.T) {
	dir := t.TempDir()
	if _, found, err := LoadConflicts(dir); found || err != nil {
		t.Fatalf("found=%v err=%v in a folder without records", found, err)
	}
	recs := []history.ConflictRecord{{Node: "n1", Key: "c0", Strategy: "lww", Incoming: history.LoggedVersion{Value: history.Value(1), Origin: "n2"}}}
	f, _ := os.Create(filepath.Join(dir, ConflictsFile))
	if err := history.WriteConflicts(f, recs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, found, err := LoadConflicts(dir)
	if err != nil || !found || len(got) != 1 || got[0].Node != "n1" || got[0].Incoming.Origin != "n2" {
		t.Fatalf("%+v %v %v", got, found, err)
	}
	os.WriteFile(filepath.Join(dir, ConflictsFile), []byte("{\"node\":\"n1\"}\n{oops\n"), 0o644)
	var le *history.LineError
	if _, found, err := LoadConflicts(dir); !found || !errors.As(err, &le) || le.Line != 2 {
		t.Fatalf("a broken record: found=%v err=%v", found, err)
	}
}
