package checkers

import (
	"fmt"
	"hash/maphash"
)

// strRef is a string kept in an arena: its offset in the upper 40 bits, its length in the lower
// 24. The zero strRef is the empty string.
type strRef uint64

const (
	refLenBits = 24
	maxRefLen  = 1<<refLenBits - 1
	maxRefOff  = 1<<(64-refLenBits) - 1
)

// arena holds strings side by side in one byte slice, so that a million of them are neither a
// million allocations nor a million pointers for the garbage collector to follow.
type arena struct{ b []byte }

func (a *arena) add(s string) strRef { return addTo(a, s) }

func addTo[T string | []byte](a *arena, s T) strRef {
	if len(s) == 0 {
		return 0
	}
	if len(s) > maxRefLen || len(a.b) > maxRefOff {
		panic(fmt.Sprintf("a string of %d bytes at %d is beyond what the checker keeps", len(s), len(a.b)))
	}
	r := strRef(uint64(len(a.b))<<refLenBits | uint64(len(s)))
	a.b = append(a.b, s...)
	return r
}

func (a *arena) bytes(r strRef) []byte {
	off, n := uint64(r)>>refLenBits, uint64(r)&maxRefLen
	return a.b[off : off+n : off+n]
}

// str is the string r refers to, copied out.
func (a *arena) str(r strRef) string { return string(a.bytes(r)) }

// is reports whether r refers to s.
func (a *arena) is(r strRef, s string) bool { return string(a.bytes(r)) == s }

// idTable numbers distinct strings (request ids) 0, 1, 2 … in the order they are first added,
// and finds a string's number again. Its strings lie in an arena and its index is open
// addressing over plain integers: nothing in it is a pointer, so however many ids a history has,
// the garbage collector has nothing to follow in it.
type idTable struct {
	seed   maphash.Seed
	keys   arena
	refs   []strRef // by number
	hashes []uint64 // by number
	slots  []uint64 // a power of two of them; 0 is empty, else the hash's upper 32 bits and number+1
}

func newIDTable() *idTable { return &idTable{seed: maphash.MakeSeed()} }

// Len is how many ids the table holds.
func (t *idTable) Len() int { return len(t.refs) }

// str is id number i.
func (t *idTable) str(i int32) string { return t.keys.str(t.refs[i]) }

// find returns id's number, or -1 and the hash to add it with.
func (t *idTable) find(id string) (int32, uint64) {
	return lookup(t, id, maphash.String(t.seed, id))
}

// findBytes is find for an id held as bytes (maphash hashes a string and its bytes alike).
func (t *idTable) findBytes(id []byte) (int32, uint64) {
	return lookup(t, id, maphash.Bytes(t.seed, id))
}

func lookup[T string | []byte](t *idTable, id T, h uint64) (int32, uint64) {
	if len(t.slots) == 0 {
		return -1, h
	}
	mask := uint64(len(t.slots) - 1)
	tag := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return -1, h
		}
		if s>>32 == tag {
			n := int32(uint32(s) - 1)
			if string(t.keys.bytes(t.refs[n])) == string(id) {
				return n, h
			}
		}
	}
}

// add numbers an id that find did not find (h is the hash find returned) and returns its number.
func (t *idTable) add(id string, h uint64) int32 { return addID(t, id, h) }

// addBytes is add for an id held as bytes.
func (t *idTable) addBytes(id []byte, h uint64) int32 { return addID(t, id, h) }

func addID[T string | []byte](t *idTable, id T, h uint64) int32 {
	if 4*(len(t.refs)+1) > 3*len(t.slots) {
		t.grow()
	}
	n := int32(len(t.refs))
	t.refs = append(t.refs, addTo(&t.keys, id))
	t.hashes = append(t.hashes, h)
	t.place(h, n)
	return n
}

func (t *idTable) place(h uint64, n int32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = h>>32<<32 | uint64(uint32(n)+1)
}

func (t *idTable) grow() {
	size := max(1024, 2*len(t.slots))
	t.slots = make([]uint64, size)
	for n, h := range t.hashes {
		t.place(h, int32(n))
	}
}
