package docker

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"crossfire/clusters"
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
type Sidecar struct {
	Container testcontainers.Container
	API       *toxiclient.Client
	leaders   []string
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
	sc := &Sidecar{Container: c, leaders: s.Leaders}
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
			if i != j {
				l := clusters.Link{From: from, To: to}
				if _, err := sc.API.CreateProxy(l.String(), fmt.Sprintf("0.0.0.0:%d", LinkPort0+10*(i+1)+(j+1)), to+":"+s.Port); err != nil {
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

// LinkAddress is where leader from reaches leader to on the run's network: the proxy of that
// directed link, as host:port.
func (s *Sidecar) LinkAddress(from, to int) string {
	return fmt.Sprintf("%s:%d", SidecarAlias, LinkPort0+10*(from+1)+(to+1))
}

// ClientEndpoint is where a client on this machine reaches leader i, through its client link's
// proxy: protocol://host:port, or host:port when protocol is "".
func (s *Sidecar) ClientEndpoint(ctx context.Context, i int, protocol string) (string, error) {
	return s.Container.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", ClientPort0+i+1), protocol)
}

// ToxiproxyImage builds (or finds) the sidecar's image, building its binary into dir, and returns
// its tag.
func ToxiproxyImage(ctx context.Context, cli *client.Client, dir string) (string, error) {
	bin := filepath.Join(dir, ToxiproxyRepo)
	if err := BuildStatic(ctx, ToxiproxyPackage, bin); err != nil {
		return "", err
	}
	tag, _, err := EnsureImage(ctx, cli, ToxiproxyRepo, bin)
	return tag, err
}
