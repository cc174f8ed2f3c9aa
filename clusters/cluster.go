// Package clusters defines what crossfire needs from a running cluster of the database under
// test, whatever the database: leaders with client endpoints, and fault capabilities as small
// optional interfaces that nemeses and the harness find by type assertion (Partitioner,
// ClockSkewer, Killer, Pauser, Disconnector, LinkShaper, WANEmulator, ReplicationDuplicator,
// Quiescer, ConflictSource, ArtifactCollector). A nemesis asked for on a database whose cluster lacks its
// capability is refused before the run starts, naming both.
//
// Every link the harness can cut is named by a Link: leader-to-leader links are directed (n1->n2
// carries what n1 sends to n2), and client links run from "client" to a leader. The clusters
// crossfire ships route every client link, and every link between leaders that can be, through a
// Toxiproxy proxy, so the same fault means the same thing on every database and every cluster
// kind; engines whose peers dial the addresses each node advertises have their links cut by
// firewall rules inside the leaders instead (package clusters/docker).
//
// The package names no database: each database's clusters live in its own folder under db/.
package clusters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/history"
)

// Node is one leader as the harness and the clients see it.
type Node struct {
	ID string `json:"id"`
	// URL is where clients connect, through the client link's proxy where there is one: an
	// http:// base URL, a postgres:// DSN … whatever the database's clients understand.
	URL string `json:"url"`
	// AdminURL reaches the node directly, past every fault, for the database's own control
	// calls; "" where it has none.
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

// ClockSetting is how a node's clock differs from the host's: a fixed offset, a drift (parts per
// million: 1000 runs 0.1% fast, -1000 as much slow, counted from when it is set) and a strobe
// that adds +StrobeNS and -StrobeNS in turn, each for StrobePeriodNS. FrozenAtNS, when not zero,
// stops the clock at that instant (Unix nanoseconds; the other fields are then ignored): two
// nodes frozen at one instant stamp everything they do with the same time. The zero setting is
// no skew.
type ClockSetting struct {
	OffsetNS       int64 `json:"offset_ns"`
	DriftPPM       int64 `json:"drift_ppm,omitempty"`
	StrobeNS       int64 `json:"strobe_ns,omitempty"`
	StrobePeriodNS int64 `json:"strobe_period_ns,omitempty"`
	FrozenAtNS     int64 `json:"frozen_at_ns,omitempty"`
}

// ClockSkewer sets how a node's clock differs from the host's; the zero setting puts it back. A
// node that is down or unreachable gets the setting when it comes back.
type ClockSkewer interface {
	SetClock(ctx context.Context, node string, s ClockSetting) error
}

// ClockLagger is a ClockSkewer whose nodes take up to ClockLag to read a new setting (a
// library that rereads its clock file on a schedule): the clock nemeses wait that long after
// setting clocks, so that a fault is in force when its op completes and over when its undo
// completes, as the history says.
type ClockLagger interface {
	ClockLag() time.Duration
}

// Killer kills a node at once (SIGKILL) and restarts it from its data directory.
type Killer interface {
	Kill(ctx context.Context, node string) error
	Restart(ctx context.Context, node string) error
}

// GroupRestarter restarts several killed nodes together, for databases whose nodes can only come
// back together (a cluster every node of which was killed, that needs a quorum of them to
// restart into). Without it, nodes are restarted one after another.
type GroupRestarter interface {
	RestartAll(ctx context.Context, nodes []string) error
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

// WANEmulator puts the leaders in regions apart: every link between two leaders carries its
// traffic with a delay of rtt/2 each way, for the rest of the cluster's life, while clients reach
// their own leader without one (a client is in its leader's region). A write that must reach
// another leader before it is acknowledged pays the round trip; one acknowledged locally does
// not. A fault's latency (LinkShaper) adds to it, and healing or clearing faults leaves it.
type WANEmulator interface {
	SetWAN(ctx context.Context, rtt time.Duration) error
}

// ReplicationDuplicator makes every node's replication deliver entries more than once.
type ReplicationDuplicator interface {
	DuplicateReplication(ctx context.Context, on bool) error
}

// Quiescer tells when replication has caught up: Quiesce waits until every leader has applied
// every update every other leader made, and stayed so long enough for work still queued to
// settle, and returns nil; or it returns, when ctx ends first, an error saying what was still
// behind. The harness calls it after healing and before the final reads; without it, the final
// reads cannot be known to come after replication, and the run says so.
type Quiescer interface {
	Quiesce(ctx context.Context) error
}

// ConflictSource gives the conflicts the database detected and how it resolved each, in
// crossfire's record format, from every leader. The harness writes them into the run folder
// (conflicts.jsonl) for the conflicts checker and the report; without a source, that checker
// does not run, and the run says so.
type ConflictSource interface {
	Conflicts(ctx context.Context) ([]history.ConflictRecord, error)
}

// ErrNoConflictLog is what a ConflictSource returns (wrapped, saying why) when the database, as
// it runs this time, detects and logs no conflicts at all: the run then says so, as it does for
// a cluster that is no ConflictSource.
var ErrNoConflictLog = errors.New("no conflict log")

// NoConflictLog is an error that is ErrNoConflictLog and says why.
func NoConflictLog(why string) error { return noConflictLog(why) }

type noConflictLog string

func (e noConflictLog) Error() string        { return string(e) }
func (e noConflictLog) Is(target error) bool { return target == ErrNoConflictLog }

// ArtifactCollector copies what the nodes leave into dir/<node>/: node.log, the node's own log,
// which the report shows, and whatever else helps to explain a run (data files, raw logs).
type ArtifactCollector interface {
	CollectArtifacts(ctx context.Context, dir string) error
}
