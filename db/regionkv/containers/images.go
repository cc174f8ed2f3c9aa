// Package containers is regionkv's container cluster: a description of a regionkv leader (its
// image, command, readiness and the files it leaves) handed to the generic container cluster of
// clusters/docker, plus what is regionkv's own (clocks and replication faults through the admin
// endpoint, quiescence, conflict logs). Its images are built here, never pulled.
package containers

import (
	"context"
	"os"
	"path/filepath"

	"github.com/moby/moby/client"

	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
)

// The node's image (tags are content hashes): cmd/regionkv, static, FROM scratch.
const (
	NodeRepo    = "crossfire-regionkv"
	NodePackage = "github.com/crossfire-dev/crossfire/cmd/regionkv"
)

// NodeImage builds (or finds) the node's image and returns its tag.
func NodeImage(ctx context.Context, cli *client.Client) (string, error) {
	dir, err := os.MkdirTemp("", "crossfire-images-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	return nodeImage(ctx, cli, dir)
}

// NodeRole is the regionkv node's role in a container made of the running binary
// (docker.SelfImage): any binary that links this package can be a node.
const NodeRole = "regionkv"

func init() {
	docker.RegisterRole(NodeRole, func(args []string) int { return server.Main(args, os.Stderr) })
	docker.PlayRole()
}

// nodeImage builds the node's binary into dir and finds or builds its image; without a Go
// toolchain and a checkout (docker.CanBuild), the image is the running binary as a node.
func nodeImage(ctx context.Context, cli *client.Client, dir string) (string, error) {
	if !docker.CanBuild(ctx) {
		return docker.SelfImage(ctx, cli, NodeRepo, NodeRole)
	}
	bin := filepath.Join(dir, NodeRepo)
	if err := docker.BuildStatic(ctx, NodePackage, bin); err != nil {
		return "", err
	}
	tag, _, err := docker.EnsureImage(ctx, cli, NodeRepo, bin)
	return tag, err
}

// Images builds (or finds) the node and Toxiproxy images, building the binaries into dir, and
// returns their tags.
func Images(ctx context.Context, cli *client.Client, dir string) (node, toxiproxy string, err error) {
	if node, err = nodeImage(ctx, cli, dir); err != nil {
		return "", "", err
	}
	if toxiproxy, err = docker.ToxiproxyImage(ctx, cli, dir); err != nil {
		return "", "", err
	}
	return node, toxiproxy, nil
}
