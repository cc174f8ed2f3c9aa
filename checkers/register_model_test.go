package checkers

import (
	"encoding/json"
	"testing"
)

// TestCASRegisterSteps: the model alone, on a table of steps from a state: which ops are legal
// there and what the register holds after each.
func TestCASRegisterSteps(t *testing.T) {
	in := newValueInterner()
	v := func(s string) *string { return in.of(json.RawMessage(s)) }
	one, two := v("1"), v("2")
	type step struct {
		name  string
		from  *string
		input regInput
		out   regOutput
		legal bool
		after *string
	}
	for _, s := range []step{
		{"a read of the initial null", nullValue, regInput{F: "read", Twin: -1}, regOutput{Value: nullValue}, true, nullValue},
		{"a read of a value never there", nullValue, regInput{F: "read", Twin: -1}, regOutput{Value: one}, false, nullValue},
		{"a read of what is there", one, regInput{F: "read", Twin: -1}, regOutput{Value: one}, true, one},
		{"a read that never returned", one, regInput{F: "read", Twin: -1}, regOutput{Unknown: true}, true, one},
		{"a write, from anything", nullValue, regInput{F: "write", Value: two, Twin: -1}, regOutput{}, true, two},
		{"a cas that swaps", one, regInput{F: "cas", Expected: one, New: two, Twin: -1}, regOutput{}, true, two},
		{"a cas acknowledged where it could not swap", two, regInput{F: "cas", Expected: one, New: two, Twin: -1}, regOutput{}, false, two},
		{"a cas that failed where it could not swap", two, regInput{F: "cas", Expected: one, New: v("3"), Twin: -1}, regOutput{Failed: true}, true, two},
		{"a cas that failed where it would have swapped", one, regInput{F: "cas", Expected: one, New: two, Twin: -1}, regOutput{Failed: true}, false, one},
		{"an info cas where it can swap: it swaps", one, regInput{F: "cas", Expected: one, New: two, Twin: -1}, regOutput{Unknown: true}, true, two},
		{"an info cas where it cannot: it failed", two, regInput{F: "cas", Expected: one, New: v("3"), Twin: -1}, regOutput{Unknown: true}, true, two},
		{"a value written as another spelling is the same value", v("{\"a\": 1}"), regInput{F: "read", Twin: -1}, regOutput{Value: v("{\"a\":1}")}, true, v("{\"a\":1}")},
		{"an op the model does not know", one, regInput{F: "increment", Twin: -1}, regOutput{}, false, one},
	} {
		legal, after := CASRegister.Step(s.from, &s.input, &s.out)
		if legal != s.legal || legal && stateValue(after) != s.after {
			t.Errorf("%s: legal %v, holding %s; want %v, %s", s.name, legal, *stateValue(after), s.legal, *s.after)
		}
	}
}

// TestCASRegisterTwinsGoInCallOrder: info ops of a group of twins are linearized in the order of
// their calls, each counted in the state, and two states are equal only with the same twins used.
func TestCASRegisterTwinsGoInCallOrder(t *testing.T) {
	in := newValueInterner()
	one := in.of(json.RawMessage("1"))
	first := &regInput{F: "write", Value: one, Twin: 0, Rank: 0}
	second := &regInput{F: "write", Value: one, Twin: 0, Rank: 1}
	unknown := &regOutput{Unknown: true}
	if ok, _ := CASRegister.Step(CASRegister.Init(), second, unknown); ok {
		t.Fatal("the twin called second went first")
	}
	ok, s1 := CASRegister.Step(CASRegister.Init(), first, unknown)
	if !ok || stateValue(s1) != one || stateUsed(s1, 0) != 1 {
		t.Fatalf("the first twin: legal %v, state %+v", ok, s1)
	}
	ok, s2 := CASRegister.Step(s1, second, unknown)
	if !ok || stateUsed(s2, 0) != 2 {
		t.Fatalf("the second twin after the first: legal %v, state %+v", ok, s2)
	}
	if CASRegister.Equal(s1, s2) || !CASRegister.Equal(s2, &twinState{value: one, used: []uint16{2}}) {
		t.Fatal("states are told apart by the twins used, and only by them and the value")
	}
	if CASRegister.Equal(s1, one) {
		t.Fatal("a state with a twin used equals one with none")
	}
}
