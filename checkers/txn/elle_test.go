package txn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/history"
)

// ElleClasspath names the environment variable that holds a Java classpath with Elle, Jepsen's
// history library and Clojure: where it is set (and java runs), TestAgreesWithElle judges the
// same histories with both checkers.
const ElleClasspath = "CROSSFIRE_ELLE_CLASSPATH"

// writeEDN writes a history as Jepsen records it: one op map a line, micro-ops as vectors with
// keyword functions.
func writeEDN(t testing.TB, path string, ops []history.Op) {
	t.Helper()
	var b bytes.Buffer
	for _, op := range ops {
		var mops [][3]json.RawMessage
		if err := json.Unmarshal(op.Value, &mops); err != nil {
			t.Fatal(err)
		}
		var v strings.Builder
		v.WriteByte('[')
		for i, m := range mops {
			if i > 0 {
				v.WriteByte(' ')
			}
			var f string
			_ = json.Unmarshal(m[0], &f)
			val := strings.NewReplacer("null", "nil", ",", " ").Replace(string(m[2]))
			fmt.Fprintf(&v, "[:%s %s %s]", f, m[1], val)
		}
		v.WriteByte(']')
		fmt.Fprintf(&b, "{:index %d, :time %d, :type :%s, :process %d, :f :txn, :value %s}\n", op.Index, op.Time, op.Type, op.Process, v.String())
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAgreesWithElle judges generated histories (a strict serializable store, snapshot
// isolation, no isolation; list-append and rw-register; several seeds) with crossfire and with
// Elle, and holds the two to the same verdict, and crossfire to every kind of anomaly Elle
// names on histories whose lists agree (on a key with incompatible orders, Elle goes on to infer
// dependencies from the longest list, which crossfire does not: no one order explains the
// reads).
func TestAgreesWithElle(t *testing.T) {
	cp := os.Getenv(ElleClasspath)
	if cp == "" {
		t.Skipf("Elle is not installed here: set %s to a classpath holding Elle and Clojure to compare with it", ElleClasspath)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java is not installed here")
	}
	dir := t.TempDir()
	type gen struct {
		path string
		ops  []history.Op
	}
	var gens []gen
	for _, register := range []bool{false, true} {
		for _, store := range []simStore{simSerial, simSI, simNone} {
			for seed := uint64(1); seed <= 4; seed++ {
				c := simConfig{store: store, txns: 800, register: register, failRate: 0.05, infoRate: 0.02, seed: seed}
				kind := "list-append"
				if register {
					kind = "rw-register"
				}
				path := filepath.Join(dir, fmt.Sprintf("%s-%d.%s.edn", store, seed, kind))
				ops := simulate(c)
				writeEDN(t, path, ops)
				gens = append(gens, gen{path, ops})
			}
		}
	}
	args := []string{"-cp", cp, "clojure.main", filepath.Join("testdata", "elle-check.clj")}
	for _, g := range gens {
		args = append(args, g.path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "java", args...).Output()
	if err != nil {
		t.Fatalf("Elle: %v", err)
	}
	line := regexp.MustCompile(`^\{:file "([^"]+)", :valid\? (\S+), :types \(?([^)]*)\)?\}$`)
	elle := map[string][2]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Logf("Elle said: %s", sc.Text())
			continue
		}
		elle[m[1]] = [2]string{m[2], strings.ReplaceAll(m[3], `"`, "")}
	}
	for _, g := range gens {
		e, ok := elle[g.path]
		if !ok {
			t.Errorf("%s: Elle gave no verdict", filepath.Base(g.path))
			continue
		}
		a := analyze(t, g.ops, Options{})
		strict, _ := LookupModel(DefaultModel)
		valid := "true"
		var ours []string
		for _, an := range a.Anomalies {
			if strict.RulesOut(an.Type) {
				valid = "false"
			}
			b, _ := Base(an.Type)
			ours = append(ours, b)
		}
		t.Logf("%s: Elle valid? %s %s; crossfire %s %v", filepath.Base(g.path), e[0], e[1], valid, types(a))
		if e[0] != valid {
			t.Errorf("%s: Elle says valid? %s (%s), crossfire %s (%v)", filepath.Base(g.path), e[0], e[1], valid, types(a))
			continue
		}
		if slices.Contains(ours, "incompatible-order") {
			continue
		}
		for _, typ := range strings.Fields(e[1]) {
			b, _ := Base(typ)
			if known := slices.Contains(CycleTypes, b) || slices.Contains(serializable, b); known && !slices.Contains(ours, b) {
				t.Errorf("%s: Elle finds %s, crossfire does not (%v)", filepath.Base(g.path), typ, types(a))
			}
		}
	}
}
