package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Client connects to the Docker engine through testcontainers' moby client, with the reaper
// disabled (its image cannot be pulled; Clean does its work) and published ports reached on
// loopback: left to itself, testcontainers takes the default route's gateway for the Docker host
// when it believes it runs in a container, and traffic must stay on this machine. It fails with a
// one-line reason when no engine answers.
func Client(ctx context.Context) (*client.Client, error) {
	for k, v := range map[string]string{"TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	tclog.SetDefault(tclog.NewNoopLogger()) // crossfire says what happens in its own words
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: no Docker engine: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: no Docker engine answers: %w", err)
	}
	return cli.Client, nil
}

// Removed says what Clean removed (or, in a dry run, would remove) and what it kept because
// the run that made it is still going.
type Removed struct {
	Containers, Networks, Volumes int
	Names                         []string // "container NAME", "network NAME", "volume NAME"
	Kept                          int      // resources of runs in progress, left alone
}

// SweepAge is how old a crossfire container, network or volume without owner labels (made by
// an older crossfire) must be for a new cluster to remove it as a leftover.
const SweepAge = 2 * time.Hour

// Which chooses what Clean removes: what is labelled crossfire, made at least OlderThan ago (0:
// whenever), of one run if Run is set, and not of a run still in progress unless Running is set.
// A run is in progress while the process that made it (its owner labels) lives on this host;
// what carries no owner labels, or was made on another host, counts as a leftover.
type Which struct {
	OlderThan time.Duration
	Run       string // a run's id (the value of LabelRun), or "" for every run
	Running   bool   // remove the resources of runs in progress too
	DryRun    bool   // say what would go, remove nothing
	// UnownedOlderThan, when set, spares what carries no owner labels (made by an older
	// crossfire) until it is this old.
	UnownedOlderThan time.Duration
}

// InProgress reports whether the labels name an owner process that is alive on this host.
func InProgress(labels map[string]string) bool {
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 || labels[LabelHost] != host {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Clean removes the containers, networks and volumes labelled crossfire that w chooses,
// containers first, since networks and volumes in use cannot go. Images are kept: they are
// reused by content hash.
func Clean(ctx context.Context, cli *client.Client, w Which) (Removed, error) {
	var r Removed
	var errs []error
	filter := make(client.Filters).Add("label", Label+"=true")
	if w.Run != "" {
		filter = filter.Add("label", LabelRun+"="+w.Run)
	}
	// chosen says whether a resource goes, counting the ones kept for a run in progress.
	chosen := func(created time.Time, labels map[string]string) bool {
		if w.OlderThan > 0 && time.Since(created) < w.OlderThan {
			return false
		}
		if !w.Running && InProgress(labels) {
			r.Kept++
			return false
		}
		if _, owned := labels[LabelPID]; !owned && w.UnownedOlderThan > 0 && time.Since(created) < w.UnownedOlderThan {
			r.Kept++
			return false
		}
		return true
	}

	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return r, fmt.Errorf("docker: listing containers: %w", err)
	}
	for _, c := range cs.Items {
		if !chosen(time.Unix(c.Created, 0), c.Labels) {
			continue
		}
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		if !w.DryRun {
			if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				errs = append(errs, fmt.Errorf("docker: removing container %s: %w", name, err))
				continue
			}
		}
		r.Containers++
		r.Names = append(r.Names, "container "+name)
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("docker: listing networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if !chosen(n.Created, n.Labels) {
			continue
		}
		if !w.DryRun {
			if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("docker: removing network %s: %w", n.Name, err))
				continue
			}
		}
		r.Networks++
		r.Names = append(r.Names, "network "+n.Name)
		// The run's host folder goes with its network: both are the run's, not one container's.
		if run := n.Labels[LabelRun]; run != "" {
			if _, err := os.Stat(HostDir(run)); err == nil {
				if !w.DryRun {
					if err := os.RemoveAll(HostDir(run)); err != nil {
						errs = append(errs, fmt.Errorf("removing folder %s: %w", HostDir(run), err))
						continue
					}
				}
				r.Names = append(r.Names, "folder "+HostDir(run))
			}
		}
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: filter})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("docker: listing volumes: %w", err))...)
	}
	for _, v := range vs.Items {
		created, _ := time.Parse(time.RFC3339, v.CreatedAt)
		if !chosen(created, v.Labels) {
			continue
		}
		if !w.DryRun {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
				errs = append(errs, fmt.Errorf("docker: removing volume %s: %w", v.Name, err))
				continue
			}
		}
		r.Volumes++
		r.Names = append(r.Names, "volume "+v.Name)
	}
	return r, errors.Join(errs...)
}

// HostDir is the folder on this machine where a run keeps what its containers bind-mount (the
// leaders' clock files). Clean removes it with the run's network.
func HostDir(run string) string { return filepath.Join(os.TempDir(), "crossfire-"+run) }

// RemoveNetwork removes a run's network; one already gone is no error.
func RemoveNetwork(ctx context.Context, cli *client.Client, name string) error {
	if name == "" || cli == nil {
		return nil
	}
	if _, err := cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil && !strings.Contains(err.Error(), "not found") {
		return err
	}
	return nil
}
