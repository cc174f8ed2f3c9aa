package mariadb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
)

// The two ways a team writes a purchase (the buy option).
const (
	// BuyDecrement is one conditional UPDATE: units = units - qty WHERE units >= qty.
	BuyDecrement = "decrement"
	// BuyReadModifyWrite reads the units, checks them, and writes the read value less the
	// quantity, in one transaction: what an ORM's load-modify-save does.
	BuyReadModifyWrite = "read-modify-write"
)

// BuyWays are the values of the buy option, the default first.
var BuyWays = []string{BuyDecrement, BuyReadModifyWrite}

// Order designs of the flash sale (the orders option), as pglogical's.
const (
	OrdersNaive = "naive" // a row per sale in orders; a retry is recognised only where it was taken
	OrdersDedup = "dedup" // a row per idempotency id in orders_by_req
)

// OrderDesigns are the values of the orders option, the default first.
var OrderDesigns = []string{OrdersNaive, OrdersDedup}

// sqlClient is one workload's client at one leader: one connection, one statement (or one
// transaction) per operation, as an application would do it.
type sqlClient struct {
	workload string
	orders   string
	buyWay   string
	snapshot bool // innodb_snapshot_isolation for the connection's transactions
	db       *sql.DB
	conn     *sql.Conn
	leader   string // the leader this connection reached (n<server_id>)
	timeout  time.Duration
	broken   bool // the last operation ended without the server's answer
}

func open(ctx context.Context, c db.ClientConfig) (*sqlClient, error) {
	switch c.Workload {
	case workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName:
	default:
		return nil, fmt.Errorf("mariadb has no client for the %s workload", c.Workload)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	dsn, err := driverDSN(c.Node.URL, timeout)
	if err != nil {
		return nil, err
	}
	pool, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(1)
	cl := &sqlClient{workload: c.Workload, orders: c.Options["orders"], buyWay: c.Options["buy"],
		snapshot: c.Options["snapshot-isolation"] == "on", db: pool, timeout: timeout}
	if cl.orders == "" {
		cl.orders = OrdersNaive
	}
	if cl.buyWay == "" {
		cl.buyWay = BuyDecrement
	}
	if err := cl.connect(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("mariadb: connecting to %s: %w", c.Node.ID, err)
	}
	return cl, nil
}

// connect takes a connection of its own and asks the leader who it is (with SingleLeader every
// node's URL leads to n1, and the rows it writes say so).
func (c *sqlClient) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return err
	}
	var id int
	if err := conn.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil {
		conn.Close()
		return err
	}
	if c.snapshot {
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_snapshot_isolation = ON"); err != nil {
			conn.Close()
			return err
		}
	}
	c.conn, c.leader = conn, fmt.Sprintf("n%d", id)
	return nil
}

// Close implements db.Client.
func (c *sqlClient) Close() error {
	if c.conn != nil {
		c.conn.Close()
	}
	return c.db.Close()
}

