package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/sqlclient"
)

// The two ways a team writes a purchase (the buy option): sqlclient's.
const (
	BuyDecrement       = sqlclient.BuyDecrement
	BuyReadModifyWrite = sqlclient.BuyReadModifyWrite
)

// Order designs of the flash sale (the orders option): sqlclient's.
const (
	OrdersNaive = sqlclient.OrdersNaive
	OrdersDedup = sqlclient.OrdersDedup
)

// statements are MariaDB's SQL for the workloads. A profile's edit makes the row on its first
// edit (`INSERT … ON DUPLICATE KEY UPDATE <field> = …`): Galera certifies the row, so of two
// concurrent edits at two leaders one fails; asynchronous replication ships the row's whole
// image, so an edit applied at another master writes every column as its master had them.
var statements = &sqlclient.Statements{
	ReadRegister:  `SELECT v FROM registers WHERE k = $1`,
	WriteRegister: `INSERT INTO registers (k, v) VALUES ($1, $2) ON DUPLICATE KEY UPDATE v = VALUES(v)`,
	CasFromNull:   `INSERT IGNORE INTO registers (k, v) VALUES ($1, $2)`,
	CasNullUpdate: `UPDATE registers SET v = $2 WHERE k = $1 AND (v IS NULL OR v = 'null')`,
	CasUpdate:     `UPDATE registers SET v = $2 WHERE k = $1 AND v = $3`,

	Restock: `INSERT INTO stock (sku, units, ledger) VALUES ($1, $2, $3)
		ON DUPLICATE KEY UPDATE units = units + VALUES(units), ledger = CONCAT(ledger, VALUES(ledger))`,
	ReadStock:   `SELECT units, ledger FROM stock WHERE sku = $1`,
	FindOrder:   `SELECT leader, id FROM %s WHERE req = $1 LIMIT 1`,
	Decrement:   `UPDATE stock SET units = units - $2, ledger = CONCAT(ledger, $3) WHERE sku = $1 AND units >= $2`,
	ReadUnits:   `SELECT units FROM stock WHERE sku = $1`,
	SetUnits:    `UPDATE stock SET units = $2, ledger = CONCAT(ledger, $3) WHERE sku = $1`,
	InsertOrder: `INSERT INTO %s (leader, sku, qty, req) VALUES ($1, $2, $3, $4)`,
	ReadOrders:  `SELECT leader, id, sku, qty, req FROM %s WHERE sku = $1 ORDER BY leader, id`,

	CartAdd:    `INSERT IGNORE INTO cart_items (cart, item) VALUES ($1, $2)`,
	CartRemove: `DELETE FROM cart_items WHERE cart = $1 AND item = $2`,
	CartRead:   `SELECT item FROM cart_items WHERE cart = $1 ORDER BY item`,

	SetField:    `INSERT INTO profiles (id, %[1]s) VALUES ($1, $2) ON DUPLICATE KEY UPDATE %[1]s = VALUES(%[1]s)`,
	ReadProfile: `SELECT %s FROM profiles WHERE id = $1`,

	TxnReadList:     `SELECT v FROM txn_lists WHERE k = $1`,
	TxnAppend:       `INSERT INTO txn_lists (k, v) VALUES ($1, $2) ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', VALUES(v))`,
	TxnReadRegister: `SELECT v FROM txn_registers WHERE k = $1`,
	TxnWrite:        `INSERT INTO txn_registers (k, v) VALUES ($1, $2) ON DUPLICATE KEY UPDATE v = VALUES(v)`,
}

// SnapshotIsolations are the values of the snapshot-isolation option, the default first: the
// version's own setting, or innodb_snapshot_isolation set off or on for each client's session.
var SnapshotIsolations = []string{"default", "off", "on"}

// dialect is MariaDB's, through go-sql-driver/mysql: ? placeholders; a connection learns its
// leader from @@server_id (n<server_id>) and, with the snapshot-isolation option off or on, sets
// innodb_snapshot_isolation so for its session. An error the server answered with certainly did
// not take effect: the statement failed, and the transaction is rolled back (a certification
// failure or a brute-force abort at COMMIT is 1213, a deadlock; a leader outside the primary
// component refuses with 1047).
var dialect = &sqlclient.Dialect{
	Name:       Name,
	Statements: statements,
	Question:   true,
	Connect: func(ctx context.Context, conn *sql.Conn, options map[string]string) (string, error) {
		var id int
		if err := conn.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil {
			return "", err
		}
		switch si := options["snapshot-isolation"]; si {
		case "on", "off":
			if _, err := conn.ExecContext(ctx, "SET SESSION innodb_snapshot_isolation = "+strings.ToUpper(si)); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("n%d", id), nil
	},
	Answered: func(err error) (string, bool) {
		var my *mysql.MySQLError
		if errors.As(err, &my) {
			return fmt.Sprintf("%d: %s", my.Number, my.Message), true
		}
		return "", false
	},
}

// open opens a client of the workload at the leader c.Node, on a connection of its own.
func open(ctx context.Context, c db.ClientConfig) (*sqlclient.Client, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = sqlclient.DefaultTimeout
	}
	dsn, err := driverDSN(c.Node.URL, timeout)
	if err != nil {
		return nil, err
	}
	pool, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	return sqlclient.Open(ctx, dialect, pool, c)
}
