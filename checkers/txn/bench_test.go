package txn

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// benchHistories are list-append histories of 100,000 transactions from the simulated strict
// serializable store (five clients, ten active keys, 1 to 4 micro-ops, keys retired after 32
// appends, 5% aborted and 2% of unknown outcome): one as it ran, and one with an acknowledged
// append lost (its value taken out of every read).
var benchHistories = sync.OnceValue(func() map[string][]history.Op {
	ops := simulate(simConfig{store: simSerial, txns: 100_000, failRate: 0.05, infoRate: 0.02, seed: 1})
	return map[string][]history.Op{"valid": ops, "lost-append": loseAppend(ops)}
})

// loseAppend takes the value of an acknowledged append from the middle of the history out of
// every read of its key.
func loseAppend(ops []history.Op) []history.Op {
	out := slices.Clone(ops)
	var key json.RawMessage
	var val string
	for _, op := range ops[len(ops)/2:] {
		var mops [][3]json.RawMessage
		if op.Type != history.OK || json.Unmarshal(op.Value, &mops) != nil {
			continue
		}
		for _, m := range mops {
			if string(m[0]) == `"append"` {
				key, val = m[1], string(m[2])
			}
		}
		if key != nil {
			break
		}
	}
	for i, op := range out {
		var mops [][3]json.RawMessage
		if op.Type != history.OK || json.Unmarshal(op.Value, &mops) != nil {
			continue
		}
		for j, m := range mops {
			var list []json.RawMessage
			if string(m[0]) == `"r"` && string(m[1]) == string(key) && json.Unmarshal(m[2], &list) == nil {
				list = slices.DeleteFunc(list, func(v json.RawMessage) bool { return string(v) == val })
				mops[j][2], _ = json.Marshal(list)
			}
		}
		out[i].Value, _ = json.Marshal(mops)
	}
	return out
}

// BenchmarkIsolation reads and judges each history: the transactions built from the ops (their
// values parsed), then the analysis (version orders, dependencies, cycles, explanations).
func BenchmarkIsolation(b *testing.B) {
	for _, name := range []string{"valid", "lost-append"} {
		ops := benchHistories()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var a *Analysis
			for b.Loop() {
				a = analyze(b, ops, Options{})
			}
			if want := name == "valid"; (len(a.Anomalies) == 0) != want {
				b.Fatalf("%s: %d anomalies", name, len(a.Anomalies))
			}
			b.ReportMetric(float64(len(ops)/2), "txns")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ops)/2), "ns/txn")
		})
	}
}
