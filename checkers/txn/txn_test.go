package txn

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/history"
)

// events builds a history from lines "process type value": a transaction's invocation and its
// completion each a line, in the order they happened. A value written in Jepsen's short form,
// [[append x 1] [r x [1 2]] [w y 3] [r y nil]], is turned into the JSON of HISTORY.md.
func events(t testing.TB, lines ...string) []history.Op {
	t.Helper()
	var ops []history.Op
	for i, l := range lines {
		parts := strings.SplitN(strings.TrimSpace(l), " ", 3)
		if len(parts) != 3 {
			t.Fatalf("line %q: want process, type, value", l)
		}
		p, err := strconv.Atoi(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, history.Op{Index: int64(i), Time: int64(i) * 1000, Process: p, Type: history.Type(parts[1]),
			F: F, Value: []byte(short(parts[2])), Node: "n" + strconv.Itoa(p%3+1)})
	}
	return ops
}

// short turns [[append x 1] [r x [1 2]]] into [["append","x",1],["r","x",[1,2]]].
func short(s string) string {
	var b strings.Builder
	word := ""
	flush := func() {
		if word == "" {
			return
		}
		if _, err := strconv.Atoi(word); err == nil || word == "nil" {
			if word == "nil" {
				word = "null"
			}
			b.WriteString(word)
		} else {
			b.WriteString(strconv.Quote(word))
		}
		word = ""
	}
	last := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '[', ']', ' ':
			flush()
			if c == ' ' {
				if last != '[' && last != ',' && last != 0 {
					b.WriteByte(',')
					last = ','
				}
				continue
			}
			if c == '[' && last != 0 && last != '[' && last != ',' {
				b.WriteByte(',')
			}
			b.WriteByte(c)
			last = c
		default:
			if word == "" && last != 0 && last != '[' && last != ',' {
				b.WriteByte(',')
			}
			word += string(c)
			last = 'w'
		}
	}
	flush()
	return b.String()
}

// serial builds a history of transactions run one after another on process 0, each line
// "type value" (the invocation takes the value with its reads unknown).
func serial(t testing.TB, txns ...string) []history.Op {
	var lines []string
	for _, l := range txns {
		typ, val, _ := strings.Cut(l, " ")
		lines = append(lines, "0 invoke "+val, "0 "+typ+" "+val)
	}
	return events(t, lines...)
}

func analyze(t testing.TB, ops []history.Op, opts Options) *Analysis {
	t.Helper()
	b := NewBuilder()
	for _, op := range ops {
		b.Observe(op)
	}
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	return Analyze(context.Background(), h, opts)
}

