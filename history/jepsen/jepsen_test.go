package jepsen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
)

func readFile(t *testing.T, name string) []history.Op {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	ops, err := ReadEDN(f)
	require.NoError(t, err, name)
	require.NoError(t, history.Validate(ops), name)
	return ops
}

func check(t *testing.T, ops []history.Op, cs ...checkers.Checker) checkers.Summary {
	t.Helper()
	return checkers.Compose(context.Background(), checkers.Input{History: ops, Faults: nemesis.Faults()}, cs...)
}

func TestReadsARegisterWithFaults(t *testing.T) {
	ops := readFile(t, "register-valid.edn")
	require.Len(t, ops, 14)
	var nemesis []string
	for _, op := range ops {
		if op.IsNemesis() {
			nemesis = append(nemesis, string(op.Type)+" "+op.F)
		}
	}
	assert.Equal(t, []string{"invoke partition", "info partition", "invoke heal", "info heal"}, nemesis)
	assert.Equal(t, `"Cut off {:n1 #{:n2 :n3}}"`, string(ops[3].Value))
	assert.Equal(t, "timeout", ops[9].Error, ":error kept")
	assert.Equal(t, `null`, string(ops[4].Value), "a read's invoke")
	assert.Equal(t, int64(8600), ops[11].Time)
	s := check(t, ops, checkers.Linearizable{}, checkers.WellFormed{})
	require.Equal(t, checkers.True, s.Valid, "%+v", s.Results)
	// A last read of 2, which nothing wrote (the cas to 3 from 2 failed), is caught.
	stale := append([]history.Op(nil), ops...)
	stale[13].Value = json.RawMessage("2")
	s = check(t, stale, checkers.Linearizable{})
	require.Equal(t, checkers.False, s.Valid)
}

func TestReadsIndependentKeys(t *testing.T) {
	ops := readFile(t, "register-stale.edn")
	require.Len(t, ops, 10)
	assert.Equal(t, "7", ops[0].Key)
	assert.Equal(t, "1", string(ops[0].Value))
	assert.Equal(t, "8", ops[4].Key)
	assert.Equal(t, "[null,5]", string(ops[4].Value))
	assert.Equal(t, "null", string(ops[6].Value))
	s := check(t, ops, checkers.Linearizable{})
	require.Equal(t, checkers.False, s.Valid)
	a := s.Results[0].Anomalies
	require.NotEmpty(t, a)
	assert.Equal(t, "7", a[0].Key)
	assert.True(t, a[0].Definite)
}

func TestReadsASet(t *testing.T) {
	ops := readFile(t, "set-lost.edn")
	assert.Equal(t, `["1","3"]`, string(ops[7].Value), "a set is a sorted list of items")
	s := check(t, ops, checkers.CartChecker{})
	require.Equal(t, checkers.False, s.Valid, "%+v", s.Results)
	found := false
	for _, a := range s.Results[0].Anomalies {
		found = found || a.Kind == "lost-add" && a.Item == "2"
	}
	assert.True(t, found, "%+v", s.Results[0].Anomalies)
	// With 2 in the read, nothing is lost.
	ops[7].Value = json.RawMessage(`["1","2","3"]`)
	s = check(t, ops, checkers.CartChecker{})
	require.NotEqual(t, checkers.False, s.Valid, "%+v", s.Results)
}

// Elle's list-append histories are read as txn ops: each :value a list of micro-ops in JSON,
// keywords as strings, nil as null.
func TestReadsTransactions(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "list-append.edn"))
	require.NoError(t, err)
	defer f.Close()
	ops, err := ReadEDN(f)
	require.NoError(t, err)
	require.NotEmpty(t, ops)
	for _, op := range ops {
		if op.IsNemesis() {
			continue
		}
		require.Equal(t, "txn", op.F)
		var mops [][3]any
		require.NoError(t, json.Unmarshal(op.Value, &mops), "%s", op.Value)
	}
	mixed := `{:type :invoke, :f :txn, :value [[:append 1 2]], :process 0, :time 1}
{:type :ok, :f :txn, :value [[:append 1 2]], :process 0, :time 2}
{:type :invoke, :f :read, :value nil, :process 1, :time 3}
{:type :ok, :f :read, :value 2, :process 1, :time 4}
`
	_, err = ReadEDN(strings.NewReader(mixed))
	require.ErrorIs(t, err, ErrUnjudged)
	assert.Contains(t, err.Error(), "transactions alone")
}

