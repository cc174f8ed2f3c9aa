// Package mariadb puts MariaDB 10.11 under test in the two ways teams run it write-anywhere:
// Galera 4 (synchronous replication with certification at commit) and asynchronous
// multi-source replication between masters (no conflict detection at all). Its image is made
// here from Debian bookworm's packages (no registry can be reached): see Image.
package mariadb

import "github.com/crossfire-dev/crossfire/clusters/docker"

// Repo is the image's name; its tag is a hash of what went into it.
const Repo = "crossfire-mariadb"

// Packages are what the image holds on top of Debian's minimal base: the server and its client,
// Galera and what its state transfers use (rsync, socat), libfaketime for the clock nemesis,
// iptables and iproute2 for links cut by firewall, procps for the server's own scripts.
var Packages = []string{"mariadb-server", "mariadb-client", "galera-4", "rsync", "socat", "libfaketime", "iptables", "iproute2", "procps"}

// setup runs in the root filesystem once the packages are in: the folders the server needs at
// run time exist and are its own, the data folder Debian's packaging made is dropped (each leader
// makes its own on first start), the package caches go.
const setup = `
mkdir -p /run/mysqld /var/log/mysql /faketime
chown mysql:mysql /run/mysqld /var/log/mysql
rm -rf /var/lib/mysql/*
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
`

// Image is the image every MariaDB leader runs: Debian bookworm's packages.
func Image() docker.DebianImage {
	return docker.DebianImage{
		Repo: Repo, Suite: "bookworm", Mirror: docker.DebianMirror(), Packages: Packages, Setup: setup,
		Changes: []string{"ENV LANG=C.UTF-8", `CMD ["mariadbd", "--version"]`},
	}
}

// Name is the database's name in the catalog.
const Name = "mariadb"
