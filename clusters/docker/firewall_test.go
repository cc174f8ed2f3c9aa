package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
)

func firewallOf(dial Dial) (*firewall, map[string]LeaderState) {
	c := &Cluster{leader: Leader{Port: 5432, Links: LinksFirewall, Dial: dial}, ids: []string{"n1", "n2", "n3"}}
	states := map[string]LeaderState{
		"n1": {Running: true, Connected: true, IP: "10.0.0.1"},
		"n2": {Running: true, Connected: true, IP: "10.0.0.2"},
		"n3": {Running: true, Connected: true, IP: "10.0.0.3"},
	}
	return newFirewall(c), states
}

func drops(t *testing.T, f *firewall, states map[string]LeaderState, me string) []string {
	t.Helper()
	script := f.script(me, states)
	var out []string
	for _, line := range strings.Split(script, "\n") {
		if strings.Contains(line, "DROP") {
			out = append(out, strings.TrimPrefix(line, "iptables -w "))
		}
	}
	return out
}

// A cut of n1->n3 drops, at both of its ends and nowhere else, the connections that carry what
// n1 sends n3: those n3 opens to n1's port when replication is pulled, those n1 opens to n3's
// when it is pushed, and every packet from n1 to n3 when either side may open them.
func TestFirewallCutsExactlyOneDirection(t *testing.T) {
	cut := clusters.Link{From: "n1", To: "n3"}
	for _, c := range []struct {
		dial       Dial
		n1, n2, n3 []string
	}{
		{DialPull,
			[]string{"-A CF-IN -s 10.0.0.3 -p tcp --dport 5432 -j DROP", "-A CF-OUT -d 10.0.0.3 -p tcp --sport 5432 -j DROP"},
			nil,
			[]string{"-A CF-OUT -d 10.0.0.1 -p tcp --dport 5432 -j DROP", "-A CF-IN -s 10.0.0.1 -p tcp --sport 5432 -j DROP"}},
		{DialPush,
			[]string{"-A CF-OUT -d 10.0.0.3 -p tcp --dport 5432 -j DROP", "-A CF-IN -s 10.0.0.3 -p tcp --sport 5432 -j DROP"},
			nil,
			[]string{"-A CF-IN -s 10.0.0.1 -p tcp --dport 5432 -j DROP", "-A CF-OUT -d 10.0.0.1 -p tcp --sport 5432 -j DROP"}},
		{DialEither,
			[]string{"-A CF-OUT -d 10.0.0.3 -j DROP"},
			nil,
			[]string{"-A CF-IN -s 10.0.0.1 -j DROP"}},
	} {
		f, states := firewallOf(c.dial)
		f.cut[cut] = true
		for me, want := range map[string][]string{"n1": c.n1, "n2": c.n2, "n3": c.n3} {
			if got := drops(t, f, states, me); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("dial %d at %s: %q, want %q", c.dial, me, got, want)
			}
		}
		// A leader off the network has no address: rules naming it wait for its return.
		states["n3"] = LeaderState{Running: true}
		if got := drops(t, f, states, "n1"); len(got) != 0 {
			t.Errorf("dial %d: rules for a leader with no address: %q", c.dial, got)
		}
	}
}

// Latency delays the replies over a link: what its listener sends back to the dialer, in a
// netem band of its own; a healed, unslowed firewall removes every qdisc it made.
func TestFirewallSlowsTheReplies(t *testing.T) {
	f, states := firewallOf(DialPull)
	f.slow[clusters.Link{From: "n1", To: "n3"}] = netem{200 * time.Millisecond, 20 * time.Millisecond}
	at1 := f.script("n1", states)
	for _, want := range []string{"prio bands 16", "parent 1:4 handle 40: netem delay 200ms 20ms",
		"u32 match ip dst 10.0.0.3/32 match ip sport 5432 0xffff flowid 1:4"} {
		if !strings.Contains(at1, want) {
			t.Errorf("n1's script lacks %q:\n%s", want, at1)
		}
	}
	if at3 := f.script("n3", states); strings.Contains(at3, "netem") {
		t.Errorf("the dialer's side was slowed too:\n%s", at3)
	}
	clear(f.slow)
	at1 = f.script("n1", states)
	if strings.Contains(at1, "netem") || !strings.Contains(at1, `tc qdisc del dev "$dev" root`) {
		t.Errorf("clearing the latency left a delay or kept the qdisc:\n%s", at1)
	}
}