// Invoke implements db.Client.
func (c *sqlClient) Invoke(ctx context.Context, op history.Op) history.Op {
	if c.conn == nil {
		// An operation that did not answer took the connection with it; a new one first.
		if err := c.connect(ctx); err != nil {
			return history.Refused("connecting: " + describe(err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var done history.Op
	switch c.workload {
	case workloads.RegisterName:
		done = c.register(ctx, op)
	case workloads.InventoryName:
		done = c.inventory(ctx, op)
	case workloads.ProfileName:
		done = c.profile(ctx, op)
	default:
		done = c.cart(ctx, op)
	}
	if done.Type == history.OK {
		done.SetMeta("served_by", c.leader)
	}
	if c.broken {
		c.conn.Close()
		c.conn, c.broken = nil, false
	}
	return done
}

func ok(v json.RawMessage) history.Op { return history.Op{Type: history.OK, Value: v} }

func failed(why string) history.Op { return history.Op{Type: history.Fail, Error: why} }

// outcome completes an operation that did not succeed, from its error. An error the server
// answered with certainly did not take effect: the statement failed, and the transaction is
// rolled back (a certification failure or a brute-force abort at COMMIT is 1213, a deadlock; a
// leader outside the primary component refuses with 1047). A read is a fail whatever happened,
// since it changes nothing. Anything else (a timeout, a connection lost after the statement or
// the COMMIT was sent) is info: it may have been committed.
// A connection whose operation ended without the server's answer is not used again.
func (c *sqlClient) outcome(err error, read bool) history.Op {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return history.Refused(fmt.Sprintf("%d: %s", my.Number, my.Message))
	}
	c.broken = true
	switch {
	case read:
		return history.Refused(describe(err))
	}
	return history.Op{Type: history.Info, Error: describe(err)}
}

func describe(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

func (c *sqlClient) register(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "read":
		var v sql.NullString
		err := c.conn.QueryRowContext(ctx, `SELECT v FROM registers WHERE k = ?`, op.Key).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !v.Valid {
			return ok(json.RawMessage("null"))
		}
		if err != nil {
			return c.outcome(err, true)
		}
		return ok(json.RawMessage(v.String))
	case "write":
		if !json.Valid(op.Value) {
			return history.Refused("write value is not JSON")
		}
		if _, err := c.conn.ExecContext(ctx, `INSERT INTO registers (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)`, op.Key, string(op.Value)); err != nil {
			return c.outcome(err, false)
		}
		return ok(nil)
	case "cas":
		var pair []json.RawMessage
		if err := json.Unmarshal(op.Value, &pair); err != nil || len(pair) != 2 {
			return history.Refused("cas value is not [expected, new]")
		}
		var res sql.Result
		var err error
		if string(pair[0]) == "null" {
			// A register never written holds null: the swap creates its row, or finds it null.
			res, err = c.conn.ExecContext(ctx, `INSERT IGNORE INTO registers (k, v) VALUES (?, ?)`, op.Key, string(pair[1]))
			if n, _ := rowsOf(res); err == nil && n == 0 {
				res, err = c.conn.ExecContext(ctx, `UPDATE registers SET v = ? WHERE k = ? AND (v IS NULL OR v = 'null')`, string(pair[1]), op.Key)
			}
		} else {
			res, err = c.conn.ExecContext(ctx, `UPDATE registers SET v = ? WHERE k = ? AND v = ?`, string(pair[1]), op.Key, string(pair[0]))
		}
		if err != nil {
			return c.outcome(err, false)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return failed("precondition failed")
		}
		return ok(nil)
	}
	return history.Refused("unknown register op " + op.F)
}

// rowsOf is a result's rows affected (matched, with ClientFoundRows), 0 without a result.
func rowsOf(res sql.Result) (int64, error) {
	if res == nil {
		return 0, nil
	}
	return res.RowsAffected()
}

// OrderID is the order id a buyer is told: the leader that took the sale and the row's id.
func OrderID(leader string, id int64) string { return leader + "-" + strconv.FormatInt(id, 10) }

func (c *sqlClient) table() string {
	if c.orders == OrdersDedup {
		return "orders_by_req"
	}
	return "orders"
}

func (c *sqlClient) inventory(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "restock":
		units, err := workloads.Units(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		if _, err := c.conn.ExecContext(ctx, `INSERT INTO stock (sku, units) VALUES (?, ?) ON DUPLICATE KEY UPDATE units = units + VALUES(units)`, op.Key, units); err != nil {
			return c.outcome(err, false)
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
		err := c.conn.QueryRowContext(ctx, `SELECT units FROM stock WHERE sku = ?`, op.Key).Scan(&units)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return c.outcome(err, true)
		}
		return ok(history.Value(units))
	case "read-orders":
		rows, err := c.conn.QueryContext(ctx, `SELECT leader, id, sku, qty, req FROM `+c.table()+` WHERE sku = ? ORDER BY leader, id`, op.Key)
		if err != nil {
			return c.outcome(err, true)
		}
		defer rows.Close()
		out := []workloads.OrderRow{}
		for rows.Next() {
			var r workloads.OrderRow
			var id int64
			if err := rows.Scan(&r.Node, &id, &r.SKU, &r.Qty, &r.Req); err != nil {
				return c.outcome(err, true)
			}
			r.Order = OrderID(r.Node, id)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return c.outcome(err, true)
		}
		return ok(history.Value(out))
	}
	return history.Refused("unknown inventory op " + op.F)
}

// buy is one sale, in one transaction at the leader the buyer reached: the order already taken
// for this idempotency id, if this leader has it; otherwise the stock taken down (the buy
// option's way) and the order row inserted.
func (c *sqlClient) buy(ctx context.Context, sku string, qty int64, req string) history.Op {
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		return c.outcome(err, false)
	}
	defer func() { _ = tx.Rollback() }()
	var leader string
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT leader, id FROM `+c.table()+` WHERE req = ? LIMIT 1`, req).Scan(&leader, &id)
	switch {
	case err == nil:
		if err := tx.Commit(); err != nil {
			return c.outcome(err, true) // the sale was there before: committing a read changes nothing
		}
		return ok(history.Value(OrderID(leader, id)))
	case !errors.Is(err, sql.ErrNoRows):
		return c.outcome(err, false)
	}
	if c.buyWay == BuyReadModifyWrite {
		var units int64
		err := tx.QueryRowContext(ctx, `SELECT units FROM stock WHERE sku = ?`, sku).Scan(&units)
		if errors.Is(err, sql.ErrNoRows) || err == nil && units < qty {
			return failed("sold out")
		}
		if err != nil {
			return c.outcome(err, false)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stock SET units = ? WHERE sku = ?`, units-qty, sku); err != nil {
			return c.outcome(err, false)
		}
	} else {
		res, err := tx.ExecContext(ctx, `UPDATE stock SET units = units - ? WHERE sku = ? AND units >= ?`, qty, sku, qty)
		if err != nil {
			return c.outcome(err, false)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return failed("sold out")
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO `+c.table()+` (leader, sku, qty, req) VALUES (?, ?, ?, ?)`, c.leader, sku, qty, req)
	if err != nil {
		return c.outcome(err, false)
	}
	if id, err = res.LastInsertId(); err != nil {
		return c.outcome(err, false)
	}
	if err := tx.Commit(); err != nil {
		return c.outcome(err, false)
	}
	return ok(history.Value(OrderID(c.leader, id)))
}

func (c *sqlClient) cart(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "add", "remove":
		var item string
		if json.Unmarshal(op.Value, &item) != nil || item == "" {
			return history.Refused(op.F + " value must be an item")
		}
		if op.F == "add" {
			if _, err := c.conn.ExecContext(ctx, `INSERT IGNORE INTO cart_items (cart, item) VALUES (?, ?)`, op.Key, item); err != nil {
				return c.outcome(err, false)
			}
			return ok(nil)
		}
		res, err := c.conn.ExecContext(ctx, `DELETE FROM cart_items WHERE cart = ? AND item = ?`, op.Key, item)
		if err != nil {
			return c.outcome(err, false)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return failed("not in the cart")
		}
		return ok(nil)
	case "read":
		rows, err := c.conn.QueryContext(ctx, `SELECT item FROM cart_items WHERE cart = ? ORDER BY item`, op.Key)
		if err != nil {
			return c.outcome(err, true)
		}
		defer rows.Close()
		items := []string{}
		for rows.Next() {
			var it string
			if err := rows.Scan(&it); err != nil {
				return c.outcome(err, true)
			}
			items = append(items, it)
		}
		if err := rows.Err(); err != nil {
			return c.outcome(err, true)
		}
		return ok(history.Value(items))
	}
	return history.Refused("unknown cart op " + op.F)
}

// profile edits one column of a profile's row, as a team writes it (the row made on its first
// edit, `INSERT … ON DUPLICATE KEY UPDATE <field> = …`), and reads the row. Galera certifies
// the row: of two concurrent edits at two leaders one fails. Asynchronous replication ships the
// row's whole image: an edit applied at another master writes every column as its master had
// them.
func (c *sqlClient) profile(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "set-field":
		set, err := workloads.ParseSetField(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		q := fmt.Sprintf("INSERT INTO profiles (id, %[1]s) VALUES (?, ?) ON DUPLICATE KEY UPDATE %[1]s = VALUES(%[1]s)", set.Field)
		if _, err := c.conn.ExecContext(ctx, q, op.Key, set.Value); err != nil {
			return c.outcome(err, false)
		}
		return ok(nil)
	case "read-profile":
		cols := make([]sql.NullString, len(workloads.ProfileFields))
		dest := make([]any, len(cols))
		for i := range cols {
			dest[i] = &cols[i]
		}
		q := "SELECT " + strings.Join(workloads.ProfileFields, ", ") + " FROM profiles WHERE id = ?"
		record := map[string]string{}
		switch err := c.conn.QueryRowContext(ctx, q, op.Key).Scan(dest...); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return c.outcome(err, true)
		default:
			for i, f := range workloads.ProfileFields {
				if cols[i].Valid {
					record[f] = cols[i].String
				}
			}
		}
		return ok(history.Value(record))
	}
	return history.Refused("unknown profile op " + op.F)
}
