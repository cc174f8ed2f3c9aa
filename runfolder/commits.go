package runfolder

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
)

// A run folder whose leaders left the engine's own record of their transactions
// (nodes/<leader>/commits.jsonl: history.Commit) lets each anomaly say, beside what the history
// shows, what the engine did with the operations involved: which transaction wrote each one
// (its GTID), which leaders' logs hold that transaction and which do not, whether it wrote the
// same tables everywhere, and whether it committed although its client was told it failed.

// maxCommitTokens bounds the operations of one anomaly looked up in the logs.
const maxCommitTokens = 8

// LoadCommits reads every leader's commits.jsonl under dir/nodes, by leader; found is false when
// no leader left one.
func LoadCommits(dir string) (map[string][]history.Commit, bool, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, NodesDir, "*", history.CommitsFile))
	if len(paths) == 0 {
		return nil, false, nil
	}
	out := map[string][]history.Commit{}
	for _, p := range paths {
		cs, err := history.ReadCommits(p)
		if err != nil {
			return nil, false, err
		}
		out[filepath.Base(filepath.Dir(p))] = cs
	}
	return out, true, nil
}

// commitIndex finds, for a token, the transactions that wrote it: a column after the change
// holds it (as the whole value, or within it when the token is long enough to name one thing)
// and did not before.
type commitIndex struct {
	leaders []string
	logs    map[string][]history.Commit
	found   map[string]writers // by token: one scan of the logs however many anomalies name it
}

// writers is what the logs say of one token: the GTIDs that wrote it, in the order first seen,
// and by GTID the tables each leader's log has it write.
type writers struct {
	gtids []string
	at    map[string]map[string][]string
}

// written reports whether the change put token into a column.
func written(r history.RowChange, token string) bool {
	holds := func(v string) bool { return v == token || len(token) >= 8 && containsWord(v, token) }
	for i, v := range r.After {
		if !holds(v) {
			continue
		}
		if r.Kind == "update" && i < len(r.Before) && holds(r.Before[i]) {
			continue
		}
		return true
	}
	return r.Kind == "delete" && slices.ContainsFunc(r.Before, holds)
}

// containsWord reports whether token is in v between characters that cannot be part of an id
// (restock-2 is not in restock-20).
func containsWord(v, token string) bool {
	inID := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.'
	}
	for from := 0; ; {
		i := strings.Index(v[from:], token)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(token)
		if (i == 0 || !inID(v[i-1])) && (end == len(v) || !inID(v[end])) {
			return true
		}
		from = i + 1
	}
}

// wrote lists, by GTID in the order first seen, the leaders whose logs hold a transaction that
// wrote token, and the tables each wrote it with.
func (x *commitIndex) wrote(token string) (gtids []string, at map[string]map[string][]string) {
	if w, ok := x.found[token]; ok {
		return w.gtids, w.at
	}
	at = map[string]map[string][]string{}
	for _, leader := range x.leaders {
		for i := range x.logs[leader] {
			c := &x.logs[leader][i]
			if !slices.ContainsFunc(c.Rows, func(r history.RowChange) bool { return written(r, token) }) {
				continue
			}
			if at[c.GTID] == nil {
				at[c.GTID] = map[string][]string{}
				gtids = append(gtids, c.GTID)
			}
			at[c.GTID][leader] = c.Tables()
		}
	}
	x.found[token] = writers{gtids, at}
	return gtids, at
}