func netemLines(script string) []string {
	var out []string
	for _, line := range strings.Split(script, "\n") {
		if strings.Contains(line, "netem") || strings.Contains(line, "u32") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// A round trip between regions delays every link's traffic by half of it each way: at the
// listener, its replies to each dialer (with a link's fault latency added on top); at the dialer,
// what it sends to the listener's port. With group communication (either side dials), each
// leader delays all it sends each peer once. Clearing the faults' latency keeps the round trip.
func TestFirewallWANDelaysBothWays(t *testing.T) {
	f, states := firewallOf(DialPull)
	f.wan = 80 * time.Millisecond
	f.slow[clusters.Link{From: "n1", To: "n3"}] = netem{200 * time.Millisecond, 0}
	want := []string{
		// n1 is the listener of n1->n2 and n1->n3 (pulled): replies to n2, and to n3 slowed further
		`tc qdisc add dev "$dev" parent 1:4 handle 40: netem delay 40ms`,
		`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.2/32 match ip sport 5432 0xffff flowid 1:4`,
		`tc qdisc add dev "$dev" parent 1:5 handle 50: netem delay 240ms`,
		`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.3/32 match ip sport 5432 0xffff flowid 1:5`,
		// and the dialer of n2->n1 and n3->n1: what it sends to their port
		`tc qdisc add dev "$dev" parent 1:6 handle 60: netem delay 40ms`,
		`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.2/32 match ip dport 5432 0xffff flowid 1:6`,
		`tc qdisc add dev "$dev" parent 1:7 handle 70: netem delay 40ms`,
		`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.3/32 match ip dport 5432 0xffff flowid 1:7`,
	}
	if got := netemLines(f.script("n1", states)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("n1 with a round trip of 80ms:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	clear(f.slow)
	if got := netemLines(f.script("n1", states)); len(got) != 8 || strings.Contains(strings.Join(got, " "), "240ms") {
		t.Errorf("clearing the faults' latency changed the round trip: %q", got)
	}

	f, states = firewallOf(DialEither)
	f.wan = 80 * time.Millisecond
	got := netemLines(f.script("n2", states))
	want = []string{
		`tc qdisc add dev "$dev" parent 1:4 handle 40: netem delay 40ms`,
		`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.1/32 flowid 1:4`,
		`tc qdisc add dev "$dev" parent 1:5 handle 50: netem delay 40ms`,
		`tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.3/32 flowid 1:5`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("n2 of a group with a round trip of 80ms:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	f.wan = 0
	if got := netemLines(f.script("n2", states)); len(got) != 0 {
		t.Errorf("no round trip, yet %q", got)
	}
}

func TestPeerAddress(t *testing.T) {
	walled := &Cluster{leader: Leader{Port: 3306, Links: LinksFirewall}, ids: []string{"n1", "n2"}}
	if got := walled.PeerAddress("n1", "n2"); got != "n2:3306" {
		t.Errorf("by firewall, n1 reaches n2 at %s", got)
	}
	sc := &Sidecar{}
	push := &Cluster{leader: Leader{Port: 8080, Dial: DialPush}, ids: []string{"n1", "n2", "n3"}, sidecar: sc}
	pull := &Cluster{leader: Leader{Port: 5432, Dial: DialPull}, ids: []string{"n1", "n2", "n3"}, sidecar: sc}
	// n1 dials n3: pushing, it carries n1->n3; pulling, it carries n3->n1.
	if got, want := push.PeerAddress("n1", "n3"), sc.LinkAddress(0, 2); got != want {
		t.Errorf("push: %s, want the proxy of n1->n3 %s", got, want)
	}
	if got, want := pull.PeerAddress("n1", "n3"), sc.LinkAddress(2, 0); got != want {
		t.Errorf("pull: %s, want the proxy of n3->n1 %s", got, want)
	}
}
