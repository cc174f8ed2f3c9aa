package history

import (
	"slices"
	"testing"
)

// A completion completes the open invoke of its process; one without an invoke completes
// nothing; an invoke never completed stays pending.
func TestMatcher(t *testing.T) {
	var m Matcher[int64]
	ops := []Op{
		{Index: 0, Process: 1, Type: Invoke},
		{Index: 1, Process: 2, Type: Invoke},
		{Index: 2, Process: 1, Type: OK},
		{Index: 3, Process: 3, Type: Fail}, // no invoke
		{Index: 4, Process: 1, Type: Invoke},
	}
	var got [][2]int64
	for _, op := range ops {
		if inv, ok := m.Observe(op, op.Index); ok {
			got = append(got, [2]int64{inv, op.Index})
		}
	}
	if !slices.Equal(got, [][2]int64{{0, 2}}) {
		t.Fatalf("pairs %v", got)
	}
	pending := slices.Sorted(m.Pending())
	if !slices.Equal(pending, []int64{1, 4}) || m.Len() != 2 {
		t.Fatalf("pending %v", pending)
	}
	if was, open := m.Invoke(Op{Process: 2, Type: Invoke}, 9); !open || was != 1 {
		t.Fatalf("a second invoke on process 2 did not report the first (%d, %v)", was, open)
	}
}

// Processes kept by number and processes kept in the map (the nemesis's -1, very large numbers)
// pair alike, count alike and are all pending.
func TestMatcherAnyProcessNumber(t *testing.T) {
	var m Matcher[int64]
	procs := []int{-1, 0, 7, denseProcesses - 1, denseProcesses, 1 << 40}
	for i, p := range procs {
		if _, open := m.Invoke(Op{Process: p, Type: Invoke}, int64(i)); open {
			t.Fatalf("process %d open before its invoke", p)
		}
	}
	if m.Len() != len(procs) {
		t.Fatalf("%d open, want %d", m.Len(), len(procs))
	}
	if got := slices.Sorted(m.Pending()); !slices.Equal(got, []int64{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("pending %v", got)
	}
	for i, p := range procs {
		if v, ok := m.Complete(Op{Process: p, Type: OK}); !ok || v != int64(i) {
			t.Fatalf("process %d completed %d, %v", p, v, ok)
		}
		if _, ok := m.Complete(Op{Process: p, Type: OK}); ok {
			t.Fatalf("process %d completed twice", p)
		}
	}
	if m.Len() != 0 || len(slices.Collect(m.Pending())) != 0 {
		t.Fatalf("%d still open", m.Len())
	}
}
