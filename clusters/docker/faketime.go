package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
)

// Clock skew for engines that cannot be told their clock: libfaketime, preloaded into the
// server, reads an offset from a file that crossfire writes on this machine and bind-mounts into
// the leader. Containers share the kernel's wall clock, and setting it (as Jepsen does on its
// own machines) would move the host's clock for everyone; a file per leader needs no capability
// and no exec, and reaches every process of the leader, long-lived ones included.

// FaketimeLib is libfaketime in a Debian image (package libfaketime).
const FaketimeLib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

// FaketimeDir is where a leader with Leader.Faketime finds its clock file, "clock".
const FaketimeDir = "/faketime"

// ClockCache is how long libfaketime keeps what it read from a leader's clock file
// (FAKETIME_CACHE_DURATION): a new setting reaches every process of the leader within about this
// long, and a strobe cannot step faster.
const ClockCache = time.Second

// ClockLag is how long after its clock file changes every process of a leader may still read the
// old setting: libfaketime rereads the file once more than ClockCache has passed since it last
// read it, counted in whole seconds of the real clock, on its next call for the time.
const ClockLag = 2 * ClockCache

// ClockStep is how often the file of a drifting or strobing clock is written again.
const ClockStep = 100 * time.Millisecond

// FaketimeEnv is the environment that makes a server read its clock from its clock file: these
// variables and nothing else (FAKETIME itself would override the file). The monotonic clock
// stays real, so the server's timeouts and waits are not skewed.
func FaketimeEnv() []string {
	return []string{
		"LD_PRELOAD=" + FaketimeLib,
		"FAKETIME_TIMESTAMP_FILE=" + FaketimeDir + "/clock",
		fmt.Sprintf("FAKETIME_CACHE_DURATION=%d", int(ClockCache.Seconds())),
		"FAKETIME_DONT_FAKE_MONOTONIC=1",
	}
}

// Faketime is an offset as libfaketime's file reads it: signed seconds, fractions allowed.
func Faketime(offset time.Duration) string {
	return fmt.Sprintf("%+.6f", offset.Seconds())
}

// FaketimeFrozen is a clock stopped at an instant as libfaketime's file reads it: an absolute
// time of day in UTC (the leaders' libc zone), to the second, which libfaketime holds still.
func FaketimeFrozen(at time.Time) string {
	return at.UTC().Format(time.DateTime)
}

// FaketimeLine is what a leader's clock file says for a setting made at `at`, at `now`.
func FaketimeLine(s clusters.ClockSetting, at, now time.Time) string {
	if s.FrozenAtNS != 0 {
		return FaketimeFrozen(time.Unix(0, s.FrozenAtNS))
	}
	return Faketime(FaketimeOffset(s, at, now))
}

// FaketimeOffset is where a setting made at `at` puts a clock at `now`. A strobe holds each side
// for its period but at least ClockCache, since libfaketime reads the file no more often.
func FaketimeOffset(s clusters.ClockSetting, at, now time.Time) time.Duration {
	off := time.Duration(s.OffsetNS)
	since := now.Sub(at)
	if s.DriftPPM != 0 {
		off += time.Duration(float64(since) * float64(s.DriftPPM) / 1e6)
	}
	if s.StrobeNS != 0 {
		period := max(time.Duration(s.StrobePeriodNS), ClockCache)
		if (since/period)%2 == 0 {
			off += time.Duration(s.StrobeNS)
		} else {
			off -= time.Duration(s.StrobeNS)
		}
	}
	return off
}

// clocks keeps each leader's clock file: a host folder per leader (under the run's HostDir,
// which Clean removes with the run), bind-mounted read-only at FaketimeDir, and a goroutine that
// writes the clocks that move.
type clocks struct {
	root     string
	mu       sync.Mutex
	settings map[string]clockSet
	done     chan struct{}
	once     sync.Once
}

type clockSet struct {
	s  clusters.ClockSetting
	at time.Time
}

func newClocks(root string, ids []string) (*clocks, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	k := &clocks{root: root, settings: map[string]clockSet{}, done: make(chan struct{})}
	for _, id := range ids {
		// The server may run as another user than this one: it must be able to read the file.
		err := os.MkdirAll(k.dir(id), 0o755)
		if err == nil {
			err = os.Chmod(k.dir(id), 0o755)
		}
		if err == nil {
			err = k.write(id, Faketime(0))
		}
		if err != nil {
			_ = os.RemoveAll(root)
			return nil, err
		}
	}
	for d := root; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)); d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755) // every folder down to the files, for the server's user
	}
	go k.loop()
	return k, nil
}

func (k *clocks) dir(id string) string { return filepath.Join(k.root, id) }

// write replaces a leader's clock file with a line of FaketimeLine's, atomically (rename in the
// bind-mounted folder: the leader sees the old file or the new one, never half of one).
func (k *clocks) write(id string, line string) error {
	tmp := filepath.Join(k.dir(id), ".clock")
	if err := os.WriteFile(tmp, []byte(line+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(k.dir(id), "clock"))
}

func (k *clocks) set(id string, s clusters.ClockSetting, at time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s == (clusters.ClockSetting{}) {
		delete(k.settings, id)
	} else {
		k.settings[id] = clockSet{s: s, at: at}
	}
	return k.write(id, FaketimeLine(s, at, at))
}

// loop writes the clocks that move every ClockStep.
func (k *clocks) loop() {
	t := time.NewTicker(ClockStep)
	defer t.Stop()
	for {
		select {
		case <-k.done:
			return
		case now := <-t.C:
			k.mu.Lock()
			for id, cs := range k.settings {
				if cs.s.FrozenAtNS == 0 && (cs.s.DriftPPM != 0 || cs.s.StrobeNS != 0) {
					_ = k.write(id, FaketimeLine(cs.s, cs.at, now))
				}
			}
			k.mu.Unlock()
		}
	}
}

func (k *clocks) stop() {
	if k != nil {
		k.once.Do(func() { close(k.done) })
	}
}

func (k *clocks) remove() error {
	if k == nil {
		return nil
	}
	k.stop()
	return os.RemoveAll(k.root)
}
