// Package pglogical puts PostgreSQL 15 with pglogical 2.4, a write-anywhere engine that resolves
// row conflicts by commit timestamp, under test. Its image is made here from Debian's packages
// (no registry can be reached): see Image.
package pglogical

import "github.com/crossfire-dev/crossfire/clusters/docker"

// Repo is the image's name; its tag is a hash of what went into it.
const Repo = "crossfire-pglogical"

// Packages are what the image holds on top of Debian's minimal base: the server, pglogical,
// libfaketime, through which the clock nemesis skews a leader's clock, and iptables and iproute2,
// with which a cluster whose links are cut by firewall cuts and slows them.
var Packages = []string{"postgresql-15", "postgresql-15-pglogical", "libfaketime", "iptables", "iproute2"}

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
	return docker.DebianImage{
		Repo: Repo, Suite: "bookworm", Mirror: docker.DebianMirror(), Packages: Packages, Setup: setup,
		Changes: []string{
			"ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"ENV LANG=C.UTF-8",
			"USER postgres",
			`CMD ["postgres", "--version"]`,
		},
	}
}
