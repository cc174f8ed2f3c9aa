package docker

import (
	"strings"
	"testing"
	"time"

	"crossfire/clusters"
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
