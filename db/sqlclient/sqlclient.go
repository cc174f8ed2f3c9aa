// Package sqlclient is the one client of every SQL engine crossfire tests: the workloads'
// statements, the transactions they run in, the reading of every outcome (ok; fail when it
// certainly did not take effect; info otherwise) and the dispatch of an operation to its
// workload are written here once, as an application team would write them: one connection per
// client, one statement or one transaction per operation. An engine gives a Dialect: its SQL text
// for each statement (upserts, RETURNING or the last insert id), its placeholders, how a
// connection learns which leader it reached, and which of its errors say that nothing was done.
// The driver is the engine's own, behind database/sql.
package sqlclient

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
)

// The order designs of the flash sale (the orders option).
const (
	// OrdersNaive is a row per sale in orders, keyed by the leader that took it and an id of its
	// own; a retry is recognised only by the leader that took the first attempt.
	OrdersNaive = "naive"
	// OrdersDedup is a row per idempotency id in orders_by_req: a retry that reaches another
	// leader finds the row once it has replicated there.
	OrdersDedup = "dedup"
)

// OrderDesigns are the values of the orders option, the default first.
var OrderDesigns = []string{OrdersNaive, OrdersDedup}

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

// The claims workload's two tables (the table option).
const (
	// ClaimsByName is a row per name, the name its primary key.
	ClaimsByName = "names"
	// ClaimsByAccount is an account row per owner, its own id the primary key, the name it
	// claims (an email) a second UNIQUE index.
	ClaimsByAccount = "accounts"
)

// ClaimsTables are the values of the table option, the default first.
var ClaimsTables = []string{ClaimsByName, ClaimsByAccount}

// DefaultTimeout bounds an operation whose client was given no timeout.
const DefaultTimeout = time.Second

// OrderID is the order id a buyer is told: the leader that took the sale and the row's id there.
func OrderID(leader, id string) string { return leader + "-" + id }

// Statements are a dialect's SQL for every operation. Each is written with numbered placeholders
// ($1, $2 …) whose arguments are the ones named beside it; a dialect with ? placeholders has
// them rewritten (Dialect.Question). A statement that names a table with %s is given the orders
// table (orders or orders_by_req), and the profile's with the field or the fields.
type Statements struct {
	// ReadRegister: $1 key → v (JSON text, or NULL), then the columns a Versioner reads.
	ReadRegister string
	// WriteRegister: $1 key, $2 value; with a Versioner it returns the version's tag.
	WriteRegister string
	// CasFromNull: $1 key, $2 new: the row made, or a null row swapped, where the expected value
	// is null. CasNullUpdate, when set, is a second statement for a row that is there and null
	// ($1 key, $2 new), run when CasFromNull changed nothing.
	CasFromNull, CasNullUpdate string
	// CasUpdate: $1 key, $2 new, $3 expected.
	CasUpdate string

	// The stock row keeps, beside its units, a ledger of the changes it holds (a text column,
	// each entry LedgerEntryText), appended in the statement that changes the units: the entry
	// arguments below. Read back, it says which sales and restocks a leader's stock reflects, so
	// that a purchase whose order row a leader holds without its unit taken (or the other way
	// round) is named.
	Restock   string // $1 sku, $2 units, $3 entry: the row made, or the units added
	ReadStock string // $1 sku → units, ledger
	FindOrder string // %s orders table; $1 req → leader, id
	Decrement string // $1 sku, $2 qty, $3 entry: units - qty where at least qty remain
	ReadUnits string // $1 sku → units (read-modify-write)
	SetUnits  string // $1 sku, $2 units, $3 entry (read-modify-write)
	// InsertOrder: %s orders table; $1 leader, $2 sku, $3 qty, $4 req; returns the row's id when
	// InsertReturnsID, else the id is the last insert id.
	InsertOrder     string
	InsertReturnsID bool
	ReadOrders      string // %s orders table; $1 sku → leader, id, sku, qty, req

	CartAdd    string // $1 cart, $2 item; an item already there is no error
	CartRemove string // $1 cart, $2 item
	CartRead   string // $1 cart → item

	SetField    string // %[1]s the field; $1 id, $2 value; the row made on its first edit
	ReadProfile string // %s the fields, comma-separated; $1 id

	// Claims are the claims workload's statements by table option; none means the engine has no
	// claims client.
	Claims map[string]ClaimStatements

	// The transactional workloads' statements; empty means the engine has no client for them.
	// A list is a row per key, its elements comma-separated in a text column and appended in
	// the statement; a register is a row per key.
	TxnReadList     string // $1 key → the list's text, or no row
	TxnAppend       string // $1 key, $2 element: the row made, or the element appended to it
	TxnReadRegister string // $1 key → the value's text, or no row
	TxnWrite        string // $1 key, $2 value: the row made, or its value replaced
}

