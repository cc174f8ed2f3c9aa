package workloads

import (
	"math/rand/v2"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// TestParseSetField: what the profile workload writes reads back; a field that is not a
// profile's, or a value that is not a set-field's, is refused.
func TestParseSetField(t *testing.T) {
	w := NewProfile(Options{})
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		op := w.Next(r)
		if op.F != "set-field" {
			continue
		}
		if _, err := ParseSetField(op); err != nil {
			t.Fatalf("%s: %v", op.Value, err)
		}
	}
	for _, bad := range []string{`{"field":"id","value":"x"}`, `{"field":"name; DROP TABLE profiles","value":"x"}`, `"name"`, `{}`} {
		if _, err := ParseSetField(history.Op{F: "set-field", Value: []byte(bad)}); err == nil {
			t.Errorf("%s was taken for a set-field", bad)
		}
	}
}
