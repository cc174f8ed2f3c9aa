package checkers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// valueGroup is the leaders whose final reads of a key gave one value.
type valueGroup struct {
	leaders []string
	value   json.RawMessage
}

// maxShown bounds what a description lists: items of one side, fields, characters of a value.
const maxShown = 8

// differences says what differs between the values leaders read, as a person would look for
// it: for lists (carts, order rows), the items some leaders hold and others not ("x, y only at
// n1; z only at n2,n3"); for objects, the fields whose values differ ("units: n1 4, n2 5");
// otherwise each value with its leaders ("n1: 3; n2,n3: 5").
func differences(groups []valueGroup) string {
	for i := range groups {
		sort.Strings(groups[i].leaders)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].leaders[0] < groups[j].leaders[0] })
	if d, ok := listDifferences(groups); ok {
		return d
	}
	if d, ok := fieldDifferences(groups); ok {
		return d
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g.leaders, ",")+": "+shorten(g.value))
	}
	return strings.Join(parts, "; ")
}

// listDifferences compares lists as multisets: the items not held alike everywhere, by the
// leaders that hold them (and how many times, where the counts differ).
func listDifferences(groups []valueGroup) (string, bool) {
	counts := make([]map[string]int, len(groups))
	var items []string
	for i, g := range groups {
		var list []json.RawMessage
		if json.Unmarshal(g.value, &list) != nil {
			return "", false
		}
		counts[i] = map[string]int{}
		for _, it := range list {
			s := shorten(it)
			if _, seen := counts[i][s]; !seen && !slices.Contains(items, s) {
				items = append(items, s)
			}
			counts[i][s]++
		}
	}
	sort.Strings(items)
	byHolders := map[string][]string{} // "only at n1" -> items
	// order lists the parts in order: "only at …" keys of byHolders, and items held everywhere
	// but as many times nowhere, said whole.
	var order []string
	for _, it := range items {
		var holders, tally []string
		same, everywhere := true, true
		for i, g := range groups {
			if counts[i][it] > 0 {
				holders = append(holders, strings.Join(g.leaders, ","))
			}
			tally = append(tally, fmt.Sprintf("%d at %s", counts[i][it], strings.Join(g.leaders, ",")))
			same = same && counts[i][it] == counts[0][it]
			everywhere = everywhere && counts[i][it] > 0
		}
		if same {
			continue
		}
		if everywhere { // held everywhere, as many times nowhere
			order = append(order, it+" held "+strings.Join(tally, ", "))
			continue
		}
		where := "only at " + strings.Join(holders, " and ")
		if _, ok := byHolders[where]; !ok {
			order = append(order, where)
		}
		byHolders[where] = append(byHolders[where], it)
	}
	var parts []string
	for _, where := range order {
		its, ok := byHolders[where]
		if !ok {
			parts = append(parts, where)
			continue
		}
		shown := strings.Join(its[:min(len(its), maxShown)], ", ")
		if len(its) > maxShown {
			shown += fmt.Sprintf(" and %d more", len(its)-maxShown)
		}
		parts = append(parts, shown+" "+where)
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, "; "), true
}

// fieldDifferences compares objects field by field: the fields whose values differ, with each
// leader's value ("-" where a leader's object lacks the field).
func fieldDifferences(groups []valueGroup) (string, bool) {
	objs := make([]map[string]json.RawMessage, len(groups))
	var fields []string
	for i, g := range groups {
		if json.Unmarshal(g.value, &objs[i]) != nil || objs[i] == nil {
			return "", false
		}
		for f := range objs[i] {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	sort.Strings(fields)
	var parts []string
	for _, f := range fields {
		var vals []string
		same := true
		for i, g := range groups {
			v, ok := objs[i][f]
			shown := "-"
			if ok {
				shown = shorten(v)
			}
			same = same && ok && bytes.Equal(compactJSON(v), compactJSON(objs[0][f]))
			vals = append(vals, strings.Join(g.leaders, ",")+" "+shown)
		}
		if !same {
			parts = append(parts, f+": "+strings.Join(vals, ", "))
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	if len(parts) > maxShown {
		parts = append(parts[:maxShown], fmt.Sprintf("and %d more fields", len(parts)-maxShown))
	}
	return strings.Join(parts, "; "), true
}

// shorten is a value as a description shows it: strings without their quotes, everything else
// as compact JSON, at most 60 characters.
func shorten(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		s = string(compactJSON(v))
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func compactJSON(v json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}