// ClaimStatements claim a name (its row inserted; a name taken changes nothing), release it (the
// row deleted where the owner is the releaser) and read its owner: $1 name, $2 owner.
type ClaimStatements struct{ Claim, Release, ReadOwner string }

// Dialect is what an engine gives: its statements and the ways of its driver.
type Dialect struct {
	Name       string // the engine, in errors: "mariadb"
	Statements *Statements
	// Question: the driver takes ? placeholders, each argument in turn.
	Question bool
	// Connect readies a new connection (its session's settings, from the client's options) and
	// says which leader it reached: with every client sent to one leader, the rows it writes say
	// so.
	Connect func(ctx context.Context, conn *sql.Conn, options map[string]string) (leader string, err error)
	// Answered says, of an error the server answered with, what it said: the statement, and its
	// transaction, rolled back, and the connection is still good.
	Answered func(err error) (why string, ok bool)
	// NotSent, when set, says that err struck before anything was sent: nothing was done, and the
	// connection is not used again.
	NotSent func(err error) bool
	// NewVersioner, when set, gives each client the versions the engine tells of its rows.
	NewVersioner func() Versioner
}

// Versioner reads the version an engine gives a register's row: what the write made, what the
// read saw (meta.ts, meta.origin).
type Versioner interface {
	// ReadColumns are the destinations of ReadRegister's columns after v.
	ReadColumns() []any
	// Read sets a read's version from what ReadColumns received.
	Read(ctx context.Context, conn *sql.Conn, leader string, done *history.Op)
	// Written completes an acknowledged write whose statement returned tag.
	Written(ctx context.Context, conn *sql.Conn, leader, tag string) history.Op
}

// Client is one workload's client at one leader.
type Client struct {
	d        *Dialect
	s        *Statements
	workload string
	options  map[string]string
	pool     *sql.DB
	conn     *sql.Conn
	leader   string
	timeout  time.Duration
	versions Versioner
	broken   bool // the last operation ended without the server's answer
	// stuck: the server refused to end the last operation's transaction (its ROLLBACK, or a
	// ROLLBACK after a refused COMMIT), so the transaction may still be open there: the
	// connection is closed for good, which rolls it back, rather than handed back for another
	// operation whose BEGIN would commit what was left of it.
	stuck bool
}

