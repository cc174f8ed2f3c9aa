package checkers

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/crossfire-dev/crossfire/history"
)

// randomRegister is a small history of one register: values 0 to 2, overlapping ops of three
// processes, and many of them info, so that twins (info ops of one f and value) are common.
// Results are drawn at random, so that both legal and illegal histories come out.
func randomRegister(r *rand.Rand) []history.Op {
	var ops []history.Op
	open := map[int]history.Op{}
	for len(ops) < 24 {
		p := r.IntN(3)
		if inv, ok := open[p]; ok {
			done := history.Op{Process: p, F: inv.F, Key: "x", Value: inv.Value, Type: history.OK}
			switch x := r.IntN(10); {
			case x < 4:
				done.Type = history.Info
			case inv.F == "read":
				done.Value = history.Value(r.IntN(3))
			case inv.F == "cas" && x < 6:
				done.Type = history.Fail
			}
			ops = append(ops, done)
			delete(open, p)
			continue
		}
		op := history.Op{Process: p, Type: history.Invoke, Key: "x"}
		switch r.IntN(3) {
		case 0:
			op.F, op.Value = "read", history.Null
		case 1:
			op.F, op.Value = "write", history.Value(r.IntN(3))
		default:
			op.F, op.Value = "cas", history.Value([2]int{r.IntN(3), r.IntN(3)})
		}
		open[p] = op
		ops = append(ops, op)
	}
	for i := range ops {
		ops[i].Index, ops[i].Time = int64(i), int64(i)*10
	}
	return ops
}

// TestTwinsKeepEveryVerdict: linearizing twins in the order of their calls gives, on every one
// of many small histories full of info ops, the verdict of the plain search that tries them in
// every order.
func TestTwinsKeepEveryVerdict(t *testing.T) {
	plain := CASRegister
	plain.Step = func(state, input, output interface{}) (bool, interface{}) {
		ok, v := registerStep(state.(*string), input.(*regInput), output.(*regOutput))
		return ok, v
	}
	plain.Equal = nil
	r := rand.New(rand.NewPCG(7, 7))
	verdicts := map[bool]int{}
	twinned := 0
	for n := 0; n < 3000; n++ {
		ops := randomRegister(r)
		byKey, err := registerOps(ops)
		if err != nil {
			t.Fatal(err)
		}
		kops := byKey["x"]
		for _, o := range kops {
			if o.Input.(*regInput).Rank > 0 {
				twinned++
				break
			}
		}
		got := porcupine.CheckOperations(CASRegister, kops)
		for _, o := range kops {
			o.Input.(*regInput).Twin = -1
		}
		want := porcupine.CheckOperations(plain, kops)
		if got != want {
			b, _ := json.Marshal(ops)
			t.Fatalf("history %d: linearizable %v with twins in call order, %v without\n%s", n, got, want, b)
		}
		verdicts[want]++
	}
	if verdicts[true] < 300 || verdicts[false] < 300 || twinned < 1000 {
		t.Fatalf("the histories do not try both verdicts with twins: %v, %d with twins", verdicts, twinned)
	}
}

// TestTwinsDecideWhatTheSearchCouldNot: a leader killed with forty writes of one value in flight,
// then a read of a value nobody wrote. Proving that illegal without twins means trying every
// subset of the forty writes (2^40 states); with them, forty-one.
func TestTwinsDecideWhatTheSearchCouldNot(t *testing.T) {
	for _, c := range []struct {
		read string
		want Valid
	}{{"1", True}, {"3", False}} {
		var rows []hrow
		for p := 0; p < 40; p++ {
			rows = append(rows, hrow{p, inv, "write", "x", "1", "n1"})
		}
		for p := 0; p < 40; p++ {
			rows = append(rows, hrow{p, info, "write", "x", "1", "n1"})
		}
		rows = append(rows, hrow{40, inv, "read", "x", "null", "n2"}, hrow{40, ok, "read", "x", c.read, "n2"})
		r := Run(context.Background(), Linearizable{Timeout: 5 * time.Minute}, in(h(rows...)))
		if r.Valid != c.want {
			t.Fatalf("a read of %s after forty writes of 1 of unknown outcome: %s (%s)", c.read, r.Valid, r.Error)
		}
		if c.want == False && !strings.Contains(r.Anomalies[0].Description, "read() → 3") {
			t.Errorf("the anomaly does not name the read: %s", r.Anomalies[0].Description)
		}
	}
}

