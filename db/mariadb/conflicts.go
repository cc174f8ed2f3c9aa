package mariadb

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/history"
)

// Galera logs, with wsrep_log_conflicts=ON, each brute-force abort: a write set replicated from
// another leader (the winning thread, applied in high priority) that aborted a local
// transaction holding locks it needed (the victim, rolled back: its client is told 1213):
//
//	2026-12-06  1:30:44 1 [Note] WSREP: cluster conflict due to high priority abort for threads:
//	2026-12-06  1:30:44 1 [Note] WSREP: Winning thread:
//	   THD: 1, mode: high priority, state: exec, conflict: executing, seqno: 406
//	   SQL: UPDATE stock SET units = 36 WHERE sku = 's1'
//	2026-12-06  1:30:44 1 [Note] WSREP: Victim thread:
//	   THD: 13, mode: local, state: exec, conflict: executing, seqno: -1
//	   SQL: UPDATE stock SET units = 36 WHERE sku = 's1'
//
// Certification failures (cert.log_conflicts=YES) are logged as "UP-UP trx conflict for key
// (2,FLAT8)066a317b caedc7ce: …", with the keys as hashes: they stay in node.log, and only
// brute-force aborts, whose statements name their rows, become records.

// Abort is one brute-force abort as a leader logged it.
type Abort struct {
	Logged        time.Time
	Winner, Loser string // the statements; the victim's is often COMMIT
}

// ParseAborts reads a leader's log for brute-force aborts. SQL lines carry raw bytes after the
// statement, which are cut off.
func ParseAborts(r io.Reader) ([]Abort, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	var out []Abort
	var cur *Abort
	role := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "WSREP: cluster conflict due to high priority abort"):
			if cur != nil {
				out = append(out, *cur)
			}
			cur, role = &Abort{Logged: logTime(line)}, ""
		case cur != nil && strings.Contains(line, "WSREP: Winning thread:"):
			role = "winner"
		case cur != nil && strings.Contains(line, "WSREP: Victim thread:"):
			role = "victim"
		case cur != nil && strings.HasPrefix(strings.TrimSpace(line), "SQL:"):
			stmt := printable(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "SQL:")))
			if role == "winner" {
				cur.Winner = stmt
			} else if role == "victim" {
				cur.Loser = stmt
			}
		case cur != nil && !strings.HasPrefix(line, " ") && role == "victim" && !strings.Contains(line, "WSREP: context:"):
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out, sc.Err()
}

// printable cuts a statement at its first byte that is not printable ASCII.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

// logTime reads a log line's time ("2026-12-06  1:30:44"), the zero time when it has none.
func logTime(line string) time.Time {
	f := strings.Fields(line)
	if len(f) < 2 {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02 15:04:05", f[0]+" "+f[1])
	if err != nil {
		return time.Time{}
	}
	return t
}

var (
	whereKey  = regexp.MustCompile(`(?i)\bWHERE\s+(?:k|sku|cart)\s*=\s*'([^']*)'`)
	insertKey = regexp.MustCompile(`(?i)^INSERT\s+(?:IGNORE\s+)?INTO\s+(?:crossfire\.)?(?:registers|stock|cart_items)\s*\([^)]*\)\s*VALUES\s*\(\s*'([^']*)'`)
)

// KeyOf is the history key a statement on the workloads' tables writes (a register, a SKU's
// stock, a cart), "" when it names none.
func KeyOf(stmt string) string {
	for _, re := range []*regexp.Regexp{insertKey, whereKey} {
		if m := re.FindStringSubmatch(stmt); m != nil {
			return m[1]
		}
	}
	return ""
}

// Records are a leader's brute-force aborts as crossfire's conflict records: the local
// transaction (its statement) lost to the replicated write set, which won. Aborts whose
// statements name no key of the workloads are left out.
func Records(leader string, aborts []Abort) []history.ConflictRecord {
	var out []history.ConflictRecord
	for _, a := range aborts {
		key := KeyOf(a.Winner)
		if key == "" {
			key = KeyOf(a.Loser)
		}
		if key == "" {
			continue
		}
		stmt := func(s string) history.LoggedVersion { return history.LoggedVersion{Value: history.Value(s)} }
		r := history.ConflictRecord{Time: a.Logged.UnixNano(), Node: leader, Key: key, Strategy: "certification",
			Local: []history.LoggedVersion{stmt(a.Loser)}, Incoming: stmt(a.Winner)}
		r.Winner = r.Incoming
		out = append(out, r)
	}
	return out
}

// Conflicts implements clusters.ConflictSource: with Galera, every leader's brute-force aborts
// from its log. Asynchronous replication detects no conflict and logs none: it says so.
func (c *Cluster) Conflicts(ctx context.Context) ([]history.ConflictRecord, error) {
	if c.opts.Replication == Async {
		return nil, clusters.NoConflictLog("asynchronous replication detects no conflicts (a conflicting row overwrites, or stops the channel)")
	}
	var out []history.ConflictRecord
	for _, id := range c.IDs() {
		logs, err := c.Logs(ctx, id)
		if err != nil {
			return nil, err
		}
		aborts, err := ParseAborts(logs)
		logs.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, Records(id, aborts)...)
	}
	return out, nil
}

var _ clusters.ConflictSource = (*Cluster)(nil)
