package regionkv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crossfire-dev/crossfire/runfolder"
)

// TestWritesLinearizable: a stale read in the middle of a run is left out; a final read that
// misses an acknowledged write is not.
func TestWritesLinearizable(t *testing.T) {
	run := func(lines string) error {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, runfolder.HistoryFile), []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		return writesLinearizable(dir)
	}
	const writes = `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","key":"r0","value":1,"node":"n1"}
{"index":1,"time":10,"process":0,"type":"ok","f":"write","key":"r0","node":"n1"}
{"index":2,"time":20,"process":0,"type":"invoke","f":"write","key":"r0","value":2,"node":"n1"}
{"index":3,"time":30,"process":0,"type":"ok","f":"write","key":"r0","node":"n1"}
{"index":4,"time":40,"process":1,"type":"invoke","f":"read","key":"r0","value":null,"node":"n2"}
{"index":5,"time":50,"process":1,"type":"ok","f":"read","key":"r0","value":1,"node":"n2"}
`
	final := func(v string) string {
		return `{"index":6,"time":60,"process":2,"type":"invoke","f":"read","key":"r0","value":null,"node":"n2","meta":{"final":true}}
{"index":7,"time":70,"process":2,"type":"ok","f":"read","key":"r0","value":` + v + `,"node":"n2"}
`
	}
	if err := run(writes + final("2")); err != nil {
		t.Errorf("a stale read in the run, the last write at the end: %v", err)
	}
	if err := run(writes + final("1")); err == nil {
		t.Error("a final read that misses the last acknowledged write passed")
	}
}
