package txn

import (
	"fmt"
	"testing"
)

// The simulated stores give what they promise: a strict serializable store's histories are
// valid under every model; snapshot isolation shows only what it allows (G2-item, with realtime
// and process variants); a store with no isolation shows cycles of every kind.
func TestSimulatedStores(t *testing.T) {
	skew := 0
	for _, register := range []bool{false, true} {
		for seed := uint64(1); seed <= 5; seed++ {
			name := fmt.Sprintf("register=%v seed=%d", register, seed)
			c := simConfig{txns: 1500, register: register, failRate: 0.05, infoRate: 0.02, seed: seed}
			c.store = simSerial
			if got := types(analyze(t, simulate(c), Options{})); len(got) > 0 {
				t.Errorf("%s: serial store: %v", name, got)
			}
			c.store = simSI
			for _, typ := range types(analyze(t, simulate(c), Options{})) {
				if b, _ := Base(typ); b == "G2-item" {
					skew++
				}
				if si, _ := LookupModel("snapshot-isolation"); si.RulesOut(typ) {
					t.Errorf("%s: snapshot isolation store shows %s", name, typ)
				}
			}
			c.store = simNone
			if got := types(analyze(t, simulate(c), Options{})); len(got) == 0 {
				t.Errorf("%s: a store without isolation shows no anomaly", name)
			}
		}
	}
	if skew == 0 {
		t.Errorf("no snapshot isolation store showed write skew (G2-item) in ten histories")
	}
}