// opToken is what names an operation in the rows a transaction writes: its request id, else the
// value it wrote (a string or a number), else "".
func opToken(op history.Op) string {
	if op.Req != "" {
		return op.Req
	}
	if op.Type != history.Invoke || len(op.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(op.Value, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(op.Value, &n) == nil {
		return n.String()
	}
	var f struct {
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(op.Value, &f) == nil && len(f.Value) > 0 {
		if json.Unmarshal(f.Value, &s) == nil {
			return s
		}
		return string(f.Value)
	}
	return ""
}

// ExplainCommits adds to each anomaly of s what the leaders' logs say of the operations it names
// (Anomaly.Engine), reading the history at file for those operations. It does nothing when the
// run folder holds no logs.
func ExplainCommits(dir, file string, s *checkers.Summary) error {
	logs, found, err := LoadCommits(dir)
	if err != nil || !found {
		return err
	}
	x := &commitIndex{logs: logs, found: map[string]writers{}}
	for l := range logs {
		x.leaders = append(x.leaders, l)
	}
	sort.Strings(x.leaders)
	want := map[int64]bool{}
	for _, r := range s.Results {
		for _, a := range r.Anomalies {
			for _, i := range a.Ops[:min(len(a.Ops), 4*maxCommitTokens)] {
				want[i] = true
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	ops, err := opsAt(file, want)
	if err != nil {
		return err
	}
	for ri := range s.Results {
		for ai := range s.Results[ri].Anomalies {
			a := &s.Results[ri].Anomalies[ai]
			seen := map[string]bool{}
			for _, i := range a.Ops {
				o, ok := ops[i]
				if !ok {
					continue
				}
				tok := opToken(o.op)
				if tok == "" || seen[tok] {
					continue
				}
				seen[tok] = true
				if len(seen) > maxCommitTokens {
					break
				}
				a.Engine = append(a.Engine, x.explain(o.op, tok, o.told))
			}
		}
	}
	return nil
}

// explain says what the logs hold of one operation.
func (x *commitIndex) explain(op history.Op, tok string, told history.Type) string {
	what := fmt.Sprintf("%s %s (op %d at %s", op.F, strconv.Quote(tok), op.Index, op.Node)
	if told != "" {
		what += ", " + string(told)
	}
	what += ")"
	gtids, at := x.wrote(tok)
	switch {
	case len(gtids) == 0:
		return what + ": no leader's log holds a transaction that wrote it"
	case len(gtids) > 3:
		return fmt.Sprintf("%s: %d transactions wrote it (%s …): it names no one transaction", what, len(gtids), strings.Join(gtids[:3], ", "))
	}
	var parts []string
	for _, g := range gtids {
		var holders, missing []string
		tables := map[string][]string{}
		for _, l := range x.leaders {
			t, ok := at[g][l]
			if !ok {
				missing = append(missing, l)
				continue
			}
			holders = append(holders, l)
			key := strings.Join(t, "+")
			tables[key] = append(tables[key], l)
		}
		part := fmt.Sprintf("transaction %s", g)
		if len(tables) == 1 {
			for t := range tables {
				part += " (" + t + ")"
			}
			part += " in the logs of " + strings.Join(holders, ",")
		} else {
			keys := make([]string, 0, len(tables))
			for t := range tables {
				keys = append(keys, t)
			}
			sort.Strings(keys)
			var by []string
			for _, t := range keys {
				by = append(by, t+" at "+strings.Join(tables[t], ","))
			}
			part += " wrote different tables at different leaders: " + strings.Join(by, "; ")
		}
		if len(missing) > 0 {
			part += ", not of " + strings.Join(missing, ",")
		}
		parts = append(parts, part)
	}
	out := what + ": " + strings.Join(parts, "; ")
	if told == history.Fail {
		out += "; it committed, though its client was told it failed"
	}
	return out
}

// clientOp is a client's operation as its invoke gave it, and what its client was told ("" while
// it never completed).
type clientOp struct {
	op   history.Op
	told history.Type
}

// opsAt reads the history at file for the client operations at the indices wanted, each by its
// invoke or its completion, keyed by the index wanted.
func opsAt(file string, want map[int64]bool) (map[int64]clientOp, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int64]clientOp{}
	var inFlight history.Matcher[history.Op] // each process's invoke
	r := history.NewReader(bufio.NewReader(f))
	for {
		op, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if op.IsNemesis() {
			continue
		}
		if op.Type == history.Invoke {
			inFlight.Invoke(op, op)
			if want[op.Index] {
				out[op.Index] = clientOp{op: op}
			}
			continue
		}
		inv, ok := inFlight.Complete(op)
		if !ok {
			continue
		}
		if want[inv.Index] {
			out[inv.Index] = clientOp{inv, op.Type}
		}
		if want[op.Index] {
			out[op.Index] = clientOp{inv, op.Type}
		}
	}
	return out, nil
}
