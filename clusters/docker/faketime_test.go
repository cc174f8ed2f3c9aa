package docker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/crossfire-dev/crossfire/clusters"
)

func TestFaketimeOffsets(t *testing.T) {
	assert.Equal(t, "+1.500000", Faketime(1500*time.Millisecond))
	assert.Equal(t, "-0.250000", Faketime(-250*time.Millisecond))
	assert.Equal(t, "+0.000000", Faketime(0))

	at := time.Unix(1000, 0)
	bump := clusters.ClockSetting{OffsetNS: int64(30 * time.Second)}
	assert.Equal(t, 30*time.Second, FaketimeOffset(bump, at, at.Add(time.Hour)), "a bump stays put")
	drift := clusters.ClockSetting{OffsetNS: int64(time.Second), DriftPPM: 100_000}
	assert.Equal(t, time.Second, FaketimeOffset(drift, at, at))
	assert.Equal(t, 2*time.Second, FaketimeOffset(drift, at, at.Add(10*time.Second)), "10%% fast for 10 s is one more second")
	slow := clusters.ClockSetting{DriftPPM: -500_000}
	assert.Equal(t, -5*time.Second, FaketimeOffset(slow, at, at.Add(10*time.Second)))
	// A strobe of 50 ms periods steps no faster than libfaketime reads its file.
	strobe := clusters.ClockSetting{StrobeNS: int64(2 * time.Second), StrobePeriodNS: int64(50 * time.Millisecond)}
	assert.Equal(t, 2*time.Second, FaketimeOffset(strobe, at, at.Add(ClockCache/2)))
	assert.Equal(t, -2*time.Second, FaketimeOffset(strobe, at, at.Add(ClockCache+ClockCache/2)))
	assert.Equal(t, 2*time.Second, FaketimeOffset(strobe, at, at.Add(2*ClockCache+ClockCache/2)))
	slowStrobe := clusters.ClockSetting{StrobeNS: int64(time.Second), StrobePeriodNS: int64(3 * time.Second)}
	assert.Equal(t, time.Second, FaketimeOffset(slowStrobe, at, at.Add(2*time.Second)))
	assert.Equal(t, -time.Second, FaketimeOffset(slowStrobe, at, at.Add(4*time.Second)))
}

func TestFaketimeFrozen(t *testing.T) {
	at := time.Unix(1796536800, 0) // 2026-12-06 06:00:00 UTC
	frozen := clusters.ClockSetting{FrozenAtNS: at.UnixNano(), OffsetNS: int64(time.Hour)}
	assert.Equal(t, "2026-12-06 06:00:00", FaketimeLine(frozen, at, at.Add(time.Minute)), "a frozen clock is an absolute time, whatever else the setting says")
	assert.Equal(t, "+3600.000000", FaketimeLine(clusters.ClockSetting{OffsetNS: int64(time.Hour)}, at, at))
	assert.Equal(t, "+0.000000", FaketimeLine(clusters.ClockSetting{}, at, at))
}
