package workloads

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// ProfileName is the profile workload's name.
const ProfileName = "profile"

// ProfileFields are the fields of a profile record: the user's name, email and address, a
// marketing opt-in and a terms-accepted flag.
var ProfileFields = []string{"name", "email", "address", "marketing", "terms"}

// Profile drives edits of one field at a time to a few user records (keys p0, p1 …), at every
// leader, and reads of whole records: a user changes their address in one region while support
// changes their email in another. Every value written to a field is new to that field
// ("email-17", "opt-in-18"), so that a final record names the one edit each field shows. Its
// checker is fields: an acknowledged edit must survive unless a later or concurrent edit of the
// same field replaced it.
type Profile struct {
	keys int
	n    atomic.Int64 // values drawn so far, across records and fields
}

// NewProfile makes the profile workload; the default is 8 records (40 fields): edits of one
// record meet often, and what a checker can judge is the last edit of each field, so there are
// enough of those.
func NewProfile(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 8
	}
	return &Profile{keys: o.Keys}
}

// Name implements Workload.
func (w *Profile) Name() string { return ProfileName }

// Setup implements Workload: records start empty.
func (w *Profile) Setup() []history.Op { return nil }

// Retryable implements Workload: an edit is not retried; a fresh process goes on.
func (w *Profile) Retryable(history.Op) bool { return false }

func (w *Profile) key(i int) string { return fmt.Sprintf("p%d", i) }

// SetField is a set-field's value: which field, and the value it is set to.
type SetField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// ParseSetField reads a set-field's value, whose field must be one of ProfileFields (a store
// that names its columns after the fields can then put the name into its statement).
func ParseSetField(op history.Op) (SetField, error) {
	var set SetField
	if err := json.Unmarshal(op.Value, &set); err != nil || !slices.Contains(ProfileFields, set.Field) {
		return set, fmt.Errorf("set-field value must name a profile field: %s", op.Value)
	}
	return set, nil
}

// Next implements Workload: seven in ten ops edit one field, chosen evenly, the rest read the
// record.
func (w *Profile) Next(r *rand.Rand) history.Op {
	op := history.Op{Type: history.Invoke, Key: w.key(r.IntN(w.keys))}
	if r.IntN(10) < 3 {
		op.F, op.Value = "read-profile", history.Null
		return op
	}
	field := ProfileFields[r.IntN(len(ProfileFields))]
	n := w.n.Add(1)
	v := fmt.Sprintf("%s-%d", field, n)
	switch field {
	case "marketing":
		v = fmt.Sprintf("%s-%d", []string{"opt-in", "opt-out"}[r.IntN(2)], n)
	case "terms":
		v = fmt.Sprintf("%s-%d", []string{"accepted", "declined"}[r.IntN(2)], n)
	}
	op.F, op.Value = "set-field", history.Value(SetField{Field: field, Value: v})
	return op
}

// Final implements Workload: a read of every record.
func (w *Profile) Final() []history.Op {
	out := make([]history.Op, w.keys)
	for i := range out {
		out[i] = history.Op{Type: history.Invoke, F: "read-profile", Key: w.key(i), Value: history.Null}
	}
	return out
}

// Checkers implements Workload.
func (w *Profile) Checkers() []checkers.Checker {
	return []checkers.Checker{checkers.Fields{}, checkers.Convergence{}}
}