// Open opens a client of the workload on pool (the engine's driver, at the leader c.Node), with
// one connection of its own. A workload the dialect has no statements for is an error.
func Open(ctx context.Context, d *Dialect, pool *sql.DB, c db.ClientConfig) (*Client, error) {
	switch c.Workload {
	case workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName:
	case workloads.ClaimsName:
		if len(d.Statements.Claims) > 0 {
			break
		}
		fallthrough
	case workloads.ListAppendName, workloads.RWRegisterName:
		if d.Statements.TxnAppend != "" && c.Workload == workloads.ListAppendName ||
			d.Statements.TxnWrite != "" && c.Workload == workloads.RWRegisterName {
			if _, ok := Isolations[c.Options["isolation"]]; !ok {
				pool.Close()
				return nil, fmt.Errorf("%s: unknown isolation %q (valid: %s)", d.Name, c.Options["isolation"], strings.Join(IsolationNames, ", "))
			}
			break
		}
		fallthrough
	default:
		pool.Close()
		return nil, fmt.Errorf("%s has no client for the %s workload", d.Name, c.Workload)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	pool.SetMaxOpenConns(1)
	cl := &Client{d: d, s: d.Statements, workload: c.Workload, options: c.Options, pool: pool, timeout: timeout}
	if d.NewVersioner != nil {
		cl.versions = d.NewVersioner()
	}
	if err := cl.connect(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: connecting to %s: %w", d.Name, c.Node.ID, err)
	}
	return cl, nil
}

// connect takes a connection of its own and readies it.
func (c *Client) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.pool.Conn(ctx)
	if err != nil {
		return err
	}
	leader, err := c.d.Connect(ctx, conn, c.options)
	if err != nil {
		conn.Close()
		return err
	}
	c.conn, c.leader = conn, leader
	return nil
}

// Leader is the leader this client's connection reached.
func (c *Client) Leader() string { return c.leader }

// Close implements db.Client.
func (c *Client) Close() error {
	if c.conn != nil {
		c.conn.Close()
	}
	return c.pool.Close()
}

// Invoke implements db.Client.
func (c *Client) Invoke(ctx context.Context, op history.Op) history.Op {
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
	case workloads.ClaimsName:
		done = c.claims(ctx, op)
	case workloads.ListAppendName, workloads.RWRegisterName:
		done = c.txn(ctx, op)
	default:
		done = c.cart(ctx, op)
	}
	if done.Type == history.OK {
		done.SetMeta("served_by", c.leader)
	}
	if c.stuck {
		// Returning ErrBadConn from Raw makes database/sql close the driver's connection
		// instead of keeping it for the next Conn.
		_ = c.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	if c.broken || c.stuck {
		c.conn.Close()
		c.conn, c.broken, c.stuck = nil, false, false
	}
	return done
}

// abandon ends a transaction that is not to commit. A server may refuse the ROLLBACK and keep
// the transaction open (a Galera leader outside the primary component answers 1047 to it, as to
// every statement); the next BEGIN on the connection would then commit the transaction's
// statements so far, half of it. So where the ROLLBACK fails, the connection is not used again.
func (c *Client) abandon(tx *sql.Tx) {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		c.stuck = true
	}
}

// commit commits tx. Where the server answers the COMMIT with an error, the transaction may still
// be open there (a refused COMMIT ends nothing): it is rolled back on the connection, and where
// that too is refused, the connection is not used again (abandon).
func (c *Client) commit(ctx context.Context, tx *sql.Tx) error {
	err := tx.Commit()
	if err == nil {
		return nil
	}
	if _, ok := c.d.Answered(err); ok {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		if _, rerr := c.conn.ExecContext(rctx, "ROLLBACK"); rerr != nil {
			c.stuck = true
		}
	}
	return err
}

func ok(v json.RawMessage) history.Op { return history.Op{Type: history.OK, Value: v} }

func failed(why string) history.Op { return history.Op{Type: history.Fail, Error: why} }

