package txn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
)

// A simulated store that runs transactions of the list-append or rw-register workload, so that
// the tests and benchmarks have histories of any size with a known answer, recorded as a client
// of any store would record them: processes, types and values, nothing else.
type simStore string

const (
	// simSerial applies each transaction whole at one instant between its invocation and its
	// completion: strict serializable.
	simSerial simStore = "serial"
	// simSI reads from a snapshot taken at the invocation and commits at the completion unless
	// a transaction that committed since wrote a key it writes (first committer wins): snapshot
	// isolation, which allows write skew (G2-item).
	simSI simStore = "si"
	// simNone applies every micro-op at its own instant: no isolation at all.
	simNone simStore = "none"
)

type simConfig struct {
	store     simStore
	txns      int
	procs     int
	keys      int // active keys
	maxLen    int
	maxWrites int
	register  bool    // rw-register instead of list-append
	failRate  float64 // transactions that abort
	infoRate  float64 // transactions whose outcome the client never learns
	seed      uint64
}

// simulate runs the store and returns its history (crossfire's ops, with only process, type, f
// and value set, and times that grow by one each op).
func simulate(c simConfig) []history.Op {
	r := rand.New(rand.NewPCG(c.seed, 7))
	if c.procs == 0 {
		c.procs = 5
	}
	if c.keys == 0 {
		c.keys = 10
	}
	if c.maxLen == 0 {
		c.maxLen = 4
	}
	if c.maxWrites == 0 {
		c.maxWrites = 32
	}
	type mop struct {
		f    string
		k, v int
		list []int
		reg  int // -1 is nil
	}
	type pending struct {
		proc     int
		mops     []mop
		snapshot int // commit count at the invocation (si)
		done     int // micro-ops applied (none)
	}
	state := map[int][]int{}    // list-append: each key's list; rw-register: [value]
	commits := []map[int]bool{} // the keys each commit wrote, in order (si)
	versions := []map[int][]int{}
	active := make([]int, c.keys)
	writes := make([]int, c.keys)
	for i := range active {
		active[i] = i
	}
	nextKey, nextVal := c.keys, map[int]int{}
	var ops []history.Op
	emit := func(proc int, typ history.Type, ms []mop, filled bool) {
		var b strings.Builder
		b.WriteByte('[')
		for i, m := range ms {
			if i > 0 {
				b.WriteByte(',')
			}
			switch {
			case m.f != "r":
				fmt.Fprintf(&b, `["%s",%d,%d]`, m.f, m.k, m.v)
			case !filled:
				fmt.Fprintf(&b, `["r",%d,null]`, m.k)
			case c.register && m.reg < 0:
				fmt.Fprintf(&b, `["r",%d,null]`, m.k)
			case c.register:
				fmt.Fprintf(&b, `["r",%d,%d]`, m.k, m.reg)
			default:
				b.WriteString(`["r",` + fmt.Sprint(m.k) + `,[`)
				for j, v := range m.list {
					if j > 0 {
						b.WriteByte(',')
					}
					fmt.Fprint(&b, v)
				}
				b.WriteString("]]")
			}
		}
		b.WriteByte(']')
		ops = append(ops, history.Op{Index: int64(len(ops)), Time: int64(len(ops)), Process: proc, Type: typ, F: F, Value: []byte(b.String())})
	}
	read := func(snap map[int][]int, k int) ([]int, int) {
		l := snap[k]
		if c.register {
			if len(l) == 0 {
				return nil, -1
			}
			return nil, l[0]
		}
		return slices.Clone(l), 0
	}
	apply := func(m *mop, view map[int][]int) {
		if m.f == "r" {
			m.list, m.reg = read(view, m.k)
			if m.list == nil && !c.register {
				m.list = []int{}
			}
			return
		}
		if c.register {
			view[m.k] = []int{m.v}
		} else {
			view[m.k] = append(slices.Clip(view[m.k]), m.v)
		}
	}
	inflight := map[int]*pending{}
	procOf := make([]int, c.procs) // each client's current process number
	for i := range procOf {
		procOf[i] = i
	}
	nextProc := c.procs
	invoked := 0
	for invoked < c.txns || len(inflight) > 0 {
		cl := r.IntN(c.procs)
		p, busy := inflight[cl]
		if !busy {
			if invoked == c.txns {
				continue
			}
			invoked++
			n := 1 + r.IntN(c.maxLen)
			p = &pending{proc: procOf[cl], snapshot: len(commits)}
			for range n {
				s := r.IntN(len(active))
				if r.IntN(3) == 0 {
					s = 0 // one key hotter than the rest, for contention
				}
				k := active[s]
				if r.IntN(2) == 0 {
					p.mops = append(p.mops, mop{f: "r", k: k})
					continue
				}
				nextVal[k]++
				f := "append"
				if c.register {
					f = "w"
				}
				p.mops = append(p.mops, mop{f: f, k: k, v: nextVal[k]})
				if writes[s]++; writes[s] >= c.maxWrites {
					active[s], writes[s] = nextKey, 0
					nextKey++
				}
			}
			inflight[cl] = p
			emit(p.proc, history.Invoke, p.mops, false)
			continue
		}
		if c.store == simNone && p.done < len(p.mops) && r.IntN(2) == 0 {
			apply(&p.mops[p.done], state)
			p.done++
			continue
		}
		delete(inflight, cl)
		// commit runs the transaction and says whether it committed
		commit := func() bool {
			switch c.store {
			case simSerial:
				for i := range p.mops {
					apply(&p.mops[i], state)
				}
			case simNone:
				for ; p.done < len(p.mops); p.done++ {
					apply(&p.mops[p.done], state)
				}
			case simSI:
				wrote := map[int]bool{}
				for _, m := range p.mops {
					if m.f != "r" {
						wrote[m.k] = true
					}
				}
				for _, cm := range commits[p.snapshot:] {
					for k := range wrote {
						if cm[k] {
							return false
						}
					}
				}
				view := map[int][]int{}
				if p.snapshot > 0 {
					for k, l := range versions[p.snapshot-1] {
						view[k] = l
					}
				}
				for i := range p.mops {
					apply(&p.mops[i], view)
				}
				state = cloneState(state)
				for k := range wrote {
					state[k] = view[k]
				}
				commits = append(commits, wrote)
				versions = append(versions, state)
			}
			return true
		}
		x := r.Float64()
		switch {
		case x < c.failRate:
			emit(p.proc, history.Fail, p.mops, false)
			continue
		case x < c.failRate+c.infoRate:
			if r.IntN(2) == 0 {
				commit()
			}
			emit(p.proc, history.Info, p.mops, false)
			procOf[cl] = nextProc
			nextProc++
			continue
		}
		if !commit() {
			emit(p.proc, history.Fail, p.mops, false)
			continue
		}
		emit(p.proc, history.OK, p.mops, true)
	}
	return ops
}

// cloneState copies the map of keys, sharing the lists (which are never changed in place).
func cloneState(s map[int][]int) map[int][]int {
	out := make(map[int][]int, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}