func TestRefusesWhatItDoesNotJudge(t *testing.T) {
	counter := `{:type :invoke, :f :add, :value 2, :process 0, :time 1}
{:type :ok, :f :add, :value 2, :process 0, :time 2}
{:type :invoke, :f :read, :value nil, :process 0, :time 3}
{:type :ok, :f :read, :value 2, :process 0, :time 4}
`
	_, err := ReadEDN(strings.NewReader(counter))
	require.ErrorIs(t, err, ErrUnjudged)
	assert.Contains(t, err.Error(), "counter")
	for _, c := range []struct{ edn, want string }{
		{"{:type :invoke, :f :read, :process 0, :time 1}\n{:type :ok :f :read :value 1 :process 0 :time 2\n", "line 2: the value that begins here never ends"},
		{"{:type :invoke, :f :read, :process 0}\n\n[1 2 3]\n{:type :ok}\n", "line 3: an operation is an EDN map"},
		{"{:type :maybe, :f :read, :process 0}\n", "line 1: :type :maybe"},
		{"{:type :invoke, :f :read, :process \"p\"}\n", "line 1: :process"},
		{"{:type :invoke, :f :read, :process 0, :time 9}\n{:type :ok, :f :read, :process 0, :time 3}\n", "line 2: :time 3 is before"},
	} {
		_, err := ReadEDN(strings.NewReader(c.edn))
		var le *history.LineError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.edn, err, c.want)
		}
	}
}

// roundTrip writes ops as Jepsen would and reads them back.
func roundTrip(t *testing.T, ops []history.Op) []history.Op {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Write(&b, ops, EDN, ModelCASRegister))
	back, err := ReadEDN(&b)
	require.NoError(t, err)
	return back
}

// same compares two histories op by op: every field, values and meta as JSON data (EDN has one
// nil for an absent value and a null one).
func same(t *testing.T, want, got []history.Op) {
	t.Helper()
	require.Len(t, got, len(want))
	norm := func(raw json.RawMessage) string {
		if len(raw) == 0 {
			return "null"
		}
		var v any
		require.NoError(t, json.Unmarshal(raw, &v))
		b, _ := json.Marshal(v)
		return string(b)
	}
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, []any{w.Index, w.Time, w.Process, w.Type, w.F, w.Key, w.Node, w.Req, w.Error},
			[]any{g.Index, g.Time, g.Process, g.Type, g.F, g.Key, g.Node, g.Req, g.Error}, "op %d", i)
		require.Equal(t, norm(w.Value), norm(g.Value), "op %d value", i)
		require.Equal(t, norm(w.Meta), norm(g.Meta), "op %d meta", i)
	}
}

func TestCrossfireHistoriesReadBack(t *testing.T) {
	for _, name := range []string{"register-lww-nonlinearizable.jsonl", "inventory-pncounter-naive-caught.jsonl", "register-single-leader-valid.jsonl"} {
		t.Run(name, func(t *testing.T) {
			ops, _, err := history.ReadFile(filepath.Join("..", "..", "cmd", "crossfire", "testdata", name))
			require.NoError(t, err)
			same(t, ops, roundTrip(t, ops))
		})
	}
}

