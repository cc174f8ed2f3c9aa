package pglogical

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/db/sqlclient"
	"github.com/crossfire-dev/crossfire/history"
)

// Conflict is one conflict as pglogical logs it (pglogical.conflict_log_level): a CONFLICT line
// and its DETAIL line, in a server log whose lines start with log_line_prefix '%m [%p] '.
//
//	2026-11-27 15:16:57.793 UTC [812] LOG:  CONFLICT: remote UPDATE on relation public.kv (local index kv_pkey). Resolution: keep_local.
//	2026-11-27 15:16:57.793 UTC [812] DETAIL:  existing local tuple {k[int4]:10 v[int4]:1} xid=740,origin=0,timestamp=2026-11-27 15:16:57.79302+00; remote tuple {k[int4]:10 v[int4]:3} in xact origin=2,timestamp=2026-11-27 15:16:32.953176+00,commit_lsn=0/1973D68
type Conflict struct {
	Logged     time.Time // the log line's time, by the leader's (possibly skewed) clock
	Op         string    // the remote change: INSERT, UPDATE or DELETE
	Relation   string    // schema.table
	Index      string    // the index the rows met on ("" when not logged)
	NotFound   bool      // the remote change found no local row ("tuple not found")
	Resolution string    // apply_remote, keep_local or skip
	Local      *Tuple    // the row the leader held; nil when there was none
	Remote     Tuple     // the row that arrived
}

// Tuple is a row in a conflict line: its columns (values cut at 40 characters by pglogical), the
// replication origin of the transaction that wrote it (0: this leader) and its commit time.
type Tuple struct {
	Columns   map[string]string
	Origin    int
	Committed time.Time
}

var (
	conflictLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+) \[\d+\] \S+:\s+CONFLICT: remote (\w+) on relation (\S+)(?: replica identity index (\S+)| \(local index (\S+)\))?( \(tuple not found\))?\. Resolution: (\w+)\.`)
	detailLine   = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] DETAIL:\s+(.*)$`)
	localTuple   = regexp.MustCompile(`existing local tuple \{(.*?)\} xid=\d+,origin=(\d+),timestamp=([^;]+?)(?:;|$)`)
	remoteTuple  = regexp.MustCompile(`remote tuple \{(.*?)\} in xact origin=(\d+),timestamp=([^,]+)`)
	columnStart  = regexp.MustCompile(`(?:^| )(\w+)\[[^\]]+\]:`)
)

// ParseConflicts reads a server log and returns its conflicts in order. Lines that are not
// conflicts are skipped; a CONFLICT line whose DETAIL cannot be read is an error naming its line.
func ParseConflicts(r io.Reader) ([]Conflict, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	var out []Conflict
	var pending *Conflict
	pendingLine, n := 0, 0
	for s.Scan() {
		n++
		line := s.Text()
		if pending != nil {
			m := detailLine.FindStringSubmatch(line)
			if m == nil {
				return out, fmt.Errorf("line %d: a CONFLICT line without its DETAIL", pendingLine)
			}
			if err := pending.detail(m[1]); err != nil {
				return out, fmt.Errorf("line %d: %v", n, err)
			}
			out = append(out, *pending)
			pending = nil
			continue
		}
		m := conflictLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		logged, err := logTime(m[1], m[2])
		if err != nil {
			return out, fmt.Errorf("line %d: %v", n, err)
		}
		c := Conflict{Logged: logged, Op: m[3], Relation: m[4], Index: m[5] + m[6], NotFound: m[7] != "", Resolution: m[8]}
		pending, pendingLine = &c, n
	}
	if pending != nil {
		return out, fmt.Errorf("line %d: a CONFLICT line without its DETAIL", pendingLine)
	}
	return out, s.Err()
}

