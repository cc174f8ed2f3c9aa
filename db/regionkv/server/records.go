package server

import (
	"io"
	"strings"

	"crossfire/history"
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
