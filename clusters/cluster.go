// Package clusters defines what crossfire needs from a cluster under test: three leaders with
// client endpoints, and fault capabilities as small optional interfaces that a nemesis finds by
// type assertion (Partitioner, ClockSkewer, Killer, Pauser). A nemesis asked for on a cluster
// that lacks its capability is refused before the run starts.
//
// Every link the harness can cut is named by a Link: leader-to-leader links are directed (n1->n2
// carries what n1 sends to n2), and client links run from "client" to a leader. The embedded
// cluster (clusters/local) and the container cluster (clusters/docker) both route every link
// through a Toxiproxy proxy, so the same fault means the same thing on both.
//
// The package also speaks regionkv's admin protocol (health, state, clock), which every cluster
// of regionkv nodes shares.
package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"crossfire/clusters/regionkv"
)

// Node is one leader as the harness sees it.
type Node struct {
	ID string `json:"id"`
	// URL is where clients send operations: the client link's proxy in front of the node.
	URL string `json:"url"`
	// AdminURL reaches the node directly, past every fault, for health, state and clock control.
	AdminURL string `json:"admin_url"`
}

// Cluster is a running set of leaders. Close stops everything it started and joins the errors.
type Cluster interface {
	Nodes() []Node
	Close() error
}

// ClientLink is the From of a link between clients and a leader.
const ClientLink = "client"

// Link is one directed link through which one party reaches another.
type Link struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (l Link) String() string { return l.From + "->" + l.To }

// ParseLink reads "n1->n2".
func ParseLink(s string) (Link, error) {
	from, to, ok := strings.Cut(s, "->")
	if !ok || from == "" || to == "" {
		return Link{}, fmt.Errorf("link %q is not from->to", s)
	}
	return Link{From: from, To: to}, nil
}

// Partitioner cuts links: a cut link blackholes what is sent over it (no answer, like a dropped
// packet) and resets the connections in flight. Heal restores every link.
type Partitioner interface {
	Partition(ctx context.Context, cut []Link) error
	Heal(ctx context.Context) error
}

// ClockSkewer sets how a node's clock differs from the host's (offset, drift, strobe); the zero
// setting puts it back.
type ClockSkewer interface {
	SetClock(ctx context.Context, node string, s regionkv.ClockSetting) error
}

// Killer kills a node at once (SIGKILL) and restarts it from its data directory.
type Killer interface {
	Kill(ctx context.Context, node string) error
	Restart(ctx context.Context, node string) error
}

// Pauser freezes a node (SIGSTOP) and thaws it.
type Pauser interface {
	Pause(ctx context.Context, node string) error
	Resume(ctx context.Context, node string) error
}

// Disconnector takes a node off the network entirely and puts it back: while it is off, no peer
// and no client reaches it and it reaches no one, and what was in flight is lost.
type Disconnector interface {
	Disconnect(ctx context.Context, node string) error
	Reconnect(ctx context.Context, node string) error
}

// LinkShaper delays the replies that come back over links by latency ± jitter: a request
// arrives and is acted on at once, and its answer comes late, the way a lost acknowledgement
// looks to a client that times out.
type LinkShaper interface {
	SetLatency(ctx context.Context, links []Link, latency, jitter time.Duration) error
	ClearLatency(ctx context.Context) error
}

// ReplicationDuplicator makes every node's replication deliver entries more than once.
type ReplicationDuplicator interface {
	DuplicateReplication(ctx context.Context, on bool) error
}

// ArtifactCollector copies what the nodes leave (logs, conflict logs) into dir/<node>/.
type ArtifactCollector interface {
	CollectArtifacts(ctx context.Context, dir string) error
}

// adminClient is for the harness's own calls to nodes; every call also has its ctx.
var adminClient = &http.Client{Timeout: 2 * time.Second}

// State reads a node's regionkv state through its admin endpoint.
func State(ctx context.Context, n Node) (regionkv.State, error) {
	var st regionkv.State
	err := adminCall(ctx, http.MethodGet, n.AdminURL+"/admin/state", nil, &st)
	return st, err
}

// SetClock sets a regionkv node's clock through its admin endpoint.
func SetClock(ctx context.Context, n Node, s regionkv.ClockSetting) error {
	body, _ := json.Marshal(s)
	return adminCall(ctx, http.MethodPost, n.AdminURL+"/admin/clock", body, nil)
}

// SetFaults switches a regionkv node's own faults through its admin endpoint.
func SetFaults(ctx context.Context, n Node, f regionkv.FaultsRequest) error {
	body, _ := json.Marshal(f)
	return adminCall(ctx, http.MethodPost, n.AdminURL+"/admin/faults", body, nil)
}

// RestoreFaults gives a regionkv node the faults it is to have in force, its clock setting and
// duplicated replication, after a time when it could not be told them: a restart (they live in
// its memory, so a restart loses them), or a stretch when it was frozen or unreachable while
// they changed. Both are sent, the defaults too, so a fault lifted meanwhile is lifted there.
func RestoreFaults(ctx context.Context, n Node, clock regionkv.ClockSetting, duplicate bool) error {
	return errors.Join(SetFaults(ctx, n, regionkv.FaultsRequest{DuplicateReplication: duplicate}), SetClock(ctx, n, clock))
}

// Healthy reports whether a node answers its health check.
func Healthy(ctx context.Context, n Node) error {
	return adminCall(ctx, http.MethodGet, n.AdminURL+"/admin/health", nil, nil)
}

// Replicated reports whether every node has applied every entry that every origin wrote.
func Replicated(states []regionkv.State) bool {
	own := map[string]uint64{}
	for _, st := range states {
		own[st.ID] = st.Applied[st.ID]
	}
	for _, st := range states {
		for origin, n := range own {
			if st.Applied[origin] != n {
				return false
			}
		}
	}
	return true
}

// SettleTime is how long the nodes' progress must stay still, after replication has caught up,
// before the cluster counts as quiet: a leader that was frozen may still be working through
// requests that queued up meanwhile (their clients long gone), and final reads taken then would
// race them.
const SettleTime = 500 * time.Millisecond

// AwaitReplicated polls the nodes' states until replication has caught up everywhere and stayed
// so, with no node's progress moving, for SettleTime (true), or ctx ends (false, with the last
// states seen).
func AwaitReplicated(ctx context.Context, nodes []Node) (bool, []regionkv.State) {
	var last []regionkv.State
	var quietSince time.Time
	var quietMarks string
	for {
		states := make([]regionkv.State, 0, len(nodes))
		for _, n := range nodes {
			st, err := State(ctx, n)
			if err != nil {
				break
			}
			states = append(states, st)
		}
		if len(states) == len(nodes) {
			last = states
			if Replicated(states) {
				marks := fmt.Sprint(states[0].Applied)
				switch {
				case marks != quietMarks:
					quietMarks, quietSince = marks, time.Now()
				case time.Since(quietSince) >= SettleTime:
					return true, states
				}
			} else {
				quietMarks = ""
			}
		}
		select {
		case <-ctx.Done():
			return false, last
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func adminCall(ctx context.Context, method, url string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := adminClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
