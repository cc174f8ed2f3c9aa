package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// LoggedVersion is one version of a key as a conflict record shows it: its value and, where the
// database gives them, its timestamp, the leader that made it (origin, with its sequence number
// there) and its version vector.
type LoggedVersion struct {
	Value  json.RawMessage   `json:"value"`
	TS     int64             `json:"ts,omitempty"`
	Origin string            `json:"origin,omitempty"`
	Seq    uint64            `json:"seq,omitempty"`
	VV     map[string]uint64 `json:"vv,omitempty"`
}

// ConflictRecord is one conflict a leader detected, as a run folder's conflicts.jsonl holds it: the versions of the key it held (Local), the
// version that arrived concurrent with them (Incoming), and what it kept (Winner). Time is when
// the leader noticed it, in its own clock's Unix nanoseconds; Strategy is the rule it resolved
// it by, in the database's own words.
type ConflictRecord struct {
	Time     int64           `json:"time"`
	Node     string          `json:"node"`
	Key      string          `json:"key"`
	Strategy string          `json:"strategy"`
	Local    []LoggedVersion `json:"local"`
	Incoming LoggedVersion   `json:"incoming"`
	Winner   LoggedVersion   `json:"winner"`
}

// ReadConflicts reads conflict records, one JSON object per line (blank lines are skipped). A
// line that is not a record is an error naming it.
func ReadConflicts(r io.Reader) ([]ConflictRecord, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<16), MaxLineBytes)
	var out []ConflictRecord
	for line := int64(1); s.Scan(); line++ {
		if len(s.Bytes()) == 0 {
			continue
		}
		var rec ConflictRecord
		if err := json.Unmarshal(s.Bytes(), &rec); err != nil {
			return out, &LineError{Line: line, Err: err}
		}
		out = append(out, rec)
	}
	return out, s.Err()
}

// WriteConflicts writes records one per line.
func WriteConflicts(w io.Writer, recs []ConflictRecord) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("conflict record %d: %w", i, err)
		}
	}
	return bw.Flush()
}
