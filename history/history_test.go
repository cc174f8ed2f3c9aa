package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := Create(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := w.Append(Op{Process: p, Type: Invoke, F: "write", Key: "k", Value: Value(i)}); err != nil {
					t.Error(err)
				}
				if _, err := w.Append(Op{Process: p, Type: OK, F: "write", Key: "k", Value: Value(i)}); err != nil {
					t.Error(err)
				}
			}
		}(p)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(Op{Type: Invoke, F: "read"}); err == nil {
		t.Fatal("append after close succeeded")
	}
	ops, truncated, err := ReadFile(path)
	if err != nil || truncated {
		t.Fatalf("read: %v truncated=%v", err, truncated)
	}
	if len(ops) != 1600 {
		t.Fatalf("read %d ops, want 1600", len(ops))
	}
	if err := Validate(ops); err != nil {
		t.Fatalf("written history is invalid: %v", err)
	}
}

func TestWriterFlushesWithoutClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := Create(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Append(Op{Process: 0, Type: Invoke, F: "read", Value: Null}); err != nil {
		t.Fatal(err)
	}
	// The flusher must put the op on disk by itself, without Sync or Close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Count(b, []byte("\n")) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("op not flushed within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReaderRejectsBadLines(t *testing.T) {
	good := `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}`
	cases := []struct {
		name, line, want string
	}{
		{"array", `[1,2]`, "not a JSON object"},
		{"garbage", `hello`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"missing f", `{"index":1,"time":1,"process":0,"type":"ok"}`, "missing required field(s) [f]"},
		{"missing several", `{"f":"read"}`, "missing required field(s) [index time process type]"},
		{"bad type", `{"index":1,"time":1,"process":0,"type":"done","f":"read"}`, `type "done"`},
		{"wrong field type", `{"index":"one","time":1,"process":0,"type":"ok","f":"read"}`, "not a JSON object"},
		{"empty", ``, "empty line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := good + "\n" + c.line + "\n" + good + "\n"
			_, _, err := ReadAll(strings.NewReader(in))
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LineError", err)
			}
			if le.Line != 2 {
				t.Errorf("line = %d, want 2", le.Line)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestReaderAcceptsUnknownFieldsAndTruncatedTail(t *testing.T) {
	in := `{"index":0,"time":1,"process":0,"type":"invoke","f":"write","value":3,"future":{"x":1}}` + "\n" +
		`{"index":1,"time":2,"process":0,"type":"ok","f":"write","value":3}` + "\n" +
		`{"index":2,"time":3,"process":1,"type":"inv`
	ops, truncated, err := ReadAll(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !truncated || len(ops) != 2 {
		t.Fatalf("got %d ops, truncated=%v; want 2 ops and truncated", len(ops), truncated)
	}
	// A complete last line without a line end is an op, not a truncation.
	ops, truncated, err = ReadAll(strings.NewReader(in[:strings.LastIndex(in, "\n")]))
	if err != nil || truncated || len(ops) != 2 {
		t.Fatalf("got %d ops, truncated=%v, err=%v", len(ops), truncated, err)
	}
}

func TestValidator(t *testing.T) {
	op := func(i int64, p int, typ Type, f, key string) Op {
		return Op{Index: i, Time: i, Process: p, Type: typ, F: f, Key: key}
	}
	cases := []struct {
		name string
		ops  []Op
		want string // "" for valid
	}{
		{"valid", []Op{op(0, 0, Invoke, "read", "a"), op(1, 1, Invoke, "write", "a"), op(2, 0, OK, "read", "a"), op(3, 1, Info, "write", "a"), op(4, 2, Invoke, "read", "a")}, ""},
		{"pending at end is fine", []Op{op(0, 0, Invoke, "read", "a")}, ""},
		{"nemesis may reuse -1", []Op{op(0, -1, Invoke, "partition", ""), op(1, -1, Info, "partition", ""), op(2, -1, Invoke, "heal", ""), op(3, -1, Info, "heal", "")}, ""},
		{"index gap", []Op{op(0, 0, Invoke, "read", "a"), op(2, 0, OK, "read", "a")}, "index 2 where 1 was expected"},
		{"double invoke", []Op{op(0, 0, Invoke, "read", "a"), op(1, 0, Invoke, "read", "a")}, "still open"},
		{"orphan completion", []Op{op(0, 0, OK, "read", "a")}, "no open invoke"},
		{"mismatched f", []Op{op(0, 0, Invoke, "read", "a"), op(1, 0, OK, "write", "a")}, "does not match"},
		{"mismatched key", []Op{op(0, 0, Invoke, "read", "a"), op(1, 0, OK, "read", "b")}, "does not match"},
		{"invoke after info", []Op{op(0, 0, Invoke, "read", "a"), op(1, 0, Info, "read", "a"), op(2, 0, Invoke, "read", "a")}, "after an info"},
		{"time goes back", []Op{{Index: 0, Time: 5, Type: Invoke, F: "read"}, {Index: 1, Time: 4, Type: OK, F: "read"}}, "before the previous"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.ops)
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid history rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestPairsCompletesPendingAsInfo(t *testing.T) {
	ops := []Op{
		{Index: 0, Time: 1, Process: 0, Type: Invoke, F: "write", Value: Value(1)},
		{Index: 1, Time: 2, Process: 1, Type: Invoke, F: "read"},
		{Index: 2, Time: 3, Process: 1, Type: OK, F: "read", Value: Null},
	}
	pairs := Pairs(ops)
	if len(pairs) != 2 {
		t.Fatalf("%d pairs", len(pairs))
	}
	if !pairs[0].Pending || pairs[0].Completion.Type != Info {
		t.Fatalf("pending write not completed as info: %+v", pairs[0])
	}
	if pairs[1].Pending || pairs[1].Completion.Index != 2 {
		t.Fatalf("read paired wrongly: %+v", pairs[1])
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}` + "\n"))
	f.Add([]byte(`{"index":0,"time":1,"process":-1,"type":"info","f":"partition","value":{"cut":["n1->n2"]},"meta":{"a":[1,2]}}`))
	f.Add([]byte("{\"index\":0}\n[]\n\n"))
	f.Add([]byte(`{"index":1e400,"time":1,"process":0,"type":"ok","f":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for {
			op, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var le *LineError
				if !errors.As(err, &le) || le.Line < 1 {
					t.Fatalf("error without a line number: %v", err)
				}
				break
			}
			if !op.Type.Valid() {
				t.Fatalf("accepted an op with an invalid type: %+v", op)
			}
			// What the reader accepts, the writer's encoding reads back the same.
			var buf bytes.Buffer
			if err := appendLine(&buf, op); err != nil {
				t.Fatal(err)
			}
			back, err := ParseLine(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
			if err != nil {
				t.Fatalf("re-reading %q: %v", buf.String(), err)
			}
			if back.Index != op.Index || back.Type != op.Type || back.F != op.F || back.Process != op.Process {
				t.Fatalf("round trip changed the op: %+v -> %+v", op, back)
			}
		}
	})
}

// FuzzParseLine holds the fast path to the slow one: whatever the fast path accepts, encoding/json
// accepts as the same op.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"r0","value":null}`,
		`{"index":12,"time":99,"process":-1,"type":"info","f":"partition","value":{"shape":"ring","cut":["n2->n1"]},"meta":{"a":[1,{"b":"}"}]}}`,
		`{"index":3,"time":4,"process":2,"type":"ok","f":"buy","key":"s1","value":"n1-7","node":"n1","req":"b12","meta":{"retry":1},"extra":[1,2]}`,
		`{"index":1,"Index":2,"time":1,"process":0,"type":"ok","f":"x"}`,
		`{"index":1,"time":1,"process":0,"type":"ok","f":"x","value":1e5}`,
		`{"index":1,"time":1,"process":0,"type":"ok","f":"x","key":"a\"b"}`,
		` { "index" : 1 , "time" : 2 , "process" : 3 , "type" : "fail" , "f" : "cas" , "value" : [ 1 , 2 ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseFast(b, &interner{})
		slow, err := parseSlow(b)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", err, b)
		}
		if fast.Index != slow.Index || fast.Time != slow.Time || fast.Process != slow.Process ||
			fast.Type != slow.Type || fast.F != slow.F || fast.Key != slow.Key || fast.Node != slow.Node ||
			fast.Req != slow.Req || fast.Error != slow.Error ||
			!bytes.Equal(fast.Value, slow.Value) || !bytes.Equal(fast.Meta, slow.Meta) {
			t.Fatalf("paths disagree on %q:\nfast %+v\nslow %+v", b, fast, slow)
		}
	})
}

func TestWrittenLinesTakeTheFastPath(t *testing.T) {
	ops := []Op{
		{Index: 0, Time: 1, Process: 0, Type: Invoke, F: "buy", Key: "s1", Value: Value(1), Node: "n2", Req: "b-91ac"},
		{Index: 1, Time: 2, Process: 0, Type: OK, F: "buy", Key: "s1", Value: Value("n2-17"), Node: "n2", Req: "b-91ac", Meta: Value(map[string]any{"retry": 1})},
		{Index: 2, Time: 3, Process: -1, Type: Info, F: "partition", Value: Value(map[string]any{"cut": []string{"n1->n2"}}), Error: "timeout"},
		{Index: 3, Time: 4, Process: 5, Type: OK, F: "read-orders", Key: "s1", Value: Value([]map[string]any{{"order": "n1-1", "qty": 1}})},
	}
	for _, op := range ops {
		var buf bytes.Buffer
		if err := appendLine(&buf, op); err != nil {
			t.Fatal(err)
		}
		line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if _, ok := parseFast(line, nil); !ok {
			t.Errorf("the writer's line misses the fast path: %s", line)
		}
	}
}

// TestReaderTakesWhatEditorsWrite: a byte order mark, \r\n line ends and blank lines at the end
// are not errors; a blank line between ops still is.
func TestReaderTakesWhatEditorsWrite(t *testing.T) {
	good := `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}`
	next := `{"index":1,"time":2,"process":0,"type":"ok","f":"read","value":1}`
	for name, in := range map[string]string{
		"byte order mark":    "\xef\xbb\xbf" + good + "\n" + next + "\n",
		"crlf":               good + "\r\n" + next + "\r\n",
		"trailing blank":     good + "\n" + next + "\n\n",
		"trailing blanks":    good + "\n" + next + "\n \n\t\n",
		"no final line end":  good + "\n" + next,
		"crlf and blank end": good + "\r\n" + next + "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			ops, _, err := ReadAll(strings.NewReader(in))
			require.NoError(t, err)
			require.Len(t, ops, 2)
			assert.Equal(t, "1", string(ops[1].Value))
		})
	}
	_, _, err := ReadAll(strings.NewReader(good + "\n\n" + next + "\n"))
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, int64(2), le.Line)
}

// The writer's fast encoding gives exactly what Marshal gives, for ops of every shape it takes,
// and leaves the others to Marshal.
func TestFastLinesAreMarshals(t *testing.T) {
	ops := []Op{
		{Index: 0, Time: 1, Process: 0, Type: Invoke, F: "txn", Value: json.RawMessage(`[["append","3",1],["r","4",null]]`), Node: "n1"},
		{Index: 1, Time: 2, Process: -1, Type: Info, F: "partition", Value: json.RawMessage(`{"cut":["n1->n2"]}`)},
		{Index: 2, Time: 3, Process: 7, Type: OK, F: "buy", Key: "s0", Value: json.RawMessage(`"n1-3"`), Req: "r9", Meta: json.RawMessage(`{"ts":5,"served_by":"n2"}`)},
		{Index: 3, Time: 4, Process: 2, Type: Fail, F: "cas", Key: "k", Error: "precondition failed"},
		{Index: 4, Time: 5, Process: 2, Type: OK, F: "read", Key: "k<&>", Value: json.RawMessage(`"a\"b"`)},
		{Index: 5, Time: 6, Process: 2, Type: OK, F: "read", Key: "é", Value: json.RawMessage(`[1, 2]`)},
	}
	for _, op := range ops {
		want, err := Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := appendLine(&buf, op); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(buf.String(), "\n"); got != string(want) {
			t.Errorf("op %d:\n got %s\nwant %s", op.Index, got, want)
		}
	}
	if _, ok := appendFast(nil, ops[4]); ok {
		t.Error("a value with an escape went the fast way")
	}
	if _, ok := appendFast(nil, ops[5]); ok {
		t.Error("a value with spaces went the fast way")
	}
}
