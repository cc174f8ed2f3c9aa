package server

import (
	"fmt"
	"io"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
)

// ConflictRecords reads a node's conflict log (ConflictFile) as crossfire's conflict records.
// The log is already in that format; only the key changes: a cart's conflicts are logged under
// the cart space ("cart:c0") and a record names the cart as the history does ("c0").
func ConflictRecords(r io.Reader) ([]history.ConflictRecord, error) {
	recs, err := history.ReadConflicts(r)
	for i := range recs {
		recs[i].Key = strings.TrimPrefix(recs[i].Key, CartSpace+":")
	}
	return recs, err
}

// CollectConflicts reads the conflict log of each node, which open opens (nil, nil for a node
// that never saw a conflict and so has no log), as crossfire's records.
func CollectConflicts(nodes []string, open func(node string) (io.ReadCloser, error)) ([]history.ConflictRecord, error) {
	var out []history.ConflictRecord
	for _, id := range nodes {
		f, err := open(id)
		if err != nil {
			return out, err
		}
		if f == nil {
			continue
		}
		recs, err := ConflictRecords(f)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("%s's conflict log: %w", id, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}
