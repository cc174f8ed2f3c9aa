package pglogical

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Order designs of the flash sale (the orders option).
const (
	// OrdersNaive is a row per sale in orders, keyed by the leader that took it and an id from
	// its own sequence; a retry is recognised only by the leader that took the first attempt.
	OrdersNaive = "naive"
	// OrdersDedup is a row per idempotency id in orders_by_req: a retry that reaches another
	// leader finds the row once it has replicated there, and two leaders that both took the
	// request resolve their two rows into one.
	OrdersDedup = "dedup"
)

// OrderDesigns are the values of the orders option, the default first.
var OrderDesigns = []string{OrdersNaive, OrdersDedup}

// OrderID is the order id a buyer is told: the leader that took the sale and its id there.
func OrderID(leader, id string) string { return leader + "-" + id }

// sqlClient is one workload's client at one leader: one connection, one statement (or one
// transaction) per operation, as an application would do it.
type sqlClient struct {
	workload string
	orders   string
	table    string // the claims workload's: ClaimsByName or ClaimsByAccount
	cfg      *pgx.ConnConfig
	conn     *pgx.Conn
	leader   string         // the pglogical node this connection reached
	origins  map[int]string // the leader's replication origins, by id (Origins)
	timeout  time.Duration
}

// open connects to the leader at c.Node.URL and asks it its pglogical node name (with
// SingleLeader every node's URL leads to n1, and the rows it writes say so).
func open(ctx context.Context, c db.ClientConfig) (*sqlClient, error) {
	switch c.Workload {
	case workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName, workloads.ClaimsName:
	default:
		return nil, fmt.Errorf("pglogical has no client for the %s workload", c.Workload)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	cfg, err := pgx.ParseConfig(c.Node.URL)
	if err != nil {
		return nil, fmt.Errorf("pglogical: node %s: %w", c.Node.ID, err)
	}
	cfg.ConnectTimeout = timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pglogical: connecting to %s: %w", c.Node.ID, err)
	}
	cl := &sqlClient{workload: c.Workload, orders: c.Options["orders"], table: c.Options["table"], cfg: cfg, conn: conn, timeout: timeout}
	if cl.orders == "" {
		cl.orders = OrdersNaive
	}
	if err := conn.QueryRow(ctx, `SELECT n.node_name FROM pglogical.local_node l JOIN pglogical.node n USING (node_id)`).Scan(&cl.leader); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("pglogical: asking %s its node name: %w", c.Node.ID, err)
	}
	return cl, nil
}

// Close implements db.Client.
func (c *sqlClient) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.conn.Close(ctx)
}

// Invoke implements db.Client.
func (c *sqlClient) Invoke(ctx context.Context, op history.Op) history.Op {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.conn.IsClosed() {
		// An operation that timed out took the connection with it (pgx closes it rather than
		// leave a statement running on it); a read's timeout is a fail, and the client goes on.
		conn, err := pgx.ConnectConfig(ctx, c.cfg)
		if err != nil {
			return history.Refused("connecting: " + describe(err))
		}
		c.conn = conn
	}
	var done history.Op
	switch c.workload {
	case workloads.RegisterName:
		done = c.register(ctx, op)
	case workloads.InventoryName:
		done = c.inventory(ctx, op)
	case workloads.ProfileName:
		done = c.profile(ctx, op)
	case workloads.ClaimsName:
		done = c.claims(ctx, op)
	default:
		done = c.cart(ctx, op)
	}
	if done.Type == history.OK {
		done.SetMeta("served_by", c.leader)
	}
	return done
}

func ok(v json.RawMessage) history.Op { return history.Op{Type: history.OK, Value: v} }

func failed(why string) history.Op { return history.Op{Type: history.Fail, Error: why} }

