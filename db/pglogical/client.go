package pglogical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/sqlclient"
	"github.com/crossfire-dev/crossfire/history"
)

// Order designs of the flash sale (the orders option): sqlclient's. With OrdersDedup two leaders
// that both took a request resolve their two rows into one.
const (
	OrdersNaive = sqlclient.OrdersNaive
	OrdersDedup = sqlclient.OrdersDedup
)

// statements are PostgreSQL's SQL for the workloads. A register's answer carries the version
// the engine gives its row (pg_xact_commit_timestamp_origin of its xmin: what last_update_wins
// compares). A profile's edit is UPDATE … SET field, the row made on its first edit: pglogical
// replicates the whole new row of an UPDATE, and last_update_wins keeps one row of two
// concurrent ones, so edits to different columns at two leaders collapse into one. The claims
// workload's accounts table has the name (an email) as a second UNIQUE index: pglogical
// resolves a conflict on that index, and the row it replaces is gone.
var statements = &sqlclient.Statements{
	ReadRegister: `SELECT r.v, c.timestamp, c.roident::int FROM registers r,
		pg_xact_commit_timestamp_origin(r.xmin) c WHERE r.k = $1`,
	WriteRegister: `INSERT INTO registers (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
		RETURNING xmin::text`,
	CasFromNull: `INSERT INTO registers (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
		WHERE registers.v IS NULL OR registers.v = 'null'::jsonb RETURNING xmin::text`,
	CasUpdate: `UPDATE registers SET v = $2 WHERE k = $1 AND v = $3::jsonb RETURNING xmin::text`,

	Restock: `INSERT INTO stock (sku, units, ledger) VALUES ($1, $2, $3)
		ON CONFLICT (sku) DO UPDATE SET units = stock.units + EXCLUDED.units, ledger = stock.ledger || EXCLUDED.ledger`,
	ReadStock:       `SELECT units, ledger FROM stock WHERE sku = $1`,
	FindOrder:       `SELECT leader, id FROM %s WHERE req = $1 LIMIT 1`,
	Decrement:       `UPDATE stock SET units = units - $2, ledger = ledger || $3 WHERE sku = $1 AND units >= $2`,
	ReadUnits:       `SELECT units FROM stock WHERE sku = $1`,
	SetUnits:        `UPDATE stock SET units = $2, ledger = ledger || $3 WHERE sku = $1`,
	InsertOrder:     `INSERT INTO %s (leader, id, sku, qty, req) VALUES ($1, nextval('order_ids'), $2, $3, $4) RETURNING id`,
	InsertReturnsID: true,
	ReadOrders:      `SELECT leader, id, sku, qty, req FROM %s WHERE sku = $1 ORDER BY leader, id`,

	CartAdd:    `INSERT INTO cart_items (cart, item) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
	CartRemove: `DELETE FROM cart_items WHERE cart = $1 AND item = $2`,
	CartRead:   `SELECT item FROM cart_items WHERE cart = $1 ORDER BY item`,

	SetField:    `INSERT INTO profiles (id, %[1]s) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET %[1]s = EXCLUDED.%[1]s`,
	ReadProfile: `SELECT %s FROM profiles WHERE id = $1`,

	TxnReadList:     `SELECT v FROM txn_lists WHERE k = $1`,
	TxnAppend:       `INSERT INTO txn_lists (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = txn_lists.v || ',' || EXCLUDED.v`,
	TxnReadRegister: `SELECT v FROM txn_registers WHERE k = $1`,
	TxnWrite:        `INSERT INTO txn_registers (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`,

	Claims: map[string]sqlclient.ClaimStatements{
		sqlclient.ClaimsByName: {Claim: `INSERT INTO claims (name, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			Release: `DELETE FROM claims WHERE name = $1 AND owner = $2`, ReadOwner: `SELECT owner FROM claims WHERE name = $1`},
		sqlclient.ClaimsByAccount: {Claim: `INSERT INTO accounts (email, id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			Release: `DELETE FROM accounts WHERE email = $1 AND id = $2`, ReadOwner: `SELECT id FROM accounts WHERE email = $1`},
	},
}

// dialect is PostgreSQL's, through pgx: a connection learns its leader from pglogical's local
// node (with SingleLeader every node's URL leads to n1, and the rows it writes say so). An error
// the server answered with (a PgError) rolled its statement and transaction back; one pgx knows
// struck before anything was sent (SafeToRetry) did nothing either.
var dialect = &sqlclient.Dialect{
	Name:       Name,
	Statements: statements,
	Connect: func(ctx context.Context, conn *sql.Conn, _ map[string]string) (string, error) {
		var leader string
		if err := conn.QueryRowContext(ctx, `SELECT n.node_name FROM pglogical.local_node l JOIN pglogical.node n USING (node_id)`).Scan(&leader); err != nil {
			return "", fmt.Errorf("asking its node name: %w", err)
		}
		return leader, nil
	},
	Answered: func(err error) (string, bool) {
		var pg *pgconn.PgError
		if errors.As(err, &pg) {
			return pg.Severity + ": " + pg.Message + " (" + pg.Code + ")", true
		}
		return "", false
	},
	NotSent:      pgconn.SafeToRetry,
	NewVersioner: func() sqlclient.Versioner { return &versions{} },
}

// open opens a client of the workload at the leader c.Node, on a connection of its own.
func open(ctx context.Context, c db.ClientConfig) (*sqlclient.Client, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = sqlclient.DefaultTimeout
	}
	cfg, err := pgx.ParseConfig(c.Node.URL)
	if err != nil {
		return nil, fmt.Errorf("pglogical: node %s: %w", c.Node.ID, err)
	}
	cfg.ConnectTimeout = timeout
	return sqlclient.Open(ctx, dialect, stdlib.OpenDB(*cfg), c)
}

// versions reads a register row's version: meta.ts, the commit timestamp of the transaction that
// wrote it (the origin's, for a row that replication applied), and meta.origin, the leader it was
// written at (the replication origin it came through). It keeps the leader's replication
// origins, by id.
type versions struct {
	ts      sql.NullTime
	origin  sql.NullInt64
	origins map[int]string
}

// ReadColumns implements sqlclient.Versioner.
func (v *versions) ReadColumns() []any {
	v.ts, v.origin = sql.NullTime{}, sql.NullInt64{}
	return []any{&v.ts, &v.origin}
}

// Read implements sqlclient.Versioner: neither is set when the engine does not know them (a row
// whose transaction is older than the commit timestamps kept), nor the origin when this leader
// has no name for it (0 is this leader).
func (v *versions) Read(ctx context.Context, conn *sql.Conn, leader string, done *history.Op) {
	if !v.ts.Valid || !v.origin.Valid {
		return
	}
	if id := int(v.origin.Int64); id != 0 {
		if _, known := v.origins[id]; !known {
			_ = conn.Raw(func(dc any) error {
				found, err := Origins(ctx, dc.(*stdlib.Conn).Conn())
				if err == nil {
					v.origins = found
				}
				return err
			})
		}
		leader = v.origins[id]
	}
	if leader == "" {
		done.SetMeta("ts", v.ts.Time.UnixNano())
		return
	}
	done.SetMeta("ts", v.ts.Time.UnixNano(), "origin", leader)
}

// Written implements sqlclient.Versioner: a write that committed as transaction xid (its tag)
// has that transaction's commit timestamp, made at this leader. Asking for it is one more
// statement after the commit; if it does not answer, the write is acknowledged all the same,
// without its version.
func (v *versions) Written(ctx context.Context, conn *sql.Conn, leader, xid string) history.Op {
	done := history.Op{Type: history.OK}
	var ts sql.NullTime
	if err := conn.QueryRowContext(ctx, `SELECT pg_xact_commit_timestamp($1::xid)`, xid).Scan(&ts); err == nil && ts.Valid {
		done.SetMeta("ts", ts.Time.UnixNano(), "origin", leader)
	}
	return done
}