// TestTwinStateDescribesItsValue: the page shows a state as the register's value, whether or not
// twins were used to reach it.
func TestTwinStateDescribesItsValue(t *testing.T) {
	one := "1"
	for _, st := range []interface{}{&one, &twinState{value: &one, used: []uint16{2}}} {
		if got := CASRegister.DescribeState(st); got != "1" {
			t.Errorf("state %v described as %q", st, fmt.Sprint(got))
		}
	}
}

// killedRegisterHistory is a history of a register that a single leader served correctly: n ops
// of procs processes over three keys, values 0 to 4, and a fraction infoP of them info (their
// effect taken or not, at random), as when a leader is killed with requests in flight.
func killedRegisterHistory(seed uint64, n, procs int, infoP float64) []history.Op {
	r := rand.New(rand.NewPCG(seed, 1))
	type ev struct {
		t  int64
		op history.Op
	}
	var evs []ev
	state := map[string]int{}
	has := map[string]bool{}
	now := int64(0)
	free := make([]int64, procs)
	for i := 0; i < n; i++ {
		p := r.IntN(procs)
		if free[p] > now {
			now = free[p]
		}
		now += int64(r.IntN(3_000_000))
		k := "r" + strconv.Itoa(r.IntN(3))
		inv := history.Op{Process: p, Type: history.Invoke, Key: k, Time: now}
		lin := now + int64(r.IntN(2_000_000))
		done := history.Op{Process: p, Key: k, Type: history.OK}
		x := r.IntN(6)
		info := r.Float64() < infoP
		apply := !info || r.IntN(2) == 0
		switch {
		case x < 3:
			inv.F, inv.Value = "read", history.Null
			done.F = "read"
			if has[k] {
				done.Value = history.Value(state[k])
			} else {
				done.Value = history.Null
			}
		case x < 5:
			v := r.IntN(5)
			inv.F, inv.Value = "write", history.Value(v)
			done.F, done.Value = "write", inv.Value
			if apply {
				state[k], has[k] = v, true
			}
		default:
			a, b := r.IntN(5), r.IntN(5)
			inv.F, inv.Value = "cas", history.Value([2]int{a, b})
			done.F, done.Value = "cas", inv.Value
			if has[k] && state[k] == a {
				if apply {
					state[k] = b
				}
			} else {
				done.Type = history.Fail
			}
		}
		ret := lin + int64(r.IntN(2_000_000))
		if info {
			done.Type = history.Info
			ret = lin + 1_000_000_000
		}
		done.Time = ret
		free[p] = ret
		evs = append(evs, ev{inv.Time, inv}, ev{ret, done})
	}
	// Each op takes effect in the order drawn, between its call and its return; the calls come
	// in that order too, so the history is linearizable.
	slices.SortStableFunc(evs, func(a, b ev) int { return cmp.Compare(a.t, b.t) })
	ops := make([]history.Op, len(evs))
	for i, e := range evs {
		e.op.Index = int64(i)
		ops[i] = e.op
	}
	return ops
}