// outcome completes an operation that did not succeed, from its error. What certainly did not
// take effect is a fail: an error the server answered with (the statement, and its transaction,
// rolled back), or one that struck before anything was sent; a read is a fail whatever happened,
// since it changes nothing. Anything else (a timeout, a connection lost after the statement was
// sent, a commit whose answer never came) is info: it may have been committed.
func outcome(err error, read bool) history.Op {
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &pg):
		return history.Refused(pg.Severity + ": " + pg.Message + " (" + pg.Code + ")")
	case pgconn.SafeToRetry(err):
		return history.Refused("not sent: " + err.Error())
	case read:
		return history.Refused(describe(err))
	}
	return history.Op{Type: history.Info, Error: describe(err)}
}

func describe(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() || pgconn.Timeout(err) {
		return "timeout"
	}
	return err.Error()
}

// register reads and writes a row per key. Every answer carries the version the engine gives the
// row: meta.ts, the commit timestamp of the transaction that wrote it (the origin's, for a row
// that replication applied: what last_update_wins compares), and meta.origin, the leader it was
// written at (the replication origin it came through).
func (c *sqlClient) register(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "read":
		var v []byte
		var ts *time.Time
		var origin *int
		err := c.conn.QueryRow(ctx, `SELECT r.v, c.timestamp, c.roident::int FROM registers r,
			pg_xact_commit_timestamp_origin(r.xmin) c WHERE r.k = $1`, op.Key).Scan(&v, &ts, &origin)
		if errors.Is(err, pgx.ErrNoRows) {
			return ok(json.RawMessage("null"))
		}
		if err != nil {
			return outcome(err, true)
		}
		if v == nil {
			v = []byte("null")
		}
		done := ok(v)
		c.version(ctx, &done, ts, origin)
		return done
	case "write":
		if !json.Valid(op.Value) {
			return history.Refused("write value is not JSON")
		}
		var xid string
		err := c.conn.QueryRow(ctx, `INSERT INTO registers (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
			RETURNING xmin::text`, op.Key, string(op.Value)).Scan(&xid)
		if err != nil {
			return outcome(err, false)
		}
		return c.written(ctx, xid)
	case "cas":
		var pair []json.RawMessage
		if err := json.Unmarshal(op.Value, &pair); err != nil || len(pair) != 2 {
			return history.Refused("cas value is not [expected, new]")
		}
		var xid string
		var err error
		if string(pair[0]) == "null" {
			// A register never written holds null: the swap may create its row.
			err = c.conn.QueryRow(ctx, `INSERT INTO registers (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
				WHERE registers.v IS NULL OR registers.v = 'null'::jsonb RETURNING xmin::text`, op.Key, string(pair[1])).Scan(&xid)
		} else {
			err = c.conn.QueryRow(ctx, `UPDATE registers SET v = $2 WHERE k = $1 AND v = $3::jsonb RETURNING xmin::text`,
				op.Key, string(pair[1]), string(pair[0])).Scan(&xid)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return failed("precondition failed")
		}
		if err != nil {
			return outcome(err, false)
		}
		return c.written(ctx, xid)
	}
	return history.Refused("unknown register op " + op.F)
}

// written completes a write that committed as transaction xid: its version is that transaction's
// commit timestamp, made at this leader. Asking for it is one more statement after the commit;
// if it does not answer, the write is acknowledged all the same, without its version.
func (c *sqlClient) written(ctx context.Context, xid string) history.Op {
	done := ok(nil)
	var ts *time.Time
	if err := c.conn.QueryRow(ctx, `SELECT pg_xact_commit_timestamp($1::xid)`, xid).Scan(&ts); err == nil && ts != nil {
		done.SetMeta("ts", ts.UnixNano(), "origin", c.leader)
	}
	return done
}

// version sets a read's meta.ts and meta.origin from the row's commit timestamp and replication
// origin (0: written at this leader). Neither is set when the engine does not know them (a row
// whose transaction is older than the commit timestamps kept), nor the origin when this leader
// has no name for it.
func (c *sqlClient) version(ctx context.Context, done *history.Op, ts *time.Time, origin *int) {
	if ts == nil || origin == nil {
		return
	}
	leader := c.leader
	if *origin != 0 {
		if _, known := c.origins[*origin]; !known {
			if found, err := Origins(ctx, c.conn); err == nil {
				c.origins = found
			}
		}
		leader = c.origins[*origin]
	}
	if leader == "" {
		done.SetMeta("ts", ts.UnixNano())
		return
	}
	done.SetMeta("ts", ts.UnixNano(), "origin", leader)
}

