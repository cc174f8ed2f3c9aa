package docker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters"
)

// The sidecar's ports: its API, each client link (client->nK on ClientPort0+K) and each
// leader-to-leader link (nI->nJ on LinkPort0+10*I+J).
const (
	SidecarAPIPort = "8474"
	ClientPort0    = 20000
	LinkPort0      = 21000
	SidecarAlias   = "toxiproxy" // the sidecar's name on the run's network
)

// Sidecar is the Toxiproxy container every link of a container cluster goes through: each
// directed leader-to-leader link and each client's link to a leader is a proxy of its own, so
// that partitions, one-way cuts and latency act on exactly that link.
//
// The link faults of a container cluster are the sidecar's: Partition, Heal, SetLatency and
// ClearLatency implement clusters.Partitioner and clusters.LinkShaper for any database whose
// cluster embeds or forwards to it, and ResetInto resets the links into a leader that came back.
type Sidecar struct {
	Container testcontainers.Container
	API       *toxiclient.Client
	leaders   []string
	pull      bool
	peers     bool // the links between leaders are proxies here too

	mu      sync.Mutex
	cut     map[clusters.Link]bool
	latency map[clusters.Link]toxiclient.Attributes // the latency toxic of each slowed link
	wan     time.Duration                           // the round trip between leaders (SetWAN)
}

// SidecarSpec says what the sidecar proxies: the leaders (their names on the run's network) and
// the port each serves on there.
type SidecarSpec struct {
	Image   string // the Toxiproxy image (EnsureImage of ToxiproxyPackage)
	Run     string // the run's id: the container is named after it
	Network string
	Labels  map[string]string
	Leaders []string
	Port    string // each leader's port on the network
	Ready   time.Duration
	// Pull says that replication is pulled: the receiving leader connects to the sending one
	// (a subscriber to its provider), so the proxy of link from->to leads to from, and to dials
	// it. Otherwise a sender connects to the receiver (it pushes), and the proxy of
	// from->to leads to to. Either way a cut of from->to stops what from sends to to.
	Pull bool
	// ClientsOnly makes only the client links' proxies: the leaders reach each other directly
	// (LinksFirewall).
	ClientsOnly bool
}

// StartSidecar starts the sidecar on the run's network and makes every link's proxy, before any
// leader uses one. On error it returns what it started, for Close.
func StartSidecar(ctx context.Context, s SidecarSpec) (*Sidecar, error) {
	exposed := []string{SidecarAPIPort + "/tcp"}
	for k := range s.Leaders {
		exposed = append(exposed, fmt.Sprintf("%d/tcp", ClientPort0+k+1))
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: s.Image, Name: s.Run + "-toxiproxy",
			Cmd:            []string{"-host", "0.0.0.0", "-port", SidecarAPIPort},
			ExposedPorts:   exposed,
			Labels:         s.Labels,
			Networks:       []string{s.Network},
			NetworkAliases: map[string][]string{s.Network: {SidecarAlias}},
			// Toxiproxy dials a link's upstream inside its accept loop, and stopping or
			// replacing a proxy waits for that loop: a dial to a frozen or vanished leader must
			// give up in seconds (one SYN retry), not after the kernel's two minutes.
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.Sysctls = map[string]string{"net.ipv4.tcp_syn_retries": "1"}
			},
			WaitingFor: wait.ForHTTP("/version").WithPort(SidecarAPIPort + "/tcp").WithStartupTimeout(s.Ready),
		},
		Started: true,
	})
	sc := &Sidecar{Container: c, leaders: s.Leaders, pull: s.Pull, peers: !s.ClientsOnly, cut: map[clusters.Link]bool{}, latency: map[clusters.Link]toxiclient.Attributes{}}
	if err != nil {
		return sc, fmt.Errorf("docker: starting the Toxiproxy sidecar: %w", err)
	}
	api, err := c.PortEndpoint(ctx, SidecarAPIPort+"/tcp", "http")
	if err != nil {
		return sc, err
	}
	sc.API = toxiclient.NewClient(api)
	for i, from := range s.Leaders {
		for j, to := range s.Leaders {
			if i != j && !s.ClientsOnly {
				l := clusters.Link{From: from, To: to}
				upstream := to
				if s.Pull {
					upstream = from
				}
				if _, err := sc.API.CreateProxy(l.String(), fmt.Sprintf("0.0.0.0:%d", LinkPort0+10*(i+1)+(j+1)), upstream+":"+s.Port); err != nil {
					return sc, fmt.Errorf("docker: proxy %s: %w", l, err)
				}
			}
		}
		l := clusters.Link{From: clusters.ClientLink, To: from}
		if _, err := sc.API.CreateProxy(l.String(), fmt.Sprintf("0.0.0.0:%d", ClientPort0+i+1), from+":"+s.Port); err != nil {
			return sc, fmt.Errorf("docker: proxy %s: %w", l, err)
		}
	}
	return sc, nil
}

