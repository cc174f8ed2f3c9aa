package workloads

import (
	"math/rand/v2"
	"testing"

	"crossfire/history"
)

func TestRegisterGenerator(t *testing.T) {
	w := NewRegister(Options{Keys: 4})
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	keys := map[string]bool{}
	for i := 0; i < 3000; i++ {
		op := w.Next(r)
		counts[op.F]++
		keys[op.Key] = true
		if op.Type != history.Invoke || len(op.Value) == 0 {
			t.Fatalf("bad invocation %+v", op)
		}
	}
	if len(keys) != 4 || counts["read"] < 1200 || counts["write"] < 800 || counts["cas"] < 300 {
		t.Fatalf("mix %v over keys %v", counts, keys)
	}
	if got := len(w.Final()); got != 4 {
		t.Fatalf("%d final reads for 4 keys", got)
	}
	if _, err := New("nope", Options{}); err == nil {
		t.Fatal("unknown workload accepted")
	}
}