func (c *sqlClient) inventory(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "restock":
		units, err := workloads.Units(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		_, err = c.conn.Exec(ctx, `INSERT INTO stock (sku, units) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET units = stock.units + EXCLUDED.units`, op.Key, units)
		if err != nil {
			return outcome(err, false)
		}
		return ok(nil)
	case "buy":
		qty, err := workloads.Units(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		return c.buy(ctx, op.Key, qty, op.Req)
	case "read-stock":
		var units int64
		err := c.conn.QueryRow(ctx, `SELECT units FROM stock WHERE sku = $1`, op.Key).Scan(&units)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return outcome(err, true)
		}
		return ok(history.Value(units))
	case "read-orders":
		table := "orders"
		if c.orders == OrdersDedup {
			table = "orders_by_req"
		}
		rows, err := c.conn.Query(ctx, `SELECT leader, id, sku, qty, req FROM `+table+` WHERE sku = $1 ORDER BY leader, id`, op.Key)
		if err != nil {
			return outcome(err, true)
		}
		out := []workloads.OrderRow{}
		for rows.Next() {
			var r workloads.OrderRow
			var id int64
			if err := rows.Scan(&r.Node, &id, &r.SKU, &r.Qty, &r.Req); err != nil {
				rows.Close()
				return outcome(err, true)
			}
			r.Order = OrderID(r.Node, strconv.FormatInt(id, 10))
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return outcome(err, true)
		}
		return ok(history.Value(out))
	}
	return history.Refused("unknown inventory op " + op.F)
}

// buy is one sale, in one transaction at the leader the buyer reached: the order already taken
// for this idempotency id, if this leader has it; otherwise the stock decremented where enough
// remains (`units = units - qty WHERE units >= qty`) and the order row inserted.
func (c *sqlClient) buy(ctx context.Context, sku string, qty int64, req string) history.Op {
	table := "orders"
	if c.orders == OrdersDedup {
		table = "orders_by_req"
	}
	tx, err := c.conn.Begin(ctx)
	if err != nil {
		return outcome(err, false)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var leader string
	var id int64
	err = tx.QueryRow(ctx, `SELECT leader, id FROM `+table+` WHERE req = $1 LIMIT 1`, req).Scan(&leader, &id)
	switch {
	case err == nil:
		if err := tx.Commit(ctx); err != nil {
			return outcome(err, true) // the sale was there before: committing a read changes nothing
		}
		return ok(history.Value(OrderID(leader, strconv.FormatInt(id, 10))))
	case !errors.Is(err, pgx.ErrNoRows):
		return outcome(err, false)
	}
	tag, err := tx.Exec(ctx, `UPDATE stock SET units = units - $2 WHERE sku = $1 AND units >= $2`, sku, qty)
	if err != nil {
		return outcome(err, false)
	}
	if tag.RowsAffected() == 0 {
		return failed("sold out")
	}
	err = tx.QueryRow(ctx, `INSERT INTO `+table+` (leader, id, sku, qty, req) VALUES ($1, nextval('order_ids'), $2, $3, $4) RETURNING id`,
		c.leader, sku, qty, req).Scan(&id)
	if err != nil {
		return outcome(err, false)
	}
	if err := tx.Commit(ctx); err != nil {
		return outcome(err, false)
	}
	return ok(history.Value(OrderID(c.leader, strconv.FormatInt(id, 10))))
}

func (c *sqlClient) cart(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "add", "remove":
		var item string
		if json.Unmarshal(op.Value, &item) != nil || item == "" {
			return history.Refused(op.F + " value must be an item")
		}
		if op.F == "add" {
			if _, err := c.conn.Exec(ctx, `INSERT INTO cart_items (cart, item) VALUES ($1, $2) ON CONFLICT DO NOTHING`, op.Key, item); err != nil {
				return outcome(err, false)
			}
			return ok(nil)
		}
		tag, err := c.conn.Exec(ctx, `DELETE FROM cart_items WHERE cart = $1 AND item = $2`, op.Key, item)
		if err != nil {
			return outcome(err, false)
		}
		if tag.RowsAffected() == 0 {
			return failed("not in the cart")
		}
		return ok(nil)
	case "read":
		rows, err := c.conn.Query(ctx, `SELECT item FROM cart_items WHERE cart = $1 ORDER BY item`, op.Key)
		if err != nil {
			return outcome(err, true)
		}
		items, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return outcome(err, true)
		}
		if items == nil {
			items = []string{}
		}
		return ok(history.Value(items))
	}
	return history.Refused("unknown cart op " + op.F)
}

