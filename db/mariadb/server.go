package mariadb

import (
	"fmt"
	"strings"

	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// Port is the server's SQL port inside a leader's container.
const Port = 3306

// The two designs (the replication option).
const (
	// Galera is synchronous multi-master: a transaction is certified against the others' write
	// sets at commit, and loses (1213) when they conflict.
	Galera = "galera"
	// Async is asynchronous multi-source replication: each master replicates from every other,
	// with no conflict detection at all.
	Async = "async"
)

// Replications are the values of the replication option, the default first.
var Replications = []string{Galera, Async}

// Settings are one run's server settings, the same at every leader.
type Settings struct {
	// Version is the MariaDB version the leaders run (Versions; the newest by default).
	Version     string
	Replication string
	Nodes       int
	// Flush is innodb_flush_log_at_trx_commit: 1 (as shipped: the redo log is flushed at every
	// commit) or 0 (once a second, the value Galera's documentation recommends).
	Flush string
	// SyncWait is wsrep_sync_wait: 0 as shipped (reads may be stale), 1 for causal reads.
	SyncWait string
	// PCRecovery is Galera's pc.recovery: "on" as shipped (a leader saves the last primary
	// component and, when every leader restarts, they restore it by themselves) or "off" (after
	// every leader was killed none is primary until one is bootstrapped, as MariaDB documents for
	// a cluster that cannot restore its component).
	PCRecovery string
	// ExecMode is slave_exec_mode for Async: strict (a duplicate key stops replication) or
	// idempotent (conflicting rows are applied blindly).
	ExecMode string
}

// Config is the option file a leader reads last (/etc/mysql/mariadb.conf.d/99-crossfire.cnf,
// after Debian's 50-server.cnf and 60-galera.cnf, so that it wins): every interface, ROW binary
// logs, a server id per leader, the users crossfire needs made at each start (init_file, local
// only), and the replication design's own settings.
func (s Settings) Config(id string, n int) string {
	lines := []string{
		"[mysqld]",
		"bind-address=0.0.0.0",
		"skip_name_resolve=ON",
		"binlog_format=ROW",
		"default_storage_engine=InnoDB",
		"innodb_autoinc_lock_mode=2",
		"innodb_flush_log_at_trx_commit=" + s.Flush,
		fmt.Sprintf("server_id=%d", n),
		"init_file=/etc/mysql/crossfire-init.sql",
		"max_connections=500",
	}
	if s.Replication == Async {
		lines = append(lines,
			fmt.Sprintf("gtid_domain_id=%d", n),
			"log_bin=mariadb-bin",
			"log_slave_updates=ON",
			"gtid_ignore_duplicates=ON",
			fmt.Sprintf("auto_increment_increment=%d", s.Nodes),
			fmt.Sprintf("auto_increment_offset=%d", n),
			"relay_log=relay-bin",
			"slave_exec_mode="+strings.ToUpper(s.ExecMode),
			"[galera]",
			"wsrep_on=OFF",
		)
		return strings.Join(lines, "\n") + "\n"
	}
	var peers []string
	for i := 1; i <= s.Nodes; i++ {
		peers = append(peers, fmt.Sprintf("n%d", i))
	}
	lines = append(lines,
		"[galera]",
		"wsrep_on=ON",
		"wsrep_provider=/usr/lib/galera/libgalera_smm.so",
		"wsrep_cluster_name=crossfire",
		"wsrep_cluster_address=gcomm://"+strings.Join(peers, ","),
		"wsrep_node_address="+id,
		"wsrep_node_name="+id,
		"wsrep_sst_method=rsync",
		"wsrep_log_conflicts=ON",
		fmt.Sprintf(`wsrep_provider_options="cert.log_conflicts=YES;pc.recovery=%t"`, s.PCRecovery != "off"),
		"wsrep_sync_wait="+s.SyncWait,
		// Each leader's binary log keeps what it committed and what it applied from the others,
		// with one GTID per write set across the cluster: the run folder's record of which
		// leader committed a transaction and which applied it (binlog.go).
		"log_bin=mariadb-bin",
		"log_slave_updates=ON",
		"wsrep_gtid_mode=ON",
		"wsrep_gtid_domain_id=100",
		fmt.Sprintf("gtid_domain_id=%d", n),
	)
	return strings.Join(lines, "\n") + "\n"
}

// initSQL makes crossfire's users at every start, at this leader only (neither replicated nor
// written to the binary log): cf for the clients and the harness, repl for replication.
func (s Settings) initSQL() string {
	local := "SET SESSION sql_log_bin=0;\n"
	if s.Replication == Galera {
		local += "SET SESSION wsrep_on=OFF;\n"
	}
	return local + users
}

const users = `CREATE USER IF NOT EXISTS 'cf'@'%' IDENTIFIED BY 'cf';
GRANT ALL ON *.* TO 'cf'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
`

// Entrypoint is leader id's container command, run as root: it writes the option file and the
// init file, makes the data folder on first start, and starts the server under libfaketime.
//
// With Galera, n1 bootstraps a new cluster on its first start (its data folder has no
// grastate.dat yet); every other leader waits, on its first start, until n1 answers, and joins
// by state transfer. On every later start (a restart after a kill) a leader first recovers its
// position from its data (Debian's galera_recovery, which runs mariadbd --wsrep-recover) and
// rejoins from there, by incremental state transfer where its peers still have what it missed.
// A leader that finds BootstrapMark (put there when no primary component was left to rejoin)
// removes it, marks its saved state safe to bootstrap and starts a new primary component from
// its own position.
func (s Settings) Entrypoint(id string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\ncat > /etc/mysql/mariadb.conf.d/99-crossfire.cnf <<'CNF'\n%sCNF\n", s.Config(id, n))
	fmt.Fprintf(&b, "cat > /etc/mysql/crossfire-init.sql <<'SQL'\n%sSQL\n", s.initSQL())
	b.WriteString(`first=no
if [ ! -d /var/lib/mysql/mysql ]; then
  first=yes
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
chown -R mysql:mysql /var/lib/mysql
extra=""
`)
	if s.Replication == Galera {
		fmt.Fprintf(&b, `if [ -f /var/lib/mysql/grastate.dat ]; then
  extra=$(/usr/bin/galera_recovery || true)
  if [ -f %[2]s ]; then
    rm -f %[2]s
    sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' /var/lib/mysql/grastate.dat
    extra="$extra --wsrep-new-cluster"
  fi
elif [ %[1]q = n1 ]; then
  extra=--wsrep-new-cluster
else
  until mariadb-admin --skip-ssl --host=n1 --connect-timeout=1 ping >/dev/null 2>&1; do sleep 0.5; done
fi
`, id, BootstrapMark)
	}
	b.WriteString("echo \"crossfire: starting mariadbd $extra\" >&2\n")
	fmt.Fprintf(&b, "exec env %s mariadbd --user=mysql $extra\n", strings.Join(docker.FaketimeEnv(), " "))
	return b.String()
}

// BootstrapMark is the file that tells a Galera leader's next start to bootstrap the cluster.
const BootstrapMark = "/etc/mysql/crossfire-bootstrap"

// Schema is the workloads' tables, as a team would write them (pglogical's, in MariaDB's
// dialect): a row per register (its value as JSON text), a stock row per SKU (its units and a ledger of the changes
// they hold, as in pglogical's), an order row per
// sale in the two designs of the flash sale (keyed by an id the engine gives, unique across
// leaders: Galera's auto-increment control, or each async master's own offset), a row per cart
// item, a row per user profile (a column per field), and for transactions a row per list (its
// elements comma-separated in a text column) and a row per register.
var Schema = []string{
	"CREATE DATABASE IF NOT EXISTS crossfire",
	"CREATE TABLE IF NOT EXISTS crossfire.registers (k VARCHAR(64) PRIMARY KEY, v VARCHAR(255))",
	"CREATE TABLE IF NOT EXISTS crossfire.stock (sku VARCHAR(64) PRIMARY KEY, units BIGINT NOT NULL, ledger MEDIUMTEXT NOT NULL DEFAULT '')",
	`CREATE TABLE IF NOT EXISTS crossfire.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, leader VARCHAR(8) NOT NULL,
		sku VARCHAR(64) NOT NULL, qty BIGINT NOT NULL, req VARCHAR(64) NOT NULL, INDEX (req), INDEX (sku))`,
	`CREATE TABLE IF NOT EXISTS crossfire.orders_by_req (req VARCHAR(64) PRIMARY KEY, id BIGINT AUTO_INCREMENT UNIQUE KEY,
		leader VARCHAR(8) NOT NULL, sku VARCHAR(64) NOT NULL, qty BIGINT NOT NULL, INDEX (sku))`,
	"CREATE TABLE IF NOT EXISTS crossfire.cart_items (cart VARCHAR(64) NOT NULL, item VARCHAR(64) NOT NULL, PRIMARY KEY (cart, item))",
	`CREATE TABLE IF NOT EXISTS crossfire.profiles (id VARCHAR(64) PRIMARY KEY, name VARCHAR(255), email VARCHAR(255),
		address VARCHAR(255), marketing VARCHAR(255), terms VARCHAR(255))`,
	"CREATE TABLE IF NOT EXISTS crossfire.txn_lists (k VARCHAR(64) PRIMARY KEY, v TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS crossfire.txn_registers (k VARCHAR(64) PRIMARY KEY, v VARCHAR(255))",
}

// ExecModes are the values of the exec-mode option (slave_exec_mode, async only), the default
// first.
var ExecModes = []string{"strict", "idempotent"}
