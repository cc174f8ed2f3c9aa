package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/crossfire-dev/crossfire/clusters"
)

// Link faults by firewall (LinksFirewall): what is cut and slowed is kept here, and every
// leader's rules are made again from it, whole, each time it changes or a leader comes back. A
// leader's rules live in two chains of its own (CF-IN from INPUT, CF-OUT from OUTPUT) and name
// the other leaders by their addresses on the run's network, looked up at each sync: a leader
// that comes back to the network may come back at another address.
//
// A cut link is dropped at both of its ends, so that it holds while one end is down or frozen
// (its rules are made when it is back). For a link carried by connections one side opens
// (DialPush, DialPull), only those connections are dropped: packets to and from the listener's
// port from the dialer, both ways, which stops exactly that direction. DialEither drops every
// packet the sender sends the receiver. Dropped packets are not answered: connections in flight
// hang, as across a real partition, and resume if the link is healed before they time out.
//
// Latency is tc netem on the listening side of a link, on the packets it sends back to the
// dialer (the replies, as the sidecar's latency delays them), in a band of a prio qdisc of
// their own so that nothing else is slowed.

// firewall keeps the link faults of a cluster whose links are cut by firewall.
type firewall struct {
	c      *Cluster
	mu     sync.Mutex
	cut    map[clusters.Link]bool
	slow   map[clusters.Link]netem
	wan    time.Duration   // the round trip between leaders: each link's traffic waits half of it each way
	behind map[string]bool // leaders whose rules could not be made: down or frozen

	probed  bool  // whether a leader was asked if it can slow links
	noNetem error // why links cannot be slowed, nil when they can
}

type netem struct{ latency, jitter time.Duration }

func newFirewall(c *Cluster) *firewall {
	return &firewall{c: c, cut: map[clusters.Link]bool{}, slow: map[clusters.Link]netem{}, behind: map[string]bool{}}
}

// isBehind reports whether a leader's rules are older than what is cut and slowed.
func (f *firewall) isBehind(id string) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.behind[id]
}

// change records a change of what is cut or slowed, then makes every leader's rules again.
func (f *firewall) change(ctx context.Context, do func()) error {
	f.mu.Lock()
	do()
	f.mu.Unlock()
	return f.sync(ctx, f.c.ids)
}

func (f *firewall) partition(ctx context.Context, links []clusters.Link) error {
	return f.change(ctx, func() {
		for _, l := range links {
			f.cut[l] = true
		}
	})
}

func (f *firewall) heal(ctx context.Context) error { return f.change(ctx, func() { clear(f.cut) }) }

// ErrNoNetem says that links cut by firewall cannot be slowed on this machine: its kernel (which
// containers share) lacks the netem or prio queueing disciplines, or the image lacks tc.
var ErrNoNetem = errors.New("links cannot be slowed here")

// netemProbe adds and removes a prio qdisc with a netem band on a leader's loopback: what
// slowing a link needs, tried before anything is recorded.
const netemProbe = `command -v tc >/dev/null 2>&1 || { echo 'the image has no tc (iproute2)'; exit 1; }
tc qdisc del dev lo root 2>/dev/null || true
tc qdisc add dev lo root handle 1: prio 2>&1 | sed 's/^/prio: /'
tc qdisc add dev lo parent 1:1 handle 10: netem delay 1ms 2>&1 | sed 's/^/netem: /'
tc qdisc show dev lo | grep -q netem || exit 1
tc qdisc del dev lo root
`

func (f *firewall) setLatency(ctx context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	if err := f.probeNetem(ctx); err != nil {
		return err
	}
	return f.change(ctx, func() {
		for _, l := range links {
			f.slow[l] = netem{latency, jitter}
		}
	})
}

func (f *firewall) setWAN(ctx context.Context, rtt time.Duration) error {
	if rtt > 0 {
		if err := f.probeNetem(ctx); err != nil {
			return err
		}
	}
	return f.change(ctx, func() { f.wan = rtt })
}

func (f *firewall) clearLatency(ctx context.Context) error {
	return f.change(ctx, func() { clear(f.slow) })
}

// probeNetem finds out once, on a running leader, whether links can be slowed here.
func (f *firewall) probeNetem(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.probed {
		return f.noNetem
	}
	for _, id := range f.c.ids {
		if st, err := f.c.inspect(ctx, id); err != nil || !st.Running || st.Paused {
			continue
		}
		f.probed, f.noNetem = true, nil
		if err := f.c.execRoot(ctx, id, netemProbe); err != nil {
			f.noNetem = fmt.Errorf("%w: a leader cannot use tc netem (the kernel needs sch_prio and sch_netem): %v", ErrNoNetem, err)
		}
		return f.noNetem
	}
	return fmt.Errorf("%w: no leader is running to try tc netem on", ErrNoNetem)
}

// sync makes the rules of the given leaders again from what is cut and slowed. A leader that is
// down or frozen is left to its return (rejoin syncs every leader); one whose rules could not be
// made is an error and stays behind, for the next sync.
func (f *firewall) sync(ctx context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	states := map[string]LeaderState{}
	var errs []error
	for _, id := range f.c.ids {
		st, err := f.c.inspect(ctx, id)
		if err != nil {
			errs = append(errs, err)
		}
		states[id] = st
	}
	results := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		st := states[id]
		if !st.Running || st.Paused {
			f.behind[id] = true
			continue
		}
		script := f.script(id, states)
		wg.Go(func() { results[i] = f.c.execRoot(ctx, id, script) })
	}
	wg.Wait()
	for i, id := range ids {
		if results[i] != nil {
			f.behind[id] = true
			errs = append(errs, fmt.Errorf("docker: the firewall of %s: %w", id, results[i]))
		} else if st := states[id]; st.Running && !st.Paused {
			delete(f.behind, id)
		}
	}
	return errors.Join(errs...)
}

