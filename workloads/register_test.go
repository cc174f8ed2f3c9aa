package workloads

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

func TestRegisterGenerator(t *testing.T) {
	w := NewRegister(Options{Keys: 4, UniqueValues: true})
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	keys := map[string]bool{}
	written := map[string]bool{} // key and value
	for i := 0; i < 3000; i++ {
		op := w.Next(r)
		counts[op.F]++
		keys[op.Key] = true
		if op.Type != history.Invoke || len(op.Value) == 0 {
			t.Fatalf("bad invocation %+v", op)
		}
		var v int64
		switch op.F {
		case "write":
			if err := json.Unmarshal(op.Value, &v); err != nil {
				t.Fatal(err)
			}
		case "cas":
			var c [2]int64
			if err := json.Unmarshal(op.Value, &c); err != nil {
				t.Fatal(err)
			}
			if c[0] >= c[1] || c[0] < c[1]-2 {
				t.Fatalf("cas %s does not expect one of the two values drawn before it", op.Value)
			}
			v = c[1]
		default:
			continue
		}
		kv := fmt.Sprintf("%s=%d", op.Key, v)
		if written[kv] {
			t.Fatalf("%s written twice: a read of it would not name one write", kv)
		}
		written[kv] = true
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

// TestRegisterValuesUniqueAcrossClients draws from many clients at once (go test -race): values
// stay unique per key.
func TestRegisterValuesUniqueAcrossClients(t *testing.T) {
	w := NewRegister(Options{Keys: 1, UniqueValues: true})
	const clients, each = 8, 500
	got := make(chan string, clients*each)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 9))
			for range each {
				if op := w.Next(r); op.F == "write" {
					got <- string(op.Value)
				}
			}
		})
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for v := range got {
		if seen[v] {
			t.Fatalf("value %s written twice", v)
		}
		seen[v] = true
	}
	if len(seen) < clients*each/4 {
		t.Fatalf("only %d writes drawn", len(seen))
	}
}

// TestProfileGenerator: edits and reads over every record and field, every value new to its
// field of its record.
func TestProfileGenerator(t *testing.T) {
	w := NewProfile(Options{})
	r := rand.New(rand.NewPCG(3, 4))
	fields, seen := map[string]bool{}, map[string]bool{}
	counts := map[string]int{}
	for range 3000 {
		op := w.Next(r)
		counts[op.F]++
		if op.F != "set-field" {
			continue
		}
		var v SetField
		if err := json.Unmarshal(op.Value, &v); err != nil {
			t.Fatal(err)
		}
		fields[v.Field] = true
		k := op.Key + "." + v.Field + "=" + v.Value
		if seen[k] {
			t.Fatalf("%s written twice", k)
		}
		seen[k] = true
	}
	if len(fields) != len(ProfileFields) || counts["read-profile"] < 600 || counts["set-field"] < 1800 {
		t.Fatalf("mix %v, fields %v", counts, fields)
	}
	if got := len(w.Final()); got != 8 {
		t.Fatalf("%d final reads for 8 records", got)
	}
}

// TestClaimsGenerator: every claim has an owner of its own, and a release names the first owner
// drawn for its name since that name's last release.
func TestClaimsGenerator(t *testing.T) {
	w := NewClaims(Options{Keys: 2})
	r := rand.New(rand.NewPCG(5, 6))
	owners := map[string]bool{}
	since := map[string][]string{}
	counts := map[string]int{}
	for range 2000 {
		op := w.Next(r)
		counts[op.F]++
		var owner string
		if op.F != "read-owner" {
			if err := json.Unmarshal(op.Value, &owner); err != nil {
				t.Fatal(err)
			}
		}
		switch op.F {
		case "claim":
			if owners[owner] {
				t.Fatalf("owner %s claims twice", owner)
			}
			owners[owner] = true
			since[op.Key] = append(since[op.Key], owner)
		case "release":
			if len(since[op.Key]) == 0 || since[op.Key][0] != owner {
				t.Fatalf("release of %s by %s, not the first owner since the last release (%v)", op.Key, owner, since[op.Key])
			}
			since[op.Key] = nil
		}
	}
	if counts["claim"] < 800 || counts["release"] < 200 || counts["read-owner"] < 300 {
		t.Fatalf("mix %v", counts)
	}
}

