package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// Removed counts what Clean removed.
type Removed struct {
	Containers, Networks, Volumes int
}

// Which chooses what Clean removes: what is labelled crossfire, made at least OlderThan ago (0:
// whenever), and of one run if Run is set.
type Which struct {
	OlderThan time.Duration
	Run       string // a run's id (the value of LabelRun), or "" for every run
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
	old := func(created time.Time) bool { return w.OlderThan <= 0 || time.Since(created) >= w.OlderThan }

	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return r, fmt.Errorf("docker: listing containers: %w", err)
	}
	for _, c := range cs.Items {
		if !old(time.Unix(c.Created, 0)) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("docker: removing container %s: %w", c.ID[:12], err))
			continue
		}
		r.Containers++
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("docker: listing networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if !old(n.Created) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("docker: removing network %s: %w", n.Name, err))
			continue
		}
		r.Networks++
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: filter})
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("docker: listing volumes: %w", err))...)
	}
	for _, v := range vs.Items {
		created, _ := time.Parse(time.RFC3339, v.CreatedAt)
		if !old(created) {
			continue
		}
		if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("docker: removing volume %s: %w", v.Name, err))
			continue
		}
		r.Volumes++
	}
	return r, errors.Join(errs...)
}