// outcome completes an operation that did not succeed, from its error. What certainly did not
// take effect is a fail: an error the server answered with (Dialect.Answered), or one that struck
// before anything was sent (Dialect.NotSent; a connection database/sql knows is gone); a read is a fail whatever
// happened, since it changes nothing. Anything else (a timeout, a connection lost after the
// statement or the COMMIT was sent) is info: it may have been committed. A connection whose
// operation ended without the server's answer is not used again.
func (c *Client) outcome(err error, read bool) history.Op {
	if why, ok := c.d.Answered(err); ok {
		return history.Refused(why)
	}
	c.broken = true
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || c.d.NotSent != nil && c.d.NotSent(err) {
		return history.Refused("not sent: " + err.Error())
	}
	if read {
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

// querier is a connection or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// bind is q with its arguments as the dialect takes them: numbered, or ? each in turn.
func (c *Client) bind(q string, args []any) (string, []any) {
	if !c.d.Question {
		return q, args
	}
	return Question(q, args)
}

// Question rewrites numbered placeholders ($1, $2 …) as ?, with the arguments in the order the
// placeholders come (one used twice is passed twice).
func Question(q string, args []any) (string, []any) {
	var b strings.Builder
	var out []any
	for i := 0; i < len(q); i++ {
		if q[i] != '$' || i+1 >= len(q) || q[i+1] < '1' || q[i+1] > '9' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(q[i+1 : j])
		if n <= len(args) {
			out = append(out, args[n-1])
		}
		b.WriteByte('?')
		i = j - 1
	}
	return b.String(), out
}

func (c *Client) exec(ctx context.Context, on querier, q string, args ...any) (sql.Result, error) {
	q, args = c.bind(q, args)
	return on.ExecContext(ctx, q, args...)
}

func (c *Client) query(ctx context.Context, on querier, q string, args ...any) (*sql.Rows, error) {
	q, args = c.bind(q, args)
	return on.QueryContext(ctx, q, args...)
}

func (c *Client) queryRow(ctx context.Context, on querier, q string, args ...any) *sql.Row {
	q, args = c.bind(q, args)
	return on.QueryRowContext(ctx, q, args...)
}

// affected is a result's rows affected (matched, where the driver counts those), 0 without one.
func affected(res sql.Result) int64 {
	if res == nil {
		return 0
	}
	n, _ := res.RowsAffected()
	return n
}

func (c *Client) register(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "read":
		var v sql.NullString
		dest := []any{&v}
		if c.versions != nil {
			dest = append(dest, c.versions.ReadColumns()...)
		}
		err := c.queryRow(ctx, c.conn, c.s.ReadRegister, op.Key).Scan(dest...)
		if errors.Is(err, sql.ErrNoRows) {
			return ok(history.Null)
		}
		if err != nil {
			return c.outcome(err, true)
		}
		done := ok(history.Null)
		if v.Valid {
			done.Value = json.RawMessage(v.String)
		}
		if c.versions != nil {
			c.versions.Read(ctx, c.conn, c.leader, &done)
		}
		return done
	case "write":
		if !json.Valid(op.Value) {
			return history.Refused("write value is not JSON")
		}
		return c.written(ctx, false, c.s.WriteRegister, op.Key, string(op.Value))
	case "cas":
		var pair []json.RawMessage
		if err := json.Unmarshal(op.Value, &pair); err != nil || len(pair) != 2 {
			return history.Refused("cas value is not [expected, new]")
		}
		if string(pair[0]) != "null" {
			return c.written(ctx, true, c.s.CasUpdate, op.Key, string(pair[1]), string(pair[0]))
		}
		// A register never written holds null: the swap may create its row.
		done := c.written(ctx, true, c.s.CasFromNull, op.Key, string(pair[1]))
		if c.s.CasNullUpdate != "" && done.Type == history.Fail && done.Error == preconditionFailed {
			done = c.written(ctx, true, c.s.CasNullUpdate, op.Key, string(pair[1]))
		}
		return done
	}
	return history.Refused("unknown register op " + op.F)
}

const preconditionFailed = "precondition failed"

// written runs a register's write statement: acknowledged, with the version the engine tells
// (with a Versioner); a conditional one (a cas) fails when it matched no row.
func (c *Client) written(ctx context.Context, conditional bool, q string, args ...any) history.Op {
	if c.versions != nil {
		var tag string
		err := c.queryRow(ctx, c.conn, q, args...).Scan(&tag)
		if errors.Is(err, sql.ErrNoRows) {
			return failed(preconditionFailed)
		}
		if err != nil {
			return c.outcome(err, false)
		}
		return c.versions.Written(ctx, c.conn, c.leader, tag)
	}
	res, err := c.exec(ctx, c.conn, q, args...)
	if err != nil {
		return c.outcome(err, false)
	}
	if conditional && affected(res) == 0 {
		return failed(preconditionFailed)
	}
	return ok(nil)
}

// ordersTable is the orders option's table.
func (c *Client) ordersTable() string {
	if c.options["orders"] == OrdersDedup {
		return "orders_by_req"
	}
	return "orders"
}

func (c *Client) inventory(ctx context.Context, op history.Op) history.Op {
	if strings.Contains(op.Req, ";") {
		// A stock ledger's entries end with ';' (LedgerEntryText).
		return history.Refused("a " + op.F + "'s req must not hold ';'")
	}
	switch op.F {
	case "restock":
		units, err := workloads.Units(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		if _, err := c.exec(ctx, c.conn, c.s.Restock, op.Key, units, LedgerEntryText(c.leader, op.Req, units)); err != nil {
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
		var text string
		err := c.queryRow(ctx, c.conn, c.s.ReadStock, op.Key).Scan(&units, &text)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return c.outcome(err, true)
		}
		ledger, err := ParseLedger(text)
		if err != nil {
			return history.Refused(fmt.Sprintf("the stock row of %s holds units %d and a ledger that cannot be read: %v", op.Key, units, err))
		}
		done := ok(history.Value(units))
		done.SetMeta("ledger", ledger)
		return done
	case "read-orders":
		rows, err := c.query(ctx, c.conn, fmt.Sprintf(c.s.ReadOrders, c.ordersTable()), op.Key)
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
			r.Order = OrderID(r.Node, strconv.FormatInt(id, 10))
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
func (c *Client) buy(ctx context.Context, sku string, qty int64, req string) history.Op {
	table := c.ordersTable()
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		return c.outcome(err, false)
	}
	defer c.abandon(tx)
	var leader string
	var id int64
	err = c.queryRow(ctx, tx, fmt.Sprintf(c.s.FindOrder, table), req).Scan(&leader, &id)
	switch {
	case err == nil:
		if err := c.commit(ctx, tx); err != nil {
			return c.outcome(err, true) // the sale was there before: committing a read changes nothing
		}
		return ok(history.Value(OrderID(leader, strconv.FormatInt(id, 10))))
	case !errors.Is(err, sql.ErrNoRows):
		return c.outcome(err, false)
	}
	if c.options["buy"] == BuyReadModifyWrite {
		var units int64
		err := c.queryRow(ctx, tx, c.s.ReadUnits, sku).Scan(&units)
		if errors.Is(err, sql.ErrNoRows) || err == nil && units < qty {
			return failed("sold out")
		}
		if err != nil {
			return c.outcome(err, false)
		}
		if _, err := c.exec(ctx, tx, c.s.SetUnits, sku, units-qty, LedgerEntryText(c.leader, req, -qty)); err != nil {
			return c.outcome(err, false)
		}
	} else {
		res, err := c.exec(ctx, tx, c.s.Decrement, sku, qty, LedgerEntryText(c.leader, req, -qty))
		if err != nil {
			return c.outcome(err, false)
		}
		if affected(res) == 0 {
			return failed("sold out")
		}
	}
	insert := fmt.Sprintf(c.s.InsertOrder, table)
	if c.s.InsertReturnsID {
		err = c.queryRow(ctx, tx, insert, c.leader, sku, qty, req).Scan(&id)
	} else {
		var res sql.Result
		if res, err = c.exec(ctx, tx, insert, c.leader, sku, qty, req); err == nil {
			id, err = res.LastInsertId()
		}
	}
	if err != nil {
		return c.outcome(err, false)
	}
	if err := c.commit(ctx, tx); err != nil {
		return c.outcome(err, false)
	}
	return ok(history.Value(OrderID(c.leader, strconv.FormatInt(id, 10))))
}

// LedgerEntryText is one entry of a stock row's ledger as the column holds it: the leader, the
// request and the signed units, separated by '/', ended by ';'. A leader's name holds no '/' and
// a request no ';', so the request may hold anything else.
func LedgerEntryText(leader, req string, units int64) string {
	return leader + "/" + req + "/" + strconv.FormatInt(units, 10) + ";"
}

// ParseLedger reads a stock row's ledger column: its entries in the order they were appended,
// an empty list for an empty column (a row not made, or made before the ledger).
func ParseLedger(text string) ([]workloads.LedgerEntry, error) {
	out := []workloads.LedgerEntry{}
	for text != "" {
		entry, rest, found := strings.Cut(text, ";")
		if !found {
			return nil, fmt.Errorf("entry %d, %q, has no ';' after it", len(out)+1, entry)
		}
		text = rest
		node, tail, ok1 := strings.Cut(entry, "/")
		i := strings.LastIndexByte(tail, '/')
		if !ok1 || i < 0 {
			return nil, fmt.Errorf("entry %d, %q, is not leader/req/units", len(out)+1, entry)
		}
		units, err := strconv.ParseInt(tail[i+1:], 10, 64)
		if err != nil || units == 0 {
			return nil, fmt.Errorf("entry %d, %q, has no units", len(out)+1, entry)
		}
		out = append(out, workloads.LedgerEntry{Node: node, Req: tail[:i], Units: units})
	}
	return out, nil
}

func (c *Client) cart(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "add", "remove":
		var item string
		if json.Unmarshal(op.Value, &item) != nil || item == "" {
			return history.Refused(op.F + " value must be an item")
		}
		if op.F == "add" {
			if _, err := c.exec(ctx, c.conn, c.s.CartAdd, op.Key, item); err != nil {
				return c.outcome(err, false)
			}
			return ok(nil)
		}
		res, err := c.exec(ctx, c.conn, c.s.CartRemove, op.Key, item)
		if err != nil {
			return c.outcome(err, false)
		}
		if affected(res) == 0 {
			return failed("not in the cart")
		}
		return ok(nil)
	case "read":
		rows, err := c.query(ctx, c.conn, c.s.CartRead, op.Key)
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
// edit), and reads the row.
func (c *Client) profile(ctx context.Context, op history.Op) history.Op {
	switch op.F {
	case "set-field":
		set, err := workloads.ParseSetField(op)
		if err != nil {
			return history.Refused(err.Error())
		}
		if _, err := c.exec(ctx, c.conn, fmt.Sprintf(c.s.SetField, set.Field), op.Key, set.Value); err != nil {
			return c.outcome(err, false)
		}
		return ok(nil)
	case "read-profile":
		cols := make([]sql.NullString, len(workloads.ProfileFields))
		dest := make([]any, len(cols))
		for i := range cols {
			dest[i] = &cols[i]
		}
		q := fmt.Sprintf(c.s.ReadProfile, strings.Join(workloads.ProfileFields, ", "))
		record := map[string]string{}
		switch err := c.queryRow(ctx, c.conn, q, op.Key).Scan(dest...); {
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

// claims claims a name by inserting its row (a name already there is taken), releases it by
// deleting the row where the owner is the releaser, and reads the owner.
func (c *Client) claims(ctx context.Context, op history.Op) history.Op {
	table := c.options["table"]
	if table == "" {
		table = ClaimsByName
	}
	st, known := c.s.Claims[table]
	if !known {
		return history.Refused("no claims table " + table)
	}
	switch op.F {
	case "claim", "release":
		var owner string
		if json.Unmarshal(op.Value, &owner) != nil || owner == "" {
			return history.Refused(op.F + " value must be an owner")
		}
		q := st.Claim
		if op.F == "release" {
			q = st.Release
		}
		res, err := c.exec(ctx, c.conn, q, op.Key, owner)
		if err != nil {
			return c.outcome(err, false)
		}
		if affected(res) == 0 {
			if op.F == "claim" {
				return failed("taken")
			}
			return failed("not held by that owner")
		}
		return ok(nil)
	case "read-owner":
		var owner string
		switch err := c.queryRow(ctx, c.conn, st.ReadOwner, op.Key).Scan(&owner); {
		case errors.Is(err, sql.ErrNoRows):
			return ok(history.Null)
		case err != nil:
			return c.outcome(err, true)
		}
		return ok(history.Value(owner))
	}
	return history.Refused("unknown claims op " + op.F)
}

// Isolations are the values of the transactional workloads' isolation option: the level each
// transaction begins with ("" leaves the engine's default).
var Isolations = map[string]sql.IsolationLevel{
	"":                sql.LevelDefault,
	"read-committed":  sql.LevelReadCommitted,
	"repeatable-read": sql.LevelRepeatableRead,
	"serializable":    sql.LevelSerializable,
}

// IsolationNames lists the isolation option's values.
var IsolationNames = []string{"read-committed", "repeatable-read", "serializable"}

// txn runs a transaction of the list-append or rw-register workload in one SQL transaction at
// the client's leader, micro-op by micro-op: a read selects the key's row, an append appends to
// its list in the statement, a write replaces its value. A read of a key with no row is the
// empty list, or null.
func (c *Client) txn(ctx context.Context, op history.Op) history.Op {
	var mops [][3]json.RawMessage
	if op.F != "txn" || json.Unmarshal(op.Value, &mops) != nil {
		return history.Refused("a transaction's value is a list of micro-ops [f, key, value]")
	}
	readOnly := true
	for _, m := range mops {
		readOnly = readOnly && string(m[0]) == `"r"`
	}
	tx, err := c.conn.BeginTx(ctx, &sql.TxOptions{Isolation: Isolations[c.options["isolation"]]})
	if err != nil {
		return c.outcome(err, readOnly)
	}
	defer c.abandon(tx)
	list := c.workload == workloads.ListAppendName
	out := make([][3]json.RawMessage, len(mops))
	for i, m := range mops {
		var f, key string
		if json.Unmarshal(m[0], &f) != nil || json.Unmarshal(m[1], &key) != nil {
			return history.Refused(fmt.Sprintf("micro-op %d is not [f, key, value] with a string key", i))
		}
		out[i] = m
		switch {
		case f == "r":
			q := c.s.TxnReadRegister
			if list {
				q = c.s.TxnReadList
			}
			var v sql.NullString
			err := c.queryRow(ctx, tx, q, key).Scan(&v)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return c.outcome(err, readOnly)
			}
			switch {
			case list:
				out[i][2] = listJSON(v.String)
			case v.Valid:
				out[i][2] = json.RawMessage(v.String)
			default:
				out[i][2] = history.Null
			}
		case f == "append" && list:
			if _, err := c.exec(ctx, tx, c.s.TxnAppend, key, elementText(m[2])); err != nil {
				return c.outcome(err, false)
			}
		case f == "w" && !list:
			if !json.Valid(m[2]) {
				return history.Refused("a write's value is not JSON")
			}
			if _, err := c.exec(ctx, tx, c.s.TxnWrite, key, string(m[2])); err != nil {
				return c.outcome(err, false)
			}
		default:
			return history.Refused(fmt.Sprintf("micro-op %d: %s is no micro-op of %s", i, f, c.workload))
		}
	}
	if err := c.commit(ctx, tx); err != nil {
		return c.outcome(err, readOnly)
	}
	return ok(history.Value(out))
}

// elementText is a list element as its row holds it: an integer's digits, a string's text.
func elementText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// listJSON reads a list's row, its elements comma-separated, as JSON: integers as numbers, the
// rest as strings; no row or an empty text is the empty list.
func listJSON(text string) json.RawMessage {
	out := []any{}
	if text != "" {
		for _, e := range strings.Split(text, ",") {
			if n, err := strconv.ParseInt(e, 10, 64); err == nil {
				out = append(out, n)
			} else {
				out = append(out, e)
			}
		}
	}
	return history.Value(out)
}