// profile edits one column of a profile's row, as a team writes it (UPDATE … SET field, the row
// made on its first edit), and reads the row. pglogical replicates the whole new row of an
// UPDATE, and last_update_wins keeps one row of two concurrent ones: edits to different columns
// at two leaders collapse into one.
func (c *sqlClient) profile(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "set-field":
		set, err := workloads.ParseSetField(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		q := fmt.Sprintf(`INSERT INTO profiles (id, %[1]s) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET %[1]s = EXCLUDED.%[1]s`, set.Field)
		if _, err := c.conn.Exec(ctx, q, op.Key, set.Value); err != nil {
			return outcome(err, false)
		}
		return ok(nil)
	case "read-profile":
		cols := make([]*string, len(workloads.ProfileFields))
		dest := make([]any, len(cols))
		for i := range cols {
			dest[i] = &cols[i]
		}
		q := `SELECT ` + strings.Join(workloads.ProfileFields, ", ") + ` FROM profiles WHERE id = $1`
		record := map[string]string{}
		switch err := c.conn.QueryRow(ctx, q, op.Key).Scan(dest...); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return outcome(err, true)
		default:
			for i, f := range workloads.ProfileFields {
				if cols[i] != nil {
					record[f] = *cols[i]
				}
			}
		}
		return ok(history.Value(record))
	}
	return history.Refused("unknown profile op " + op.F)
}

// The claims workload's two tables (its table option).
const (
	// ClaimsByName is a row per name, the name its primary key.
	ClaimsByName = "names"
	// ClaimsByAccount is an account row per owner, its own id the primary key, the name it
	// claims (an email) a second UNIQUE index: pglogical resolves a conflict on that index, and
	// the row it replaces is gone.
	ClaimsByAccount = "accounts"
)

// ClaimsTables are the values of the table option, the default first.
var ClaimsTables = []string{ClaimsByName, ClaimsByAccount}

// claims claims a name by inserting its row (a name already there is taken), releases it by
// deleting the row where the owner is the releaser, and reads the owner.
func (c *sqlClient) claims(ctx context.Context, op history.Op) history.Op {
	claim, release, read := `INSERT INTO claims (name, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		`DELETE FROM claims WHERE name = $1 AND owner = $2`, `SELECT owner FROM claims WHERE name = $1`
	if c.table == ClaimsByAccount {
		claim, release, read = `INSERT INTO accounts (email, id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			`DELETE FROM accounts WHERE email = $1 AND id = $2`, `SELECT id FROM accounts WHERE email = $1`
	}
	switch op.F {
	case "claim", "release":
		var owner string
		if json.Unmarshal(op.Value, &owner) != nil || owner == "" {
			return history.Refused(op.F + " value must be an owner")
		}
		q := claim
		if op.F == "release" {
			q = release
		}
		tag, err := c.conn.Exec(ctx, q, op.Key, owner)
		if err != nil {
			return outcome(err, false)
		}
		if tag.RowsAffected() == 0 {
			if op.F == "claim" {
				return failed("taken")
			}
			return failed("not held by that owner")
		}
		return ok(nil)
	case "read-owner":
		var owner string
		switch err := c.conn.QueryRow(ctx, read, op.Key).Scan(&owner); {
		case errors.Is(err, pgx.ErrNoRows):
			return ok(history.Null)
		case err != nil:
			return outcome(err, true)
		}
		return ok(history.Value(owner))
	}
	return history.Refused("unknown claims op " + op.F)
}