func TestWritesJepsensShapes(t *testing.T) {
	ops := []history.Op{
		{Index: 0, Time: 10, Process: 0, Type: history.Invoke, F: "write", Key: "r1", Value: json.RawMessage("3"), Node: "n1"},
		{Index: 1, Time: 20, Process: history.NemesisProcess, Type: history.Invoke, F: "partition", Value: json.RawMessage(`{"shape":"isolate","cut":["n1->n2"]}`)},
		{Index: 2, Time: 30, Process: 0, Type: history.OK, F: "write", Key: "r1", Node: "n1"},
		{Index: 3, Time: 40, Process: history.NemesisProcess, Type: history.Info, F: "partition", Value: json.RawMessage(`{"shape":"isolate","cut":["n1->n2"]}`)},
		{Index: 4, Time: 50, Process: 1, Type: history.Invoke, F: "read", Key: "r1", Value: history.Null},
		{Index: 5, Time: 60, Process: 1, Type: history.OK, F: "read", Key: "r1", Value: json.RawMessage("3")},
		{Index: 6, Time: 70, Process: 0, Type: history.Invoke, F: "cas", Key: "r1", Value: json.RawMessage("[3,4]")},
		{Index: 7, Time: 80, Process: 0, Type: history.Info, F: "cas", Key: "r1", Error: "timeout"},
	}
	var b bytes.Buffer
	require.NoError(t, Write(&b, ops, EDN, ModelCASRegister))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 8)
	for _, want := range []struct {
		line int
		has  []string
	}{
		{0, []string{":f :write", `:value ["r1" 3]`, ":process 0", ":type :invoke", ":time 10", ":index 0", `:node "n1"`}},
		{1, []string{":process :nemesis", ":type :info", ":f :partition"}},
		{3, []string{":process :nemesis", ":type :info"}},
		{4, []string{`:value ["r1" nil]`}},
		{6, []string{`:value ["r1" [3 4]]`}},
		{7, []string{":type :info", `:error "timeout"`}},
	} {
		for _, h := range want.has {
			assert.Contains(t, lines[want.line], h, "line %d", want.line)
		}
	}
	same(t, ops, roundTrip(t, ops))

	b.Reset()
	require.NoError(t, Write(&b, ops[:6], JSON, ModelRWRegister))
	lines = strings.Split(strings.TrimSpace(b.String()), "\n")
	var m []map[string]any
	for _, l := range lines {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		m = append(m, v)
	}
	assert.Equal(t, "txn", m[0]["f"])
	assert.Equal(t, []any{[]any{"w", "r1", 3.0}}, m[0]["value"])
	assert.Equal(t, []any{[]any{"w", "r1", 3.0}}, m[2]["value"], "the write's completion repeats its transaction")
	assert.Equal(t, []any{[]any{"r", "r1", nil}}, m[4]["value"])
	assert.Equal(t, []any{[]any{"r", "r1", 3.0}}, m[5]["value"])
	assert.Equal(t, "nemesis", m[1]["process"])
	b.Reset()
	require.NoError(t, Write(&b, ops, JSON, ModelRWRegister))
	lines = strings.Split(strings.TrimSpace(b.String()), "\n")
	var cas, casDone map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[6]), &cas))
	require.NoError(t, json.Unmarshal([]byte(lines[7]), &casDone))
	assert.Equal(t, []any{[]any{"r", "r1", nil}, []any{"w", "r1", 4.0}}, cas["value"], "a cas reads and writes in one transaction")
	assert.Equal(t, []any{[]any{"r", "r1", 3.0}, []any{"w", "r1", 4.0}}, casDone["value"])
	assert.Equal(t, "info", casDone["type"])
}

// An Encoder writes what Write writes, op by op, and holds no more than the ops in flight.
func TestEncoderHoldsOnlyTheOpsInFlight(t *testing.T) {
	var ops []history.Op
	for i := 0; i < 3000; i++ {
		p := i // each op on a process of its own, three of them in flight
		v := json.RawMessage(strconv.Itoa(i))
		ops = append(ops, history.Op{Process: p, Type: history.Invoke, F: "write", Key: "r1", Value: v})
		if i >= 2 {
			q := i - 2
			ops = append(ops, history.Op{Process: q, Type: history.OK, F: "write", Key: "r1"})
		}
	}
	for i := range ops {
		ops[i].Index, ops[i].Time = int64(i), int64(i)*10
	}
	for _, model := range Models {
		var whole, streamed bytes.Buffer
		require.NoError(t, Write(&whole, ops, JSON, model))
		e, err := NewEncoder(&streamed, JSON, model, true)
		require.NoError(t, err)
		for _, op := range ops {
			require.NoError(t, e.Encode(op))
			require.LessOrEqual(t, len(e.invoked), 3, "op %d", op.Index)
		}
		require.NoError(t, e.Flush())
		assert.Equal(t, whole.String(), streamed.String(), model)
	}
	_, err := NewEncoder(io.Discard, "yaml", ModelCASRegister, false)
	assert.ErrorContains(t, err, "want edn or json")
	_, err = NewEncoder(io.Discard, EDN, "knossos", false)
	assert.ErrorContains(t, err, `model "knossos"`)
}