// TestClaimsReleaseTheOwnerTheyWereTold: a store with one leader and three clients whose
// operations overlap (each takes effect when it completes, in an order drawn at random), which the
// generator learns from. A release names the owner last told it holds the name, so a name never
// stays stuck with an owner whose release is never drawn: claims keep succeeding to the end.
// Without what it learns, a release drawn while another claim was in flight names an owner that
// was refused, and the name stays held for good.
func TestClaimsReleaseTheOwnerTheyWereTold(t *testing.T) {
	w := NewClaims(Options{Keys: 2}).(*Claims)
	r := rand.New(rand.NewPCG(9, 10))
	holder := map[string]string{}
	lateClaims := 0 // acknowledged in the second half
	var pending []history.Op
	for n := 0; n < 8000; n++ {
		if len(pending) < 3 && r.IntN(2) == 0 {
			pending = append(pending, w.Next(r))
			continue
		}
		if len(pending) == 0 {
			continue
		}
		k := r.IntN(len(pending))
		op := pending[k]
		pending = append(pending[:k], pending[k+1:]...)
		var owner string
		_ = json.Unmarshal(op.Value, &owner)
		done := history.Op{Type: history.OK, F: op.F, Key: op.Key}
		switch op.F {
		case "claim":
			if holder[op.Key] != "" {
				done.Type = history.Fail
			} else {
				holder[op.Key] = owner
				if n > 4000 {
					lateClaims++
				}
			}
		case "release":
			if holder[op.Key] != owner {
				done.Type = history.Fail
			} else {
				holder[op.Key] = ""
			}
		}
		w.Learn(op, done)
	}
	if lateClaims < 100 {
		t.Fatalf("%d claims acknowledged in the second half: the names stayed held", lateClaims)
	}
}

// TestClaimsKeepAnOwnerWhoseReleaseFailed: a release can fail at a leader the claim has not
// reached yet; its owner is released again (it is dropped after three failures, its claim maybe
// lost), and then the first owner drawn since the last release is released.
func TestClaimsKeepAnOwnerWhoseReleaseFailed(t *testing.T) {
	w := NewClaims(Options{Keys: 1}).(*Claims)
	r := rand.New(rand.NewPCG(11, 12))
	claim := history.Op{Type: history.Invoke, F: "claim", Key: "name0", Value: history.Value("o-told")}
	w.Learn(claim, history.Op{Type: history.OK})
	released := func() string {
		for {
			if op := w.Next(r); op.F == "release" {
				var owner string
				_ = json.Unmarshal(op.Value, &owner)
				return owner
			}
		}
	}
	for try := 1; try <= 3; try++ {
		if got := released(); got != "o-told" {
			t.Fatalf("release %d names %s, not the owner told it holds the name", try, got)
		}
		w.Learn(history.Op{Type: history.Invoke, F: "release", Key: "name0", Value: history.Value("o-told")},
			history.Op{Type: history.Fail, Error: "not held by that owner"})
	}
	if got := released(); got == "o-told" {
		t.Fatal("an owner whose release failed three times is released again")
	}
}

// TestRegisterSmallValuesByDefault: without UniqueValues the values are 0 to 4, and every one of
// them is written.
func TestRegisterSmallValuesByDefault(t *testing.T) {
	w := NewRegister(Options{})
	r := rand.New(rand.NewPCG(7, 8))
	seen := map[int]bool{}
	for range 2000 {
		if op := w.Next(r); op.F == "write" {
			var v int
			if err := json.Unmarshal(op.Value, &v); err != nil || v < 0 || v > 4 {
				t.Fatalf("write of %s", op.Value)
			}
			seen[v] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("values written: %v", seen)
	}
}
