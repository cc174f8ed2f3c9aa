package runfolder

import (
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/db"
)

// TestDefaultName: a test's default name carries each option's value, and a Named option as
// name-value only when it is not the option's default; the default database goes unnamed.
func TestDefaultName(t *testing.T) {
	spec := db.Spec{Options: map[string][]db.Option{"register": {
		{Name: "replication", Values: []string{"galera", "async"}},
		{Name: "flush", Named: true, Values: []string{"1", "0"}},
		{Name: "sync-wait", Named: true, Values: []string{"0", "1"}},
		{Name: "label"}, // any value: never in the name
	}}}
	for _, c := range []struct {
		opts    map[string]string
		nemeses []string
		want    string
	}{
		{map[string]string{"replication": "galera", "flush": "1", "sync-wait": "0", "label": "x"}, nil, "other-register-galera-none"},
		{map[string]string{"replication": "async", "flush": "0", "sync-wait": "0"}, []string{"kill-all"}, "other-register-async-flush-0-kill-all"},
		{map[string]string{"replication": "galera", "flush": "0", "sync-wait": "1"}, []string{"partition", "kill"}, "other-register-galera-flush-0-sync-wait-1-partition+kill"},
	} {
		tt := Test{DB: "other", Workload: "register", Options: c.opts, Nemeses: c.nemeses}
		if got := tt.defaultName(spec); got != c.want {
			t.Errorf("%v %v: named %q, want %q", c.opts, c.nemeses, got, c.want)
		}
	}
	tt := Test{DB: "other", Workload: "register", Options: map[string]string{"replication": "galera"}, Nemeses: []string{"partition"}, WAN: 80 * time.Millisecond}
	if got, want := tt.defaultName(spec), "other-register-galera-partition-wan80ms"; got != want {
		t.Errorf("with a round trip: named %q, want %q", got, want)
	}
}
