package mariadb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/crossfire-dev/crossfire/history"
)

// BinlogFile is where a leader's decoded binary log goes in its folder of the run's nodes/.
const BinlogFile = "binlog.txt"

// CollectArtifacts copies each leader's log, as every container cluster does, and beside it the
// leader's binary log decoded (BinlogFile) and the transactions read from it
// (history.CommitsFile): what the leader committed and what it applied from the others, each
// with its GTID and the rows it wrote. A leader that is not running has its log only.
func (c *Cluster) CollectArtifacts(ctx context.Context, dir string) error {
	errs := []error{c.Cluster.CollectArtifacts(ctx, dir)}
	for _, id := range c.IDs() {
		if !c.Running(ctx, id) {
			continue
		}
		if err := c.saveBinlog(ctx, id, filepath.Join(dir, id)); err != nil {
			errs = append(errs, fmt.Errorf("%s: binary log: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// decodeBinlog prints every binary log of the leader with its rows decoded, in order: the files
// its index lists (11.8 keeps a GTID index, *.idx, beside each). 11.8's mariadb-binlog stops at a
// GTID lower than one before it in the same domain, which a leader's log holds after every leader
// was killed and the cluster came back; it is told not to (10.11's has no such check, nor the
// option).
const decodeBinlog = `cd /var/lib/mysql && [ -s mariadb-bin.index ] || exit 3
strict=""
if mariadb-binlog --help 2>/dev/null | grep -q gtid-strict-mode; then strict=--skip-gtid-strict-mode; fi
exec mariadb-binlog $strict --base64-output=DECODE-ROWS --verbose $(cat mariadb-bin.index)`

func (c *Cluster) saveBinlog(ctx context.Context, id, dir string) error {
	ctr := c.Container(id)
	if ctr == nil {
		return nil
	}
	code, out, err := ctr.Exec(ctx, []string{"/bin/sh", "-c", decodeBinlog}, tcexec.WithUser("root"), tcexec.Multiplexed())
	if err != nil {
		return err
	}
	if code == 3 {
		return nil // binary logging is off (async masters keep theirs for replication only)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	text, err := os.Create(filepath.Join(dir, BinlogFile))
	if err != nil {
		return err
	}
	commits, perr := ReadBinlog(io.TeeReader(out, text), id)
	if err := text.Close(); err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	// A leader killed while it wrote may leave its last event cut short: mariadb-binlog then stops
	// there with an error, and what it read before is still the leader's record.
	if err := history.WriteCommits(filepath.Join(dir, history.CommitsFile), commits); err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("mariadb-binlog exited %d after %d transactions (the end of %s): kept what it read", code, len(commits), BinlogFile)
	}
	return nil
}

var (
	// #261208  1:22:33 server id 2  end_log_pos 1300 CRC32 0x1b2c3d4e 	GTID 100-2-45 trans
	gtidLine = regexp.MustCompile(`^#\d+\s+[\d:]+\s+server id (\d+)\s+end_log_pos \d+.*\sGTID (\d+-\d+-\d+)`)
	// ### UPDATE `crossfire`.`stock`
	rowLine = regexp.MustCompile("^### (INSERT INTO|UPDATE|DELETE FROM) `([^`]*)`\\.`([^`]*)`")
	// ###   @2='s0' /* VARSTRING(256) meta=256 nullable=0 is_null=0 */
	colLine = regexp.MustCompile(`^###\s+@(\d+)=(.*?)(?:\s*/\*.*\*/)?$`)
	// rowKinds names a row event by what rowLine read.
	rowKinds = map[string]string{"INSERT INTO": "insert", "UPDATE": "update", "DELETE FROM": "delete"}
)

// ReadBinlog reads a binary log as mariadb-binlog decodes it (--base64-output=DECODE-ROWS
// --verbose) into the transactions it holds, in their order: each with its GTID, the server id
// of the leader that committed it, and its row changes, each column's value as the log prints it
// (strings unquoted). node is the leader whose log it is.
func ReadBinlog(r io.Reader, node string) ([]history.Commit, error) {
	var out []history.Commit
	var cur *history.Commit
	var row *history.RowChange
	var image *[]string // the column list being read: before (WHERE) or after (SET, or an insert's)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := gtidLine.FindStringSubmatch(line); m != nil {
			out = append(out, history.Commit{Node: node, GTID: m[2], ServerID: atoi(m[1])})
			cur, row, image = &out[len(out)-1], nil, nil
			continue
		}
		if cur == nil || !strings.HasPrefix(line, "###") {
			continue
		}
		if m := rowLine.FindStringSubmatch(line); m != nil {
			kind := rowKinds[m[1]]
			cur.Rows = append(cur.Rows, history.RowChange{Table: m[3], Kind: kind})
			row = &cur.Rows[len(cur.Rows)-1]
			switch kind {
			case "insert":
				image = &row.After
			default:
				image = &row.Before
			}
			continue
		}
		if row == nil {
			continue
		}
		switch strings.TrimSpace(strings.TrimPrefix(line, "###")) {
		case "WHERE":
			image = &row.Before
			continue
		case "SET":
			image = &row.After
			continue
		}
		if m := colLine.FindStringSubmatch(line); m != nil && image != nil {
			if n := atoi(m[1]); n != len(*image)+1 {
				return out, fmt.Errorf("%s: column @%s of a %s of %s out of order", node, m[1], row.Kind, row.Table)
			}
			*image = append(*image, unquote(m[2]))
		}
	}
	return out, sc.Err()
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// unquote reads a column's value as mariadb-binlog prints it: a string in single quotes with
// backslash escapes, or a number or NULL as it is.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(v[i])
			}
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
