// Package containers is regionkv's container cluster, started by testcontainers-go: leaders in
// their own containers on a network made for the run, every link through a Toxiproxy sidecar,
// faults made by Docker and the network. Its images are built here (package clusters/docker),
// never pulled.
package containers

import (
	"context"
	"path/filepath"

	"github.com/moby/moby/client"

	"crossfire/clusters/docker"
)

// The node's image (tags are content hashes): cmd/regionkv, static, FROM scratch.
const (
	NodeRepo    = "crossfire-regionkv"
	NodePackage = "crossfire/cmd/regionkv"
)

// Images builds (or finds) the node and Toxiproxy images, building the binaries into dir, and
// returns their tags.
func Images(ctx context.Context, cli *client.Client, dir string) (node, toxiproxy string, err error) {
	bin := filepath.Join(dir, NodeRepo)
	if err := docker.BuildStatic(ctx, NodePackage, bin); err != nil {
		return "", "", err
	}
	if node, _, err = docker.EnsureImage(ctx, cli, NodeRepo, bin); err != nil {
		return "", "", err
	}
	if toxiproxy, err = docker.ToxiproxyImage(ctx, cli, dir); err != nil {
		return "", "", err
	}
	return node, toxiproxy, nil
}
