// Package pglogical puts PostgreSQL 15 with pglogical 2.4, a write-anywhere engine that resolves
// row conflicts by commit timestamp, under test. Its image is made here from Debian's packages
// (no registry can be reached): see Image.
package pglogical

import (
	"context"
	"io"
	"os"

	"github.com/moby/moby/client"

	"crossfire/clusters/docker"
)

// Repo is the image's name; its tag is a hash of what went into it.
const Repo = "crossfire-pglogical"

// Packages are what the image holds on top of Debian's minimal base: the server, pglogical, and
// libfaketime, through which the clock nemesis skews a leader's clock.
var Packages = []string{"postgresql-15", "postgresql-15-pglogical", "libfaketime"}

// FaketimeLib is libfaketime inside the image: a leader started with it preloaded reads its
// clock from a file the harness writes (the clock nemesis).
const FaketimeLib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

// setup runs in the root filesystem once the packages are in: the cluster Debian's packaging
// made is dropped (each leader makes its own in its data volume), the package caches go, and
// the folders a leader uses belong to postgres.
const setup = `
pg_dropcluster 15 main || true
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
mkdir -p /data /faketime /run/postgresql
chown postgres:postgres /data /faketime /run/postgresql
`

// Image is the image every pglogical leader runs: Debian bookworm's packages, from the mirror
// CROSSFIRE_DEBIAN_MIRROR names (Debian's own by default).
func Image() docker.DebianImage {
	mirror := os.Getenv("CROSSFIRE_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	return docker.DebianImage{
		Repo: Repo, Suite: "bookworm", Mirror: mirror, Packages: Packages, Setup: setup,
		Changes: []string{
			"ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"ENV LANG=C.UTF-8",
			"USER postgres",
			`CMD ["postgres", "--version"]`,
		},
	}
}

// EnsureImage returns the image's tag, building it first when Docker does not have it (about a
// minute, once; log gets a line per step).
func EnsureImage(ctx context.Context, cli *client.Client, log io.Writer) (string, error) {
	tag, _, err := docker.EnsureDebianImage(ctx, cli, Image(), log)
	return tag, err
}
