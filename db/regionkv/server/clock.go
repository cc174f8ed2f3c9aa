package server

import (
	"sync/atomic"
	"time"
)

// Clock is the node's only source of timestamps: the host's wall clock, moved by what the clock
// nemesis sets at run time. Containers and local processes share the kernel's clock, so skew has
// to be injected here, where the node reads it. The zero Clock is the host's clock.
type Clock struct {
	state atomic.Pointer[ClockSetting]
	since atomic.Int64 // host time, ns, when the drift began
}

// ClockSetting is how a node's clock differs from the host's: a fixed offset, a drift (parts per
// million: 1000 runs 0.1% fast, -1000 as much slow) and a strobe that adds +StrobeNS and
// -StrobeNS in turn, each for StrobePeriodNS. FrozenAtNS, when not zero, stops the clock at that
// instant (Unix nanoseconds), whatever the other fields say. The zero setting is no skew.
type ClockSetting struct {
	OffsetNS       int64 `json:"offset_ns"`
	DriftPPM       int64 `json:"drift_ppm,omitempty"`
	StrobeNS       int64 `json:"strobe_ns,omitempty"`
	StrobePeriodNS int64 `json:"strobe_period_ns,omitempty"`
	FrozenAtNS     int64 `json:"frozen_at_ns,omitempty"`
}

// Now is the node's idea of the current time.
func (c *Clock) Now() time.Time {
	host := time.Now()
	return host.Add(c.offsetAt(host))
}

func (c *Clock) offsetAt(host time.Time) time.Duration {
	s := c.state.Load()
	if s == nil {
		return 0
	}
	if s.FrozenAtNS != 0 {
		return time.Duration(s.FrozenAtNS - host.UnixNano())
	}
	off := s.OffsetNS
	if s.DriftPPM != 0 {
		off += (host.UnixNano() - c.since.Load()) * s.DriftPPM / 1_000_000
	}
	if s.StrobeNS != 0 && s.StrobePeriodNS > 0 {
		if (host.UnixNano()/s.StrobePeriodNS)%2 == 0 {
			off += s.StrobeNS
		} else {
			off -= s.StrobeNS
		}
	}
	return time.Duration(off)
}

// Offset is how far the node's clock is from the host's now.
func (c *Clock) Offset() time.Duration { return c.offsetAt(time.Now()) }

// Setting is the clock's current setting.
func (c *Clock) Setting() ClockSetting {
	if s := c.state.Load(); s != nil {
		return *s
	}
	return ClockSetting{}
}

// Set changes the clock's setting; a drift starts from now.
func (c *Clock) Set(s ClockSetting) {
	c.since.Store(time.Now().UnixNano())
	c.state.Store(&s)
}

// SetOffset moves the node's clock to the host's plus d, with no drift or strobe.
func (c *Clock) SetOffset(d time.Duration) { c.Set(ClockSetting{OffsetNS: int64(d)}) }