func (c *Conflict) detail(d string) error {
	if m := localTuple.FindStringSubmatch(d); m != nil {
		t, err := tuple(m[1], m[2], m[3])
		if err != nil {
			return err
		}
		c.Local = &t
	}
	m := remoteTuple.FindStringSubmatch(d)
	if m == nil {
		return fmt.Errorf("no remote tuple in %q", d)
	}
	t, err := tuple(m[1], m[2], m[3])
	if err != nil {
		return err
	}
	c.Remote = t
	return nil
}

func tuple(cols, origin, committed string) (Tuple, error) {
	o, err := strconv.Atoi(origin)
	if err != nil {
		return Tuple{}, err
	}
	ts, err := time.Parse("2006-01-02 15:04:05.999999-07", strings.TrimSpace(committed))
	if err != nil {
		return Tuple{}, fmt.Errorf("commit time %q: %v", committed, err)
	}
	return Tuple{Columns: columns(cols), Origin: o, Committed: ts}, nil
}

// columns splits "k[int4]:10 v[text]:a b" into {k: 10, v: a b}.
func columns(s string) map[string]string {
	out := map[string]string{}
	starts := columnStart.FindAllStringSubmatchIndex(s, -1)
	for i, m := range starts {
		end := len(s)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		out[s[m[2]:m[3]]] = s[m[1]:end]
	}
	return out
}

// logTime reads log_line_prefix's %m: "2026-11-27 15:16:57.793 UTC".
func logTime(stamp, zone string) (time.Time, error) {
	loc := time.UTC
	if zone != "UTC" && zone != "GMT" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			return time.Time{}, fmt.Errorf("time zone %q: %v", zone, err)
		}
		loc = l
	}
	return time.ParseInLocation("2006-01-02 15:04:05.999999", stamp, loc)
}

// Row reads a logged row of one of the workloads' tables as the history names it: the key (the
// register, the SKU, the cart) and the value (the register's value, the units, the item). ok is
// false for a table that is none of theirs.
func Row(relation string, cols map[string]string) (key string, value json.RawMessage, ok bool) {
	switch strings.TrimPrefix(relation, "public.") {
	case "registers":
		return cols["k"], json.RawMessage(cols["v"]), true
	case "stock":
		return cols["sku"], json.RawMessage(cols["units"]), true
	case "orders", "orders_by_req":
		v, _ := json.Marshal(map[string]string{"order": sqlclient.OrderID(cols["leader"], cols["id"]), "node": cols["leader"], "req": cols["req"]})
		return cols["sku"], v, true
	case "cart_items":
		v, _ := json.Marshal(cols["item"])
		return cols["cart"], v, true
	}
	return "", nil, false
}

// Records turns the conflicts one leader logged into crossfire's conflict records: the leader,
// the row's key and values (Row), each version's commit time and origin (origins maps the
// leader's replication origin ids to leaders; 0 is the leader itself), and the version the
// resolution kept. Conflicts on tables that are not the workloads' are left out.
func Records(leader, strategy string, cs []Conflict, origins map[int]string) []history.ConflictRecord {
	version := func(t Tuple, relation string) history.LoggedVersion {
		_, v, _ := Row(relation, t.Columns)
		o := leader
		if t.Origin != 0 {
			o = origins[t.Origin]
			if o == "" {
				o = fmt.Sprintf("origin %d", t.Origin)
			}
		}
		return history.LoggedVersion{Value: v, TS: t.Committed.UnixNano(), Origin: o}
	}
	var out []history.ConflictRecord
	for _, c := range cs {
		key, _, ok := Row(c.Relation, c.Remote.Columns)
		if !ok {
			continue
		}
		r := history.ConflictRecord{Time: c.Logged.UnixNano(), Node: leader, Key: key, Strategy: strategy,
			Incoming: version(c.Remote, c.Relation)}
		if c.Local != nil {
			r.Local = []history.LoggedVersion{version(*c.Local, c.Relation)}
		}
		switch {
		case c.Resolution == "apply_remote":
			r.Winner = r.Incoming
		case len(r.Local) > 0:
			r.Winner = r.Local[0] // keep_local, or skip with a row held
		}
		out = append(out, r)
	}
	return out
}