// BenchmarkLinearizableIllegalWithInfo: twenty such histories of 2,800 ops, 5 % of them info,
// each made illegal by one read of a value nobody wrote, half-way. Proving a history illegal
// takes the search through every state it can reach, which the info ops multiply.
func BenchmarkLinearizableIllegalWithInfo(b *testing.B) {
	var hs [][]history.Op
	for seed := uint64(1); seed <= 20; seed++ {
		ops := killedRegisterHistory(seed, 2800, 9, 0.05)
		for i := len(ops) / 2; i < len(ops); i++ {
			if ops[i].F == "read" && ops[i].Type == history.OK {
				ops[i].Value = history.Value(7)
				break
			}
		}
		hs = append(hs, ops)
	}
	for b.Loop() {
		for i, ops := range hs {
			r := Run(context.Background(), Linearizable{Timeout: time.Minute}, in(ops))
			if r.Valid != False {
				b.Fatalf("history %d: %s (%s)", i+1, r.Valid, r.Error)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(len(hs)), "ms/history")
}

// TestUnwrittenReadsKeepEveryVerdict: a key with a read of a value none of its ops could have
// written is illegal without a search; on 3,000 small random histories that is never said of a
// history the plain search finds legal, and the checker's verdict is the search's every time.
func TestUnwrittenReadsKeepEveryVerdict(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	flagged := 0
	for n := 0; n < 3000; n++ {
		ops := randomRegister(r)
		for i := range ops {
			ops[i].Index, ops[i].Time = int64(i), int64(i)
		}
		byKey, err := registerOps(ops)
		if err != nil {
			t.Fatal(err)
		}
		kops := byKey["x"]
		if len(kops) == 0 {
			continue
		}
		want := porcupine.CheckOperations(CASRegister, kops)
		if _, ok := unwrittenRead(kops); ok {
			flagged++
			if want {
				b, _ := json.Marshal(ops)
				t.Fatalf("history %d: a read of an unwritten value flagged in a linearizable history\n%s", n, b)
			}
		}
		got := Run(context.Background(), Linearizable{}, Input{History: ops})
		if (got.Valid == True) != want || got.Valid == Unknown {
			b, _ := json.Marshal(ops)
			t.Fatalf("history %d: the checker says %s, the search %v\n%s", n, got.Valid, want, b)
		}
	}
	if flagged < 100 {
		t.Fatalf("only %d histories had a read of an unwritten value: the test proves little", flagged)
	}
}

// TestAFailedCASWritesNothing: a value that only a cas whose comparison failed would have
// written is unwritten; one that a cas of unknown outcome may have written is not.
func TestAFailedCASWritesNothing(t *testing.T) {
	for _, c := range []struct {
		casEnd history.Type
		want   Valid
	}{{history.Fail, False}, {history.Info, True}} {
		ops := []history.Op{
			{Index: 0, Time: 0, Process: 0, Type: history.Invoke, F: "cas", Key: "x", Value: history.Value([2]int{1, 9})},
			{Index: 1, Time: 1, Process: 0, Type: c.casEnd, F: "cas", Key: "x", Value: history.Value([2]int{1, 9})},
			{Index: 2, Time: 2, Process: 1, Type: history.Invoke, F: "write", Key: "x", Value: history.Value(1)},
			{Index: 3, Time: 3, Process: 1, Type: history.OK, F: "write", Key: "x", Value: history.Value(1)},
			{Index: 4, Time: 4, Process: 1, Type: history.Invoke, F: "read", Key: "x", Value: history.Null},
			{Index: 5, Time: 5, Process: 1, Type: history.OK, F: "read", Key: "x", Value: history.Value(9)},
		}
		res := Run(context.Background(), Linearizable{}, Input{History: ops})
		if res.Valid != c.want {
			t.Fatalf("cas ending %s: %s (%s)", c.casEnd, res.Valid, res)
		}
		if c.want == False && (len(res.Anomalies) != 1 || !strings.Contains(res.Anomalies[0].Description, "none of its 3 ops could have written") || !slices.Equal(res.Anomalies[0].Ops, []int64{4})) {
			t.Fatalf("the anomaly: %+v", res.Anomalies)
		}
	}
}
