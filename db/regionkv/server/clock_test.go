package server

import (
	"testing"
	"time"
)

func TestClockSettings(t *testing.T) {
	var c Clock
	if c.Offset() != 0 {
		t.Fatal("the zero clock is skewed")
	}
	c.SetOffset(3 * time.Second)
	if d := c.Now().Sub(time.Now()); d < 2900*time.Millisecond || d > 3100*time.Millisecond {
		t.Fatalf("offset 3s reads %v", d)
	}
	// A strobe of ±1s every 10ms shows both signs within 50ms.
	c.Set(ClockSetting{StrobeNS: int64(time.Second), StrobePeriodNS: int64(10 * time.Millisecond)})
	seen := map[bool]bool{}
	for i := 0; i < 50; i++ {
		seen[c.Offset() > 0] = true
		time.Sleep(time.Millisecond)
	}
	if !seen[true] || !seen[false] {
		t.Fatalf("the strobe did not flip: %v", seen)
	}
	// A drift of +50% gains about 10ms over 20ms.
	c.Set(ClockSetting{DriftPPM: 500_000})
	time.Sleep(20 * time.Millisecond)
	if d := c.Offset(); d < 5*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("drift of 50%% after 20ms: offset %v", d)
	}
	c.Set(ClockSetting{})
	if c.Offset() != 0 {
		t.Fatal("reset clock still skewed")
	}
}

func TestFrozenClockStandsStill(t *testing.T) {
	var a, b Clock
	at := time.Now().Truncate(time.Second)
	a.Set(ClockSetting{FrozenAtNS: at.UnixNano(), OffsetNS: int64(time.Hour)})
	b.Set(ClockSetting{FrozenAtNS: at.UnixNano()})
	first := a.Now()
	time.Sleep(5 * time.Millisecond)
	if !first.Equal(at) || !a.Now().Equal(at) || !b.Now().Equal(at) {
		t.Fatalf("frozen at %v, read %v then %v and %v", at, first, a.Now(), b.Now())
	}
	a.Set(ClockSetting{})
	if d := a.Offset(); d != 0 {
		t.Fatalf("thawed clock off by %v", d)
	}
}