// Close removes the sidecar's container; a sidecar that never started, or is already gone, is
// no error.
func (s *Sidecar) Close() error {
	if s == nil || s.Container == nil {
		return nil
	}
	err := testcontainers.TerminateContainer(s.Container)
	s.Container = nil
	return err
}

// LinkAddress is the proxy of the directed link from->to on the run's network, as host:port:
// where from reaches to (push), or where to reaches from (Pull).
func (s *Sidecar) LinkAddress(from, to int) string {
	return fmt.Sprintf("%s:%d", SidecarAlias, LinkPort0+10*(from+1)+(to+1))
}

// ClientEndpoint is where a client on this machine reaches leader i, through its client link's
// proxy: protocol://host:port, or host:port when protocol is "".
func (s *Sidecar) ClientEndpoint(ctx context.Context, i int, protocol string) (string, error) {
	return s.Container.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", ClientPort0+i+1), protocol)
}

// ToxiproxyImage builds (or finds) the sidecar's image, building its binary into dir, and returns
// its tag. Without a Go toolchain and a checkout of crossfire (CanBuild) the image is the running
// binary playing the sidecar (SelfImage).
func ToxiproxyImage(ctx context.Context, cli *client.Client, dir string) (string, error) {
	if !CanBuild(ctx) {
		return SelfImage(ctx, cli, ToxiproxyRepo, ToxiproxyRole)
	}
	bin := filepath.Join(dir, ToxiproxyRepo)
	if err := BuildStatic(ctx, ToxiproxyPackage, bin); err != nil {
		return "", err
	}
	tag, _, err := EnsureImage(ctx, cli, ToxiproxyRepo, bin)
	return tag, err
}

// Partition cuts the given links: what is sent is dropped, and the connections in flight are
// reset.
//
// A link is cut, and healed, by replacing its proxy with a fresh one at the same address, not by
// changing the toxics of the one in use: Toxiproxy changes a toxic by interrupting every live
// connection's pipeline, and a pipeline left stuck by a peer that died or froze mid-stream never
// answers, which stalls the sidecar's API. A fresh proxy has no pipelines; replacing it also
// closes the connections in flight, the reset a cut makes.
func (s *Sidecar) Partition(ctx context.Context, cut []clusters.Link) error {
	if len(cut) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range cut {
		if s.cut[l] {
			continue
		}
		if err := s.replaceProxy(l, true); err != nil {
			return err
		}
		s.cut[l] = true
	}
	return nil
}

