package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// readAllNext and readAllBatches read a history both ways: the ops, the error that ended it,
// whether its last line was cut off, and the lines read.
type readOutcome struct {
	ops       []Op
	err       string
	truncated bool
	line      int64
}

func readAllNext(b []byte) readOutcome {
	r := NewReader(bytes.NewReader(b))
	var o readOutcome
	for {
		op, err := r.Next()
		if err != nil {
			if err != io.EOF {
				o.err = err.Error()
			}
			break
		}
		o.ops = append(o.ops, op)
	}
	o.truncated, o.line = r.Truncated(), r.Line()
	return o
}

func readAllBatches(b []byte, workers int) readOutcome {
	r := NewReader(bytes.NewReader(b))
	s := r.Batches(workers)
	var o readOutcome
	for batch := range s.C() {
		o.ops = append(o.ops, batch...)
		s.Release(batch)
	}
	if err := s.Err(); err != nil {
		o.err = err.Error()
	}
	o.truncated, o.line = r.Truncated(), r.Line()
	return o
}

func sameOutcome(t *testing.T, in []byte, workers int) {
	t.Helper()
	want, got := readAllNext(in), readAllBatches(in, workers)
	if want.err != got.err || want.truncated != got.truncated || len(want.ops) != len(got.ops) {
		t.Fatalf("%q with %d workers:\nNext    %d ops, err %q, truncated %v, line %d\nBatches %d ops, err %q, truncated %v, line %d",
			in, workers, len(want.ops), want.err, want.truncated, want.line, len(got.ops), got.err, got.truncated, got.line)
	}
	for i := range want.ops {
		if !reflect.DeepEqual(want.ops[i], got.ops[i]) {
			t.Fatalf("%q: op %d: Next %+v, Batches %+v", in, i, want.ops[i], got.ops[i])
		}
	}
	if want.err == "" && want.line != got.line {
		t.Fatalf("%q: Next read %d lines, Batches %d", in, want.line, got.line)
	}
}

var batchCases = []string{
	"",
	"\n",
	"\xef\xbb\xbf" + `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"r0","value":null}` + "\r\n",
	lines(5) + "\n\n",
	lines(5) + "\n  \n\t\n",
	lines(3) + "\n" + lines(2),
	lines(4) + `{"index":9,"time":`,
	lines(4) + `{"index":9,"time":` + "\n" + lines(1),
	lines(2) + "not json\n" + lines(2),
	lines(2) + `{"index":1,"time":1,"process":0,"type":"bogus","f":"x"}` + "\n",
	lines(3) + `{"index":3,"time":4,"process":2,"type":"ok","f":"buy","key":"a\"b","value":"n1-7","meta":{"retry":1}}` + "\n",
	"\n\n" + lines(2),
	lines(1) + "\r\n" + lines(1),
}

func lines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"index":%d,"time":%d,"process":%d,"type":"invoke","f":"write","key":"r%d","value":%d,"node":"n%d"}`+"\n", i, i*10, i%3, i%2, i, i%3+1)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Batches reads every history as Next does, whatever the size of its blocks and the number of
// workers: the same ops, the same error at the same line, the same cut-off last line.
func TestBatchesReadAsNextDoes(t *testing.T) {
	defer func(n int) { blockBytes = n }(blockBytes)
	for _, size := range []int{1, 7, 64, 1 << 20} {
		blockBytes = size
		for _, workers := range []int{1, 2, 5} {
			for _, c := range batchCases {
				sameOutcome(t, []byte(c), workers)
			}
		}
	}
}

func FuzzBatches(f *testing.F) {
	for _, c := range batchCases {
		f.Add([]byte(c), uint8(9))
	}
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		defer func(n int) { blockBytes = n }(blockBytes)
		blockBytes = 1 + int(size)
		sameOutcome(t, in, 3)
	})
}

// A line over the bound is an error that names it, and stopping early closes the channel.
func TestBatchesBoundAndStop(t *testing.T) {
	defer func(n int) { blockBytes = n }(blockBytes)
	blockBytes = 1 << 16
	long := lines(2) + "\n" + `{"index":2,"time":1,"process":0,"type":"ok","f":"x","value":"` + strings.Repeat("x", MaxLineBytes) + `"}` + "\n"
	s := NewReader(strings.NewReader(long)).Batches(2)
	n := 0
	for b := range s.C() {
		n += len(b)
	}
	var le *LineError
	if !errors.As(s.Err(), &le) || le.Line != 3 || n != 2 {
		t.Fatalf("%d ops, err %v; want 2 ops and line 3 too long", n, s.Err())
	}

	blockBytes = 64
	s = NewReader(strings.NewReader(lines(1000))).Batches(2)
	<-s.C()
	s.Stop()
	for range s.C() {
	}
	if s.Err() != nil {
		t.Fatalf("stopped: %v", s.Err())
	}
}

// NewBatchStream hands over what next returns in order, in batches, and the error that ended
// it; io.EOF is no error.
func TestNewBatchStream(t *testing.T) {
	for _, end := range []error{io.EOF, errors.New("disk gone")} {
		i := 0
		s := NewBatchStream(func() (Op, error) {
			if i == 1300 {
				return Op{}, end
			}
			i++
			return Op{Index: int64(i - 1)}, nil
		})
		var got []int64
		for b := range s.C() {
			for _, op := range b {
				got = append(got, op.Index)
			}
			s.Release(b)
		}
		if len(got) != 1300 || !slices.IsSorted(got) || got[0] != 0 {
			t.Fatalf("%d ops, in order %v", len(got), slices.IsSorted(got))
		}
		if want := end; (want == io.EOF) != (s.Err() == nil) || want != io.EOF && s.Err() != want {
			t.Fatalf("ended by %v, Err %v", end, s.Err())
		}
	}
}
