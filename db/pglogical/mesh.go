package pglogical

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Strategies are the ways a pglogical mesh resolves a row conflict (pglogical.conflict_resolution),
// the default first. "error" is not one: it stops a link's apply worker on the conflict, for
// good (the strategy option offers it, to show that behaviour).
var Strategies = []string{"last_update_wins", "first_update_wins", "keep_local", "apply_remote"}

// Port is PostgreSQL's port inside a leader's container.
const Port = 5432

// ServerSettings are each leader's settings (README.md): logical decoding, pglogical
// loaded, commit timestamps kept (conflict resolution compares them), the resolution, conflicts
// logged at LOG with the prefix ParseConflicts reads.
func ServerSettings(strategy string) []string {
	return []string{
		"listen_addresses=*",
		"wal_level=logical",
		"shared_preload_libraries=pglogical",
		"track_commit_timestamp=on",
		"max_replication_slots=10",
		"max_wal_senders=10",
		"max_worker_processes=16",
		"pglogical.conflict_resolution=" + strategy,
		"pglogical.conflict_log_level=LOG",
		"log_line_prefix=%m [%p] ",
		"fsync=on",
	}
}

// Schema is the tables of the workloads, as a team would write them: a row per register, a
// stock row per SKU (its units, and a ledger of the sales and restocks they hold: crossfire's
// instrument, appended in the statement that changes the units), an order row per sale, a row per cart item, a row per user profile (a
// column per field), a row per claimed name, and an account row per owner whose email (the
// name it claims) is a second UNIQUE index; for transactions, a row per list (its elements
// comma-separated in a text column) and a row per register. Every table has a primary
// key (pglogical replicates UPDATE and DELETE only with one). Orders come in the two designs of
// the flash sale: orders, keyed by the leader that took the sale and the id it gave (an id from
// the leader's own sequence: sequences are not replicated), and orders_by_req, keyed by the
// buyer's idempotency id.
const Schema = `
CREATE TABLE IF NOT EXISTS registers (k text PRIMARY KEY, v jsonb);
CREATE TABLE IF NOT EXISTS stock (sku text PRIMARY KEY, units bigint NOT NULL, ledger text NOT NULL DEFAULT '');
CREATE SEQUENCE IF NOT EXISTS order_ids;
CREATE TABLE IF NOT EXISTS orders (leader text NOT NULL, id bigint NOT NULL, sku text NOT NULL, qty bigint NOT NULL, req text NOT NULL,
	PRIMARY KEY (leader, id));
CREATE INDEX IF NOT EXISTS orders_req ON orders (req);
CREATE TABLE IF NOT EXISTS orders_by_req (req text PRIMARY KEY, leader text NOT NULL, id bigint NOT NULL, sku text NOT NULL, qty bigint NOT NULL);
CREATE TABLE IF NOT EXISTS cart_items (cart text NOT NULL, item text NOT NULL, PRIMARY KEY (cart, item));
CREATE TABLE IF NOT EXISTS profiles (id text PRIMARY KEY, name text, email text, address text, marketing text, terms text);
CREATE TABLE IF NOT EXISTS claims (name text PRIMARY KEY, owner text NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (id text PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS txn_lists (k text PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS txn_registers (k text PRIMARY KEY, v text);
`

// DSN is a libpq connection string.
func DSN(host string, port int) string {
	return fmt.Sprintf("host=%s port=%d dbname=postgres user=postgres sslmode=disable", host, port)
}

// Peer is another leader as one leader reaches it for replication: its name and the DSN its
// subscription connects to (the proxy of that directed link, in a cluster with one).
type Peer struct {
	Name, DSN string
}

// Prepare makes the leader at conn a pglogical node named name (reached by the others at self),
// with the workloads' tables in the default replication set. Every leader is prepared before
// any subscribes: a subscription asks its provider for its node.
func Prepare(ctx context.Context, conn *pgx.Conn, name, self string) error {
	for _, s := range []struct {
		what string
		sql  string
		args []any
	}{
		{"creating the extension", "CREATE EXTENSION IF NOT EXISTS pglogical", nil},
		{"creating the tables", Schema, nil},
		{"creating the node", "SELECT pglogical.create_node(node_name := $1, dsn := $2)", []any{name, self}},
		{"adding the tables", "SELECT pglogical.replication_set_add_all_tables('default', ARRAY['public'])", nil},
	} {
		if _, err := conn.Exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("pglogical: %s at %s: %w", s.what, name, err)
		}
	}
	return nil
}