// The fast reading of one-line ops gives what the full EDN reader gives, on every history in
// testdata and on lines it must leave to the full reader.
func TestFastReadingAgrees(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.edn"))
	require.NoError(t, err)
	inputs := map[string]string{
		"odd values": `{:type :invoke, :f :txn, :value [[:append "a b" 1.5] [:r :k nil]], :process 0, :time 1, :node "n1"}
{:type :ok, :f :txn, :value [[:append "a b" 1.5] [:r :k ["x" 2 true]]], :process 0, :time 2, :node "n1", :extra {:a 1, :b [1 2]}}
{:type :info, :f :start, :value nil, :process :nemesis, :time 3}
{:type :info, :f :start, :value {"n1" #{"n2"}}, :process :nemesis, :time 4}
`,
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		inputs[f] = string(b)
	}
	for name, in := range inputs {
		fast, errFast := ReadEDN(strings.NewReader(in))
		slowOnly = true
		slow, errSlow := ReadEDN(strings.NewReader(in))
		slowOnly = false
		if errSlow != nil {
			require.Error(t, errFast, name)
			continue
		}
		require.NoError(t, errFast, name)
		require.Equal(t, len(slow), len(fast), name)
		for i := range slow {
			a, b := slow[i], fast[i]
			assert.JSONEq(t, string(orNull(a.Value)), string(orNull(b.Value)), "%s op %d", name, i)
			assert.JSONEq(t, string(orObj(a.Meta)), string(orObj(b.Meta)), "%s op %d", name, i)
			a.Value, b.Value, a.Meta, b.Meta = nil, nil, nil, nil
			assert.Equal(t, a, b, "%s op %d", name, i)
		}
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func orObj(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// A crossfire history of transactions written for Elle: :f :txn with keyword micro-ops, a
// completion without a value repeating its invocation's; read back, the same transactions.
func TestWritesTransactionsForElle(t *testing.T) {
	ops := []history.Op{
		{Index: 0, Time: 1, Process: 0, Type: history.Invoke, F: "txn", Value: json.RawMessage(`[["append","3",1],["r","4",null]]`), Node: "n1"},
		{Index: 1, Time: 2, Process: 0, Type: history.OK, F: "txn", Value: json.RawMessage(`[["append","3",1],["r","4",[1,2]]]`), Node: "n1"},
		{Index: 2, Time: 3, Process: 1, Type: history.Invoke, F: "txn", Value: json.RawMessage(`[["w","5",7]]`)},
		{Index: 3, Time: 4, Process: 1, Type: history.Info, F: "txn", Error: "timeout"},
	}
	var b bytes.Buffer
	require.NoError(t, Write(&b, ops, EDN, ModelCASRegister))
	text := b.String()
	assert.Contains(t, text, `:f :txn`)
	assert.Contains(t, text, `[[:append "3" 1] [:r "4" [1 2]]]`)
	assert.Contains(t, text, `:type :info`)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	assert.Contains(t, lines[3], `[[:w "5" 7]]`, "an info completion repeats its transaction, as Jepsen's do")
	back, err := ReadEDN(strings.NewReader(text))
	require.NoError(t, err)
	require.Len(t, back, 4)
	assert.JSONEq(t, string(ops[1].Value), string(back[1].Value))
	assert.Equal(t, "n1", back[1].Node)
}