// Heal restores every link: each proxy that is cut (or that a partition failing half-way may
// have left with a cut toxic, or disabled) is replaced by a fresh, clean one. A link whose proxy
// could not be replaced stays known as cut, for the next heal.
func (s *Sidecar) Heal(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	proxies, err := s.API.Proxies()
	if err != nil {
		return fmt.Errorf("docker: listing the sidecar's proxies: %w", err)
	}
	var errs []error
	for name, p := range proxies {
		l, err := clusters.ParseLink(name)
		if err != nil {
			continue
		}
		dirty := s.cut[l] || !p.Enabled
		if !dirty {
			if toxics, err := p.Toxics(); err == nil {
				for _, t := range toxics {
					dirty = dirty || strings.HasPrefix(t.Name, "partition-")
				}
			}
		}
		if dirty {
			if err := s.replaceProxy(l, false); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		delete(s.cut, l)
	}
	return errors.Join(errs...)
}

// ResetInto replaces the proxies of every link whose connections end at a leader (its client
// link, and the links over which the others reach it), each as it is now: cut or clean, slowed or
// not.
//
// A killed container's network namespace vanishes without a reset on its connections, and a
// disconnected one drops what is sent to it, so the sidecar still holds its side of connections
// into the leader that clients and peers keep sending into until they time out. A machine that
// comes back answers such segments with a reset; replacing the links into the leader does the
// same here.
func (s *Sidecar) ResetInto(leader string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	links := []clusters.Link{{From: clusters.ClientLink, To: leader}}
	for _, other := range s.leaders {
		if other == leader || !s.peers {
			continue
		}
		if s.pull {
			links = append(links, clusters.Link{From: leader, To: other})
		} else {
			links = append(links, clusters.Link{From: other, To: leader})
		}
	}
	for _, l := range links {
		errs = append(errs, s.replaceProxy(l, s.cut[l]))
	}
	return errors.Join(errs...)
}

// Cut reports whether the sidecar holds a link cut (or one whose heal failed).
func (s *Sidecar) Cut(l clusters.Link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut[l]
}

// Slowed reports whether the sidecar holds a link slowed (or one whose clearing failed).
func (s *Sidecar) Slowed(l clusters.Link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.latency[l]
	return ok
}

// replaceProxy deletes a link's proxy and creates it again at the same address, cut (every byte
// dropped, both ways) or clean. s.mu must be held. A latency toxic it carried is put back.
func (s *Sidecar) replaceProxy(l clusters.Link, cut bool) error {
	old, err := s.API.Proxy(l.String())
	if err != nil {
		return fmt.Errorf("docker: no link %s: %w", l, err)
	}
	listen, upstream := old.Listen, old.Upstream
	if err := old.Delete(); err != nil {
		return fmt.Errorf("docker: replacing %s: %w", l, err)
	}
	p, err := s.API.CreateProxy(l.String(), listen, upstream)
	if err != nil {
		return fmt.Errorf("docker: replacing %s: %w", l, err)
	}
	if cut {
		for _, stream := range []string{"upstream", "downstream"} {
			if _, err := p.AddToxic("partition-"+stream, "timeout", stream, 1, toxiclient.Attributes{"timeout": 0}); err != nil {
				return fmt.Errorf("docker: cutting %s: %w", l, err)
			}
		}
	}
	if lat, ok := s.latency[l]; ok {
		if _, err := p.AddToxic("latency", "latency", "downstream", 1, lat); err != nil {
			return fmt.Errorf("docker: slowing %s again: %w", l, err)
		}
	}
	if s.wan > 0 && l.From != clusters.ClientLink {
		for _, stream := range []string{"upstream", "downstream"} {
			if _, err := p.AddToxic("wan-"+stream, "latency", stream, 1, wanAttrs(s.wan)); err != nil {
				return fmt.Errorf("docker: delaying %s again: %w", l, err)
			}
		}
	}
	return nil
}

func wanAttrs(rtt time.Duration) toxiclient.Attributes {
	return toxiclient.Attributes{"latency": (rtt / 2).Milliseconds()}
}

// SetWAN delays every link between leaders that the sidecar carries by rtt/2 each way, with
// toxics of their own that partitions and ClearLatency leave in place. Zero removes the delay.
func (s *Sidecar) SetWAN(ctx context.Context, rtt time.Duration) error {
	if !s.peers {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, from := range s.leaders {
		for _, to := range s.leaders {
			if from == to {
				continue
			}
			l := clusters.Link{From: from, To: to}
			p, err := s.API.Proxy(l.String())
			if err != nil {
				return fmt.Errorf("docker: no link %s: %w", l, err)
			}
			for _, stream := range []string{"upstream", "downstream"} {
				name := "wan-" + stream
				switch {
				case rtt == 0 && s.wan > 0:
					err = p.RemoveToxic(name)
				case rtt > 0 && s.wan > 0:
					_, err = p.UpdateToxic(name, 1, wanAttrs(rtt))
				case rtt > 0:
					_, err = p.AddToxic(name, "latency", stream, 1, wanAttrs(rtt))
				}
				if err != nil {
					return fmt.Errorf("docker: the round trip of %s: %w", l, err)
				}
			}
		}
	}
	s.wan = rtt
	return nil
}

// SetLatency delays the replies over the given links.
func (s *Sidecar) SetLatency(ctx context.Context, links []clusters.Link, latency, jitter time.Duration) error {
	if len(links) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range links {
		p, err := s.API.Proxy(l.String())
		if err != nil {
			return fmt.Errorf("docker: no link %s: %w", l, err)
		}
		attrs := toxiclient.Attributes{"latency": latency.Milliseconds(), "jitter": jitter.Milliseconds()}
		if _, slowed := s.latency[l]; slowed {
			_, err = p.UpdateToxic("latency", 1, attrs)
		} else {
			_, err = p.AddToxic("latency", "latency", "downstream", 1, attrs)
		}
		if err != nil {
			return fmt.Errorf("docker: slowing %s: %w", l, err)
		}
		s.latency[l] = attrs
	}
	return nil
}

// ClearLatency removes every delay; a link whose delay could not be removed stays known as
// slowed, for the next clear.
func (s *Sidecar) ClearLatency(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for l := range s.latency {
		p, err := s.API.Proxy(l.String())
		if err == nil {
			err = p.RemoveToxic("latency")
		}
		if err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, fmt.Errorf("docker: clearing the latency of %s: %w", l, err))
			continue
		}
		delete(s.latency, l)
	}
	return errors.Join(errs...)
}

var (
	_ clusters.Partitioner = (*Sidecar)(nil)
	_ clusters.LinkShaper  = (*Sidecar)(nil)
)