// Subscribe subscribes the leader named name, at conn, to every peer with forward_origins {}: in
// a full mesh each change travels one hop, and none loops.
func Subscribe(ctx context.Context, conn *pgx.Conn, name string, peers []Peer) error {
	for _, p := range peers {
		if _, err := conn.Exec(ctx, `SELECT pglogical.create_subscription(subscription_name := $1, provider_dsn := $2,
			replication_sets := ARRAY['default'], synchronize_structure := false, synchronize_data := false, forward_origins := '{}')`,
			Subscription(name, p.Name), p.DSN); err != nil {
			return fmt.Errorf("pglogical: subscribing %s to %s: %w", name, p.Name, err)
		}
	}
	return nil
}

// Subscription names the subscription by which leader to receives from.
func Subscription(to, from string) string { return to + "_from_" + from }

// AwaitReplicating waits until every subscription of the leader at conn is replicating, and
// says which are not when ctx ends.
func AwaitReplicating(ctx context.Context, conn *pgx.Conn) error {
	return awaitReplicating(ctx, conn, 0)
}

// WakeEvery is how often Quiesce wakes pglogical's manager for a subscription that is down.
//
// An apply worker that failed (its provider could not be reached, or the connection broke) is
// started again by the leader's pglogical manager, which sleeps between rounds for up to three
// minutes and was seen here to leave a subscription down for 80 s and more after the network came
// back. A change to a subscription wakes the manager: enabling a subscription that is already
// enabled changes nothing else, and is what an operator would do once the network is back.
const WakeEvery = 5 * time.Second

func awaitReplicating(ctx context.Context, conn *pgx.Conn, wake time.Duration) error {
	var last string
	woken := map[string]time.Time{}
	for {
		rows, err := conn.Query(ctx, "SELECT subscription_name, status FROM pglogical.show_subscription_status()")
		if err == nil {
			var behind, down []string
			n := 0
			for rows.Next() {
				var name, status string
				if err = rows.Scan(&name, &status); err != nil {
					break
				}
				n++
				if status != "replicating" {
					behind = append(behind, name+" "+status)
				}
				if status == "down" && wake > 0 && time.Since(woken[name]) >= wake {
					down = append(down, name)
				}
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			for _, name := range down {
				if _, err := conn.Exec(ctx, "SELECT pglogical.alter_subscription_enable($1, true)", name); err == nil {
					woken[name] = time.Now()
				}
			}
			switch {
			case err != nil:
			case n == 0:
				last = "no subscription"
			case len(behind) == 0:
				return nil
			default:
				last = strings.Join(behind, ", ")
			}
		}
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return errors.New("pglogical: subscriptions not replicating: " + last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Quiesce waits until replication has caught up: every subscription of every leader
// replicating (a subscription down wakes pglogical's manager every WakeEvery), and on every
// leader every slot confirmed up to its current WAL position (pglogical.wait_slot_confirm_lsn).
// When ctx ends first it says what is behind.
func Quiesce(ctx context.Context, leaders map[string]*pgx.Conn) error {
	names := make([]string, 0, len(leaders))
	for n := range leaders {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := awaitReplicating(ctx, leaders[n], WakeEvery); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	for _, n := range names {
		if _, err := leaders[n].Exec(ctx, "SELECT pglogical.wait_slot_confirm_lsn(NULL, NULL)"); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("pglogical: %s's subscribers had not confirmed its latest changes", n)
			}
			return fmt.Errorf("pglogical: waiting for %s's subscribers: %w", n, err)
		}
	}
	return nil
}

// Origins maps the leader at conn's replication origin ids to the leaders they stand for (0 is
// the leader itself). pglogical names an origin after its subscription, which Subscription names
// after the provider: pgl_<db>_<provider>_<to>_from_<provider>.
func Origins(ctx context.Context, conn *pgx.Conn) (map[int]string, error) {
	rows, err := conn.Query(ctx, "SELECT roident::int, roname FROM pg_replication_origin")
	if err != nil {
		return nil, fmt.Errorf("pglogical: reading replication origins: %w", err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		if i := strings.LastIndex(name, "_from_"); i >= 0 {
			out[id] = name[i+len("_from_"):]
		}
	}
	return out, rows.Err()
}
