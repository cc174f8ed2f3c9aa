package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Asynchronous multi-master: every master replicates from every other over a channel of its own
// (multi-source, GTID, one gtid_domain_id per master), and logs what it applies
// (log_slave_updates) so that a change also reaches a master through a third one when their own
// link is cut (gtid_ignore_duplicates drops the second copy). Nothing detects a conflict: two
// masters that change one row while their links are down keep what each applied last, and a
// row inserted at two of them stops replication (STRICT: 1062, duplicate key) or overwrites
// (IDEMPOTENT).

// Channel names the replication channel by which a master receives from another.
func Channel(from string) string { return "from_" + from }

// mesh makes the tables at every master, at that master only (they are not replicated, so no
// two masters hold the same first changes), then starts every master's channels to every other.
func (c *Cluster) mesh(ctx context.Context) error {
	c.Say("joining %d masters in a full mesh of replication channels", c.opts.Nodes)
	for _, id := range c.IDs() {
		conn, err := c.conn(id)
		if err != nil {
			return err
		}
		local, err := conn.Conn(ctx)
		if err != nil {
			return fmt.Errorf("mariadb: connecting to %s: %w", id, err)
		}
		err = func() error {
			defer local.Close()
			if _, err := local.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
				return err
			}
			for _, stmt := range Schema {
				if _, err := local.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			for _, peer := range c.IDs() {
				if peer == id {
					continue
				}
				if _, err := local.ExecContext(ctx, fmt.Sprintf(`CHANGE MASTER '%s' TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='repl',
					MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`, Channel(peer), peer, Port)); err != nil {
					return err
				}
			}
			_, err := local.ExecContext(ctx, "START ALL SLAVES")
			return err
		}()
		if err != nil {
			return fmt.Errorf("mariadb: joining %s to the mesh: %w", id, err)
		}
	}
	return nil
}

// channel is one replication channel as its master reports it.
type channel struct {
	name          string
	io, sqlThread string // Slave_IO_Running, Slave_SQL_Running: Yes, No, Connecting
	sqlErrno      int
	sqlError      string
}

// channels reads a master's replication channels (SHOW ALL SLAVES STATUS) and its position.
func (c *Cluster) channels(ctx context.Context, id string) ([]channel, string, error) {
	db, err := c.conn(id)
	if err != nil {
		return nil, "", err
	}
	var pos string
	if err := db.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		return nil, "", err
	}
	rows, err := db.QueryContext(ctx, "SHOW ALL SLAVES STATUS")
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, "", err
	}
	var out []channel
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, "", err
		}
		var ch channel
		for i, col := range cols {
			v := vals[i].String
			switch col {
			case "Connection_name":
				ch.name = v
			case "Slave_IO_Running":
				ch.io = v
			case "Slave_SQL_Running":
				ch.sqlThread = v
			case "Last_SQL_Errno":
				fmt.Sscan(v, &ch.sqlErrno)
			case "Last_SQL_Error":
				ch.sqlError = v
			}
		}
		out = append(out, ch)
	}
	return out, pos, rows.Err()
}

// normalPos sorts a GTID position's domains, so that two masters' positions compare as sets.
func normalPos(pos string) string {
	parts := strings.Split(pos, ",")
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// quiesceAsync waits until every master's channels run and every master holds the same
// position (gtid_binlog_pos: what it wrote and applied, in every domain), twice in a row. A
// channel whose SQL thread stopped is reported by name with its error; it does not start again
// on its own, so the wait ends there.
func (c *Cluster) quiesceAsync(ctx context.Context) error {
	last := ""
	var where []string
	for {
		where = where[:0]
		positions := map[string]bool{}
		var stopped []string
		pos := ""
		for _, id := range c.IDs() {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			chs, p, err := c.channels(qctx, id)
			cancel()
			if err != nil {
				where = append(where, fmt.Sprintf("%s: %v", id, err))
				continue
			}
			pos = normalPos(p)
			positions[pos] = true
			for _, ch := range chs {
				switch {
				case ch.sqlThread == "No" && ch.sqlErrno != 0:
					stopped = append(stopped, fmt.Sprintf("%s's channel %s stopped: %d: %s", id, ch.name, ch.sqlErrno, ch.sqlError))
				case ch.io != "Yes" || ch.sqlThread != "Yes":
					where = append(where, fmt.Sprintf("%s's channel %s: io %s, sql %s", id, ch.name, ch.io, ch.sqlThread))
				}
			}
			if len(chs) != c.opts.Nodes-1 {
				where = append(where, fmt.Sprintf("%s has %d channels", id, len(chs)))
			}
		}
		if len(stopped) > 0 {
			sort.Strings(stopped)
			return fmt.Errorf("mariadb: replication stopped: %s", strings.Join(stopped, "; "))
		}
		if len(where) == 0 && len(positions) == 1 {
			if pos == last {
				return nil
			}
			last = pos
		} else {
			last = ""
			if len(positions) > 1 {
				where = append(where, fmt.Sprintf("%d different positions", len(positions)))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mariadb: replication not caught up: %s", strings.Join(where, "; "))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
