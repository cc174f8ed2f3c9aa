// Package mariadb puts MariaDB under test, in the versions teams run (11.8 from Debian trixie,
// 10.11 from Debian bookworm), in the two ways teams run it write-anywhere: Galera 4
// (synchronous replication with certification at commit) and asynchronous multi-source
// replication between masters (no conflict detection at all). Its images are made here from
// Debian's packages (no registry can be reached): see Image.
package mariadb

import (
	"fmt"
	"strings"

	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// The versions crossfire runs, each from the Debian release that ships it.
const (
	V118  = "11.8"  // Debian 13 (trixie): MariaDB 11.8, galera-4 26.4
	V1011 = "10.11" // Debian 12 (bookworm): MariaDB 10.11, galera-4 26.4
)

// Versions are the values of the version option, the default (the newest) first.
var Versions = []string{V118, V1011}

// suites are the Debian releases the versions come from.
var suites = map[string]string{V118: "trixie", V1011: "bookworm"}

// CheckVersion says what is wrong with a version, nil for one crossfire runs; "" is the default.
func CheckVersion(v string) error {
	if v == "" || suites[v] != "" {
		return nil
	}
	return fmt.Errorf("mariadb has no version %q (valid: %s)", v, strings.Join(Versions, ", "))
}

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

// Image is the image every MariaDB leader of a version runs ("" for the default): the packages
// of the Debian release that ships it.
func Image(version string) docker.DebianImage {
	if version == "" {
		version = Versions[0]
	}
	return docker.DebianImage{
		Repo: Repo, Suite: suites[version], Mirror: docker.DebianMirror(), Packages: Packages, Setup: setup,
		Changes: []string{"ENV LANG=C.UTF-8", `CMD ["mariadbd", "--version"]`},
	}
}

// Name is the database's name in the catalog.
const Name = "mariadb"