// ends are a link's dialer and listener: who opens the connections that carry it, and who
// accepts them (for DialEither, the sender and the receiver).
func (f *firewall) ends(l clusters.Link) (dialer, listener string) {
	if f.c.leader.Dial == DialPull {
		return l.To, l.From
	}
	return l.From, l.To
}

// script is the shell script that makes leader me's rules. f.mu is held.
func (f *firewall) script(me string, states map[string]LeaderState) string {
	port := fmt.Sprint(f.c.leader.Port)
	either := f.c.leader.Dial == DialEither
	var rules []string
	for _, l := range slices.SortedFunc(maps.Keys(f.cut), linkOrder) {
		d, s := f.ends(l)
		dIP, sIP := states[d].IP, states[s].IP
		switch {
		case either && me == l.To && dIP != "":
			rules = append(rules, "-A CF-IN -s "+dIP+" -j DROP")
		case either && me == l.From && sIP != "":
			rules = append(rules, "-A CF-OUT -d "+sIP+" -j DROP")
		case !either && me == s && dIP != "":
			rules = append(rules, "-A CF-IN -s "+dIP+" -p tcp --dport "+port+" -j DROP", "-A CF-OUT -d "+dIP+" -p tcp --sport "+port+" -j DROP")
		case !either && me == d && sIP != "":
			rules = append(rules, "-A CF-OUT -d "+sIP+" -p tcp --dport "+port+" -j DROP", "-A CF-IN -s "+sIP+" -p tcp --sport "+port+" -j DROP")
		}
	}
	var b strings.Builder
	b.WriteString(`set -e
iptables -w -N CF-IN 2>/dev/null || iptables -w -F CF-IN
iptables -w -N CF-OUT 2>/dev/null || iptables -w -F CF-OUT
iptables -w -C INPUT -j CF-IN 2>/dev/null || iptables -w -I INPUT -j CF-IN
iptables -w -C OUTPUT -j CF-OUT 2>/dev/null || iptables -w -I OUTPUT -j CF-OUT
`)
	for _, r := range rules {
		b.WriteString("iptables -w " + r + "\n")
	}
	// The replies over each slowed link: what its listener sends back to its dialer, with the
	// link's half of the round trip between regions added; and with a round trip, what each
	// dialer sends its listener, delayed by the other half.
	var delays []string
	band := 4 // bands 1-3 carry everything else, as a prio qdisc's default priomap sends it
	addDelay := func(latency, jitter time.Duration, match string) {
		if latency <= 0 || band > 16 {
			return
		}
		delay := fmt.Sprintf("delay %dms", latency.Milliseconds())
		if jitter > 0 {
			delay += fmt.Sprintf(" %dms", jitter.Milliseconds())
		}
		delays = append(delays,
			fmt.Sprintf(`tc qdisc add dev "$dev" parent 1:%x handle %x: netem %s`, band, band*16, delay),
			fmt.Sprintf(`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 %s flowid 1:%x`, match, band))
		band++
	}
	links := maps.Clone(f.slow)
	if f.wan > 0 {
		for _, from := range f.c.ids {
			for _, to := range f.c.ids {
				if l := (clusters.Link{From: from, To: to}); from != to {
					links[l] = f.slow[l]
				}
			}
		}
	}
	for _, l := range slices.SortedFunc(maps.Keys(links), linkOrder) {
		d, s := f.ends(l)
		n := links[l]
		switch {
		case me == s && states[d].IP != "":
			match := "match ip dst " + states[d].IP + "/32"
			if !either {
				match += " match ip sport " + port + " 0xffff"
			}
			addDelay(n.latency+f.wan/2, n.jitter, match)
		case me == d && !either && states[s].IP != "":
			addDelay(f.wan/2, 0, "match ip dst "+states[s].IP+"/32 match ip dport "+port+" 0xffff")
		}
	}
	b.WriteString("if command -v tc >/dev/null 2>&1; then\n  for dev in $(ls /sys/class/net); do\n    [ \"$dev\" = lo ] && continue\n")
	b.WriteString("    tc qdisc del dev \"$dev\" root 2>/dev/null || true\n")
	if len(delays) > 0 {
		b.WriteString("    tc qdisc add dev \"$dev\" root handle 1: prio bands 16 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n")
		for _, d := range delays {
			b.WriteString("    " + d + "\n")
		}
	}
	b.WriteString("  done\n")
	if len(delays) > 0 {
		b.WriteString("else\n  echo 'the image has no tc (iproute2): links cannot be slowed' >&2; exit 1\n")
	}
	b.WriteString("fi\n")
	return b.String()
}

func linkOrder(a, b clusters.Link) int { return strings.Compare(a.String(), b.String()) }

// execRoot runs a shell script as root inside a leader's container, within 30 seconds, and
// fails with what it printed when it exits non-zero.
func (c *Cluster) execRoot(ctx context.Context, id, script string) error {
	ctr, err := c.container(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	code, out, err := ctr.Exec(ctx, []string{"/bin/sh", "-c", script}, tcexec.WithUser("root"), tcexec.Multiplexed())
	if err != nil {
		return err
	}
	if code != 0 {
		printed, _ := io.ReadAll(out)
		return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(string(printed)))
	}
	return nil
}

// Cut reports whether the cluster holds a link cut, at the sidecar or by firewall.
func (c *Cluster) Cut(l clusters.Link) bool {
	if c.fw != nil && l.From != clusters.ClientLink {
		c.fw.mu.Lock()
		defer c.fw.mu.Unlock()
		return c.fw.cut[l]
	}
	return c.sidecar.Cut(l)
}