func types(a *Analysis) []string {
	var out []string
	for _, an := range a.Anomalies {
		out = append(out, an.Type)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestShortForm(t *testing.T) {
	got := short("[[append x 1] [r x [1 2]] [w y nil] [r y []]]")
	want := `[["append","x",1],["r","x",[1,2]],["w","y",null],["r","y",[]]]`
	if got != want {
		t.Fatalf("short = %s, want %s", got, want)
	}
}

// Each anomaly class on the smallest history that shows it, and valid histories beside them.
// The histories carry no node, time or metadata the checker needs: only processes, types and
// values, as any store's client can record them.
func TestAnomalyClasses(t *testing.T) {
	cases := []struct {
		name string
		ops  []history.Op
		opts Options
		want []string // the anomaly types, sorted; none for a valid history
	}{
		{"list-append valid", serial(t,
			"ok [[append x 1] [append y 1]]",
			"ok [[r x [1]] [append x 2]]",
			"ok [[r x [1 2]] [r y [1]]]"), Options{}, nil},
		{"list-append concurrent, valid", events(t,
			"0 invoke [[append x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x []]]",
			"0 ok [[append x 1]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x [1]]]"), Options{}, nil},
		{"G0: writes interleaved on two keys", events(t,
			"0 invoke [[append x 1] [append y 1]]",
			"1 invoke [[append x 2] [append y 2]]",
			"0 ok [[append x 1] [append y 1]]",
			"1 ok [[append x 2] [append y 2]]",
			"2 invoke [[r x nil] [r y nil]]",
			"2 ok [[r x [1 2]] [r y [2 1]]]"), Options{}, []string{"G0"}},
		{"G1a: a failed append read", events(t,
			"0 invoke [[append x 1]]",
			"0 fail [[append x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x [1]]]"), Options{}, []string{"G1a"}},
		{"G1b: an intermediate append read", events(t,
			"0 invoke [[append x 1] [append x 2]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x [1]]]",
			"0 ok [[append x 1] [append x 2]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x [1 2]]]"), Options{}, []string{"G1b"}},
		{"G1c: each reads the other's append", events(t,
			"0 invoke [[append x 1] [r y nil]]",
			"1 invoke [[append y 1] [r x nil]]",
			"0 ok [[append x 1] [r y [1]]]",
			"1 ok [[append y 1] [r x [1]]]"), Options{}, []string{"G1c"}},
		{"G-single-item: read skew", events(t,
			"0 invoke [[append x 1] [append y 1]]",
			"1 invoke [[r x nil] [r y nil]]",
			"0 ok [[append x 1] [append y 1]]",
			"1 ok [[r x []] [r y [1]]]"), Options{}, []string{"G-single-item"}},
		{"G-nonadjacent-item: long fork", events(t,
			"0 invoke [[append x 1]]",
			"1 invoke [[append y 1]]",
			"2 invoke [[r x nil] [r y nil]]",
			"3 invoke [[r y nil] [r x nil]]",
			"0 ok [[append x 1]]",
			"1 ok [[append y 1]]",
			"2 ok [[r x [1]] [r y []]]",
			"3 ok [[r y [1]] [r x []]]"), Options{}, []string{"G-nonadjacent-item"}},
		{"G2-item: write skew", events(t,
			"0 invoke [[r x nil] [r y nil] [append x 1]]",
			"1 invoke [[r x nil] [r y nil] [append y 1]]",
			"0 ok [[r x []] [r y []] [append x 1]]",
			"1 ok [[r x []] [r y []] [append y 1]]",
			"2 invoke [[r x nil] [r y nil]]",
			"2 ok [[r x [1]] [r y [1]]]"), Options{}, []string{"G2-item"}},
		{"lost update", events(t,
			"0 invoke [[r x nil] [append x 1]]",
			"1 invoke [[r x nil] [append x 2]]",
			"0 ok [[r x []] [append x 1]]",
			"1 ok [[r x []] [append x 2]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x [1 2]]]"), Options{}, []string{"G-single-item", "lost-update"}},
		{"lost update among three, one of them read twice", lostUpdateAmongThree(t), Options{}, []string{"G-single-item", "lost-update"}},
		{"internal: a read without its own append", serial(t,
			"ok [[append x 1] [r x []]]"), Options{}, []string{"internal"}},
		{"duplicate elements", serial(t,
			"ok [[append x 1]]",
			"ok [[r x [1 1]]]"), Options{}, []string{"duplicate-elements"}},
		{"incompatible order", events(t,
			"0 invoke [[append x 1]]",
			"1 invoke [[append x 2]]",
			"0 ok [[append x 1]]",
			"1 ok [[append x 2]]",
			"2 invoke [[r x nil]]",
			"3 invoke [[r x nil]]",
			"2 ok [[r x [1 2]]]",
			"3 ok [[r x [2 1]]]"), Options{}, []string{"incompatible-order"}},
		{"future read", serial(t,
			"ok [[r x [1]] [append x 1]]"), Options{}, []string{"future-read"}},
		{"garbage read", serial(t,
			"ok [[append x 1]]",
			"ok [[r x [1 5]]]"), Options{}, []string{"garbage-read"}},
		{"dirty update", events(t,
			"0 invoke [[append x 1]]",
			"0 fail [[append x 1]]",
			"1 invoke [[append x 2]]",
			"1 ok [[append x 2]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x [1 2]]]"), Options{}, []string{"G1a", "dirty-update"}},
		{"G-single-item-process: a process misses its own append", serial(t,
			"ok [[append x 1]]",
			"ok [[r x []]]"), Options{}, []string{"G-single-item-process"}},
		{"G-single-item-realtime: a read misses an append completed before it", events(t,
			"0 invoke [[append x 1]]",
			"0 ok [[append x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x []]]"), Options{}, []string{"G-single-item-realtime"}},
		{"G-single-item-realtime: an append completed before a read that misses it, and others seen", events(t,
			"0 invoke [[append x 1]]",
			"0 ok [[append x 1]]",
			"1 invoke [[append x 2]]",
			"1 ok [[append x 2]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x [1]]]"), Options{}, []string{"G-single-item-realtime"}},
		{"an append of unknown outcome that a read shows is valid", events(t,
			"0 invoke [[append x 1]]",
			"0 info [[append x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x [1]]]"), Options{}, nil},
		{"an append of unknown outcome no read shows is valid", events(t,
			"0 invoke [[append x 1]]",
			"0 info [[append x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x []]]"), Options{}, nil},
		{"an append that failed and no read shows is valid", events(t,
			"0 invoke [[append x 1]]",
			"0 fail [[append x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x []]]"), Options{}, nil},

		// rw-register
		{"rw-register valid", serial(t,
			"ok [[w x 1] [w y 1]]",
			"ok [[r x 1] [w x 2]]",
			"ok [[r x 2] [r y 1]]"), Options{}, nil},
		{"rw-register G1c", events(t,
			"0 invoke [[w x 1] [r y nil]]",
			"1 invoke [[w y 1] [r x nil]]",
			"0 ok [[w x 1] [r y 1]]",
			"1 ok [[w y 1] [r x 1]]"), Options{}, []string{"G1c"}},
		{"rw-register G-single", events(t,
			"0 invoke [[w x 1] [w y 1]]",
			"1 invoke [[r x nil] [r y nil]]",
			"0 ok [[w x 1] [w y 1]]",
			"1 ok [[r x nil] [r y 1]]"), Options{}, []string{"G-single-item"}},
		{"rw-register lost update", events(t,
			"0 invoke [[r x nil] [w x 1]]",
			"1 invoke [[r x nil] [w x 2]]",
			"0 ok [[r x nil] [w x 1]]",
			"1 ok [[r x nil] [w x 2]]"), Options{}, []string{"G2-item", "lost-update"}},
		{"rw-register G1a", events(t,
			"0 invoke [[w x 1]]",
			"0 fail [[w x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x 1]]"), Options{}, []string{"G1a"}},
		{"rw-register G1b", events(t,
			"0 invoke [[w x 1] [w x 2]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x 1]]",
			"0 ok [[w x 1] [w x 2]]"), Options{}, []string{"G1b"}},
		{"rw-register internal", serial(t,
			"ok [[w x 1] [r x 2]]",
			"ok [[w x 2]]"), Options{}, []string{"internal"}},
		{"rw-register garbage read", serial(t,
			"ok [[r x 9]]"), Options{}, []string{"garbage-read"}},
		{"rw-register cyclic versions, writes following reads", events(t,
			"0 invoke [[r x nil] [w x 2]]",
			"1 invoke [[r x nil] [w x 1]]",
			"0 ok [[r x 1] [w x 2]]",
			"1 ok [[r x 2] [w x 1]]"), Options{WFRKeys: true}, []string{"cyclic-versions"}},
		{"rw-register the same without the inference is G1c", events(t,
			"0 invoke [[r x nil] [w x 2]]",
			"1 invoke [[r x nil] [w x 1]]",
			"0 ok [[r x 1] [w x 2]]",
			"1 ok [[r x 2] [w x 1]]"), Options{}, []string{"G1c"}},
		{"rw-register stale read of the initial state", events(t,
			"0 invoke [[w x 1]]",
			"0 ok [[w x 1]]",
			"1 invoke [[r x nil]]",
			"1 ok [[r x nil]]"), Options{}, []string{"G-single-item-realtime"}},
		{"rw-register stale read, linearizable keys: the versions cannot be ordered", events(t,
			"0 invoke [[w x 1]]",
			"0 ok [[w x 1]]",
			"1 invoke [[w x 2]]",
			"1 ok [[w x 2]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x 1]]"), Options{LinearizableKeys: true}, []string{"cyclic-versions"}},
		{"rw-register sequential keys: one process writes 1 then 2, another reads 2 then 1", events(t,
			"1 invoke [[w x 1]]",
			"1 ok [[w x 1]]",
			"1 invoke [[w x 2]]",
			"1 ok [[w x 2]]",
			"0 invoke [[r x nil]]",
			"0 ok [[r x 2]]",
			"0 invoke [[r x nil]]",
			"0 ok [[r x 1]]"), Options{SequentialKeys: true}, []string{"cyclic-versions"}},
		{"rw-register stale read, without inferences: nothing to order 1 and 2", events(t,
			"0 invoke [[w x 1]]",
			"0 ok [[w x 1]]",
			"1 invoke [[w x 2]]",
			"1 ok [[w x 2]]",
			"2 invoke [[r x nil]]",
			"2 ok [[r x 1]]"), Options{}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := analyze(t, c.ops, c.opts)
			if got := types(a); !slices.Equal(got, c.want) {
				t.Errorf("anomalies %v, want %v", got, c.want)
				for _, an := range a.Anomalies {
					t.Logf("%s: %s", an.Type, an.Text)
				}
			}
			if len(a.Unknown) > 0 {
				t.Errorf("unknown: %v", a.Unknown)
			}
		})
	}
}

func TestModels(t *testing.T) {
	for _, c := range []struct {
		types   []string
		weakest string
	}{
		{[]string{"G0"}, "read-uncommitted"},
		{[]string{"G1c"}, "read-committed"},
		{[]string{"G-single-item"}, "consistent-view"},
		{[]string{"G-nonadjacent-item"}, "snapshot-isolation"},
		{[]string{"G2-item"}, "repeatable-read"},
		{[]string{"G-single-item-realtime"}, "strong-snapshot-isolation"},
		{[]string{"G2-item-process"}, "strong-session-serializable"},
		{[]string{"internal"}, "consistent-view"},
		{[]string{"incompatible-order"}, "read-committed"},
		{[]string{"garbage-read"}, "read-uncommitted"},
	} {
		out := RuledOut(c.types)
		if len(out) == 0 || out[0] != c.weakest {
			t.Errorf("%v rules out %v, want %s first", c.types, out, c.weakest)
		}
	}
	psi, _ := LookupModel("parallel-snapshot-isolation")
	if psi.RulesOut("G-nonadjacent-item") || !psi.RulesOut("G-single-item") || !psi.RulesOut("lost-update") {
		t.Errorf("parallel snapshot isolation allows long fork and forbids G-single and lost updates")
	}
	if _, err := LookupModel("bogus"); err == nil || !strings.Contains(err.Error(), "strict-serializable") {
		t.Errorf("an unknown model names the valid ones: %v", err)
	}
}

func TestWeakest(t *testing.T) {
	for _, c := range []struct {
		types []string
		want  []string
	}{
		{[]string{"G2-item"}, []string{"repeatable-read"}},
		{[]string{"G0", "G2-item"}, []string{"read-uncommitted"}},
		{[]string{"G-nonadjacent-item"}, []string{"snapshot-isolation"}},
		{[]string{"G-single-item-realtime"}, []string{"strong-snapshot-isolation"}},
		{[]string{"G2-item-process"}, []string{"strong-session-serializable"}},
		{nil, nil},
	} {
		if got := Weakest(c.types); !slices.Equal(got, c.want) {
			t.Errorf("Weakest(%v) = %v, want %v", c.types, got, c.want)
		}
	}
}

// lostUpdateAmongThree: transactions 1 and 2 each read x empty (1 twice) and append to it; an
// unrelated transaction 0 comes first.
func lostUpdateAmongThree(t testing.TB) []history.Op {
	return events(t,
		"9 invoke [[append z 1]]",
		"9 ok [[append z 1]]",
		"0 invoke [[r x nil] [r x nil] [append x 1]]",
		"1 invoke [[r x nil] [append x 2]]",
		"0 ok [[r x []] [r x []] [append x 1]]",
		"1 ok [[r x []] [append x 2]]",
		"2 invoke [[r x nil]]",
		"2 ok [[r x [1 2]]]")
}

// A lost update names the transactions that read the version and wrote the key, and only them.
func TestLostUpdateNamesItsTransactions(t *testing.T) {
	a := analyze(t, lostUpdateAmongThree(t), Options{})
	for _, an := range a.Anomalies {
		if an.Type == "lost-update" && (len(an.Txns) != 2 || an.Txns[0] != 1 || an.Txns[1] != 2) {
			t.Errorf("lost update of %v, want transactions 1 and 2: %s", an.Txns, an.Text)
		}
	}
}
