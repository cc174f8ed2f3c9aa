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
