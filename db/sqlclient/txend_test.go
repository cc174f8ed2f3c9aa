package sqlclient

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
)

// refusingServer is a SQL server as a Galera leader outside the primary component behaves: while
// refusing, it answers every statement with an error, ROLLBACK and COMMIT included, and keeps the
// transaction open; a BEGIN on a connection whose transaction is open commits that transaction
// first (as START TRANSACTION does); a connection that closes has its transaction rolled back.
type refusingServer struct {
	mu        sync.Mutex
	refusing  bool
	units     int64  // the stock's committed units
	orders    int    // committed order rows
	opened    int    // connections opened
	closed    int    // connections closed
	implicits int    // transactions committed by a later BEGIN
	trigger   string // a statement beginning so starts the refusing, once it has run
}

type refused struct{}

func (refused) Error() string { return "1047: WSREP has not yet prepared node for application use" }

type fakeConn struct {
	s       *refusingServer
	open    bool
	pending []string // the open transaction's writes: "decrement", "order"
}

func (s *refusingServer) Open(string) (driver.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened++
	return &fakeConn{s: s}, nil
}

func (c *fakeConn) apply() {
	for _, w := range c.pending {
		if w == "decrement" {
			c.s.units--
		} else {
			c.s.orders++
		}
	}
	c.open, c.pending = false, nil
}

func (c *fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not used") }

func (c *fakeConn) Close() error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.closed++
	c.open, c.pending = false, nil
	return nil
}

func (c *fakeConn) Begin() (driver.Tx, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.refusing {
		return nil, refused{}
	}
	if c.open {
		c.apply()
		c.s.implicits++
	}
	c.open = true
	return fakeTx{c}, nil
}

type fakeTx struct{ c *fakeConn }

func (t fakeTx) Commit() error { return t.c.end(true) }

func (t fakeTx) Rollback() error { return t.c.end(false) }

func (c *fakeConn) end(commit bool) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.refusing {
		return refused{}
	}
	if commit {
		c.apply()
	}
	c.open, c.pending = false, nil
	return nil
}

func (c *fakeConn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	if q == "ROLLBACK" {
		return driver.RowsAffected(0), c.end(false)
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.refusing {
		return nil, refused{}
	}
	switch {
	case strings.HasPrefix(q, "UPDATE stock"):
		c.pending = append(c.pending, "decrement")
	case strings.HasPrefix(q, "INSERT INTO orders"):
		c.pending = append(c.pending, "order")
	}
	if !c.open {
		c.apply()
	}
	if c.s.trigger != "" && strings.HasPrefix(q, c.s.trigger) {
		c.s.refusing, c.s.trigger = true, ""
	}
	return result{}, nil
}

type result struct{}

func (result) LastInsertId() (int64, error) { return 7, nil }
func (result) RowsAffected() (int64, error) { return 1, nil }

func (c *fakeConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.refusing {
		return nil, refused{}
	}
	return noRows{}, nil
}

type noRows struct{}

func (noRows) Columns() []string         { return []string{"leader", "id"} }
func (noRows) Close() error              { return nil }
func (noRows) Next([]driver.Value) error { return io.EOF }

var fakeDialect = &Dialect{
	Name: "fake",
	Statements: &Statements{
		FindOrder:   `SELECT leader, id FROM %s WHERE req = $1`,
		Decrement:   `UPDATE stock SET units = units - $2 WHERE sku = $1 AND units >= $2`,
		InsertOrder: `INSERT INTO %s (leader, sku, qty, req) VALUES ($1, $2, $3, $4)`,
	},
	Connect: func(context.Context, *sql.Conn, map[string]string) (string, error) { return "n2", nil },
	Answered: func(err error) (string, bool) {
		var r refused
		if errors.As(err, &r) {
			return r.Error(), true
		}
		return "", false
	},
}

// TestARefusedRollbackClosesTheConnection: a purchase whose order insert and ROLLBACK a leader
// refuses leaves its decrement in an open transaction. Handed back for the next purchase, the
// connection's BEGIN would commit that decrement alone once the leader answers again: a unit
// gone with no order row, told failed. The client closes the connection instead, and the
// server rolls the decrement back.
func TestARefusedRollbackClosesTheConnection(t *testing.T) {
	// Refused from the insert on: the insert, then the ROLLBACK.
	t.Run("insert refused", func(t *testing.T) { refusedPurchase(t, `UPDATE stock`) })
	// Refused from the COMMIT on: the COMMIT, then the ROLLBACK after it; the purchase told
	// failed must not be committed whole by the next BEGIN either.
	t.Run("commit refused", func(t *testing.T) { refusedPurchase(t, `INSERT INTO orders`) })
}

func refusedPurchase(t *testing.T, refuseAfter string) {
	s := &refusingServer{units: 10}
	pool := sql.OpenDB(connector{s})
	ctx := context.Background()
	c, err := Open(ctx, fakeDialect, pool, db.ClientConfig{Workload: workloads.InventoryName, Node: clusters.Node{ID: "n2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buy := func(req string) history.Op {
		return c.Invoke(ctx, history.Op{Type: history.Invoke, F: "buy", Key: "s0", Value: history.Value(1), Req: req})
	}
	// The leader leaves the primary component between the decrement and the insert.
	s.refuseAfter(refuseAfter)
	first := buy("a")
	if first.Type != history.Fail {
		t.Fatalf("the purchase whose insert was refused: %s (%s), want fail", first.Type, first.Error)
	}
	s.mu.Lock()
	s.refusing = false
	s.mu.Unlock()
	second := buy("b")
	if second.Type != history.OK {
		t.Fatalf("the next purchase: %s (%s)", second.Type, second.Error)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.implicits != 0 {
		t.Errorf("a BEGIN committed %d transaction(s) left open by a refused ROLLBACK", s.implicits)
	}
	if s.units != 9 || s.orders != 1 {
		t.Errorf("committed: %d units left, %d order rows; want 9 and 1 (one purchase whole)", s.units, s.orders)
	}
	if s.closed == 0 || s.opened < 2 {
		t.Errorf("connections opened %d, closed %d: the one with the open transaction was used again", s.opened, s.closed)
	}
}

// refuseAfter makes the server start refusing once a statement beginning with prefix has run.
func (s *refusingServer) refuseAfter(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trigger = prefix
}

type connector struct{ s *refusingServer }

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.s.Open("") }
func (c connector) Driver() driver.Driver                        { return c.s }
