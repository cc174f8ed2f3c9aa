package workloads

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

func TestCartGenerator(t *testing.T) {
	w := NewCart(Options{Keys: 2}).(*Cart)
	r := rand.New(rand.NewPCG(5, 6))
	added, removed := map[string]bool{}, map[string]bool{}
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		op := w.Next(r)
		counts[op.F]++
		item, _ := jsonString(op.Value)
		switch op.F {
		case "add":
			if added[item] {
				if !removed[item] {
					t.Fatalf("item %s added again before any remove of it", item)
				}
				counts["re-add"]++
			}
			added[item] = true
		case "remove":
			if !added[item] {
				t.Fatalf("remove of %s, never added", item)
			}
			removed[item] = true
		}
	}
	if counts["add"] < 1200 || counts["remove"] < 600 || counts["read"] < 200 || counts["re-add"] < 150 {
		t.Fatalf("mix %v", counts)
	}
	if !w.Retryable(history.Op{F: "add"}) || w.Retryable(history.Op{F: "remove"}) {
		t.Fatal("retryable wrong")
	}
}

func jsonString(raw []byte) (string, bool) {
	s := string(raw)
	return strings.Trim(s, `"`), len(s) > 1
}
