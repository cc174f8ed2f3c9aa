package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// CommitsFile is where a leader's folder of a run's nodes/ keeps the transactions the engine's
// own log says that leader committed or applied (commits.jsonl), one JSON object a line, in the
// log's order: a Commit.
const CommitsFile = "commits.jsonl"

// Commit is one transaction as a leader's own log records it: the leader whose log it is, the
// engine's id for the transaction (a GTID, the same at every leader that applied it where the
// engine makes it so), the server id of the leader that committed it, and the rows it wrote.
type Commit struct {
	Node     string      `json:"node"`
	GTID     string      `json:"gtid"`
	ServerID int         `json:"server_id,omitempty"`
	Rows     []RowChange `json:"rows,omitempty"`
}

// RowChange is one row a transaction wrote: its table, insert, update or delete, and the row's
// columns before and after, in the table's order, as text.
type RowChange struct {
	Table  string   `json:"table"`
	Kind   string   `json:"kind"`
	Before []string `json:"before,omitempty"`
	After  []string `json:"after,omitempty"`
}

// Holds reports whether one of the rows the transaction wrote holds token in a column after it
// (or, for a delete, before it), as the whole value or inside it.
func (c *Commit) Holds(token string) bool {
	for _, r := range c.Rows {
		cols := r.After
		if r.Kind == "delete" {
			cols = r.Before
		}
		for _, v := range cols {
			if v == token || strings.Contains(v, token) {
				return true
			}
		}
	}
	return false
}

// Tables names the tables the transaction wrote, each once, in order.
func (c *Commit) Tables() []string {
	var out []string
	for _, r := range c.Rows {
		found := false
		for _, t := range out {
			found = found || t == r.Table
		}
		if !found {
			out = append(out, r.Table)
		}
	}
	return out
}

// WriteCommits writes commits to path, one a line.
func WriteCommits(path string, commits []Commit) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range commits {
		if err := enc.Encode(&commits[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadCommits reads a file WriteCommits wrote; a line that is not a commit is an error naming
// it.
func ReadCommits(path string) ([]Commit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Commit
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c Commit
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return out, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}
