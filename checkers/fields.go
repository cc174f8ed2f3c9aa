package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
)

// FieldsName is the fields checker's name.
const FieldsName = "fields"

// Fields judges records whose fields are updated one at a time (the profile workload: set-field
// and read-profile, HISTORY.md). For every acknowledged update of a field it looks at the final
// record each leader shows: the field must hold the update's value, or a value that an update of
// that same field explains, one that was not over before the acknowledged one began (later, or
// concurrent with it: last-writer-wins may pick either of two concurrent updates of one field,
// and an info update may have taken effect at any time). Otherwise the acknowledged update is
// lost, definitely, from the history alone:
//
//   - lost-field-edit when the final record also holds an update of another field that was not
//     over before the lost one began: the record was replaced whole by a version without the
//     edit (last-writer-wins collapsing edits to different fields into one outcome). That update
//     is named as evidence; the version that replaced the record may have come from another
//     edit of the same leader's lineage;
//   - lost-update when no such update is there: the field itself lost the write.
//
// It needs written values new to their field (the workload makes them so): a final value names
// the one update that wrote it. A final value that no update wrote is a phantom-value.
type Fields struct{}

// Name implements Checker.
func (Fields) Name() string { return FieldsName }

// Check implements Checker.
func (f Fields) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, f, in)
}

// Stream implements Streamer.
func (Fields) Stream(in Input) Stream {
	s := &fieldsStream{updates: map[fieldKey]map[string]*fieldUpdate{}}
	s.opPass = newOpPass(in, "profile", s.complete, "set-field", "read-profile")
	return s
}

// fieldKey is one field of one record.
type fieldKey struct{ record, field string }

// fieldUpdate is one set-field: when it began and ended, and how.
type fieldUpdate struct {
	fieldKey
	value       string
	node        string
	typ         history.Type
	start, end  int64 // invoke and completion times; an info update's end is the history's end
	inv, done   int64 // history indices
	duplicateOf bool  // the value was written by another update too: it names no one write
}

// before reports whether u was acknowledged before v began: nothing lets u be the later write.
func (u *fieldUpdate) before(v *fieldUpdate) bool {
	return u.typ == history.OK && u.end < v.start
}

func (u *fieldUpdate) String() string {
	return fmt.Sprintf("the update of %s to %s (op %d at %s)", u.field, u.value, u.done, u.node)
}

type fieldsStream struct {
	opPass
	updates map[fieldKey]map[string]*fieldUpdate // by value
	acked   []*fieldUpdate                       // in completion order
	bad     []string
}

func (s *fieldsStream) Observe(op history.Op) { s.observe(op) }

// setFieldValue is a set-field's argument.
type setFieldValue struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

func (s *fieldsStream) complete(inv, done history.Op) {
	switch inv.F {
	case "read-profile":
		s.fr.observe(inv, done)
	case "set-field":
		if done.Type == history.Fail {
			return
		}
		var v setFieldValue
		if err := json.Unmarshal(inv.Value, &v); err != nil || v.Field == "" {
			s.bad = append(s.bad, fmt.Sprintf("op %d: set-field value %s is not {\"field\": …, \"value\": …}", inv.Index, inv.Value))
			return
		}
		k := fieldKey{inv.Key, v.Field}
		u := &fieldUpdate{fieldKey: k, value: canonical(v.Value), node: inv.Node, typ: done.Type,
			start: inv.Time, end: done.Time, inv: inv.Index, done: done.Index}
		if s.updates[k] == nil {
			s.updates[k] = map[string]*fieldUpdate{}
		}
		if prev := s.updates[k][u.value]; prev != nil {
			prev.duplicateOf = true
			return
		}
		s.updates[k][u.value] = u
		if u.typ == history.OK {
			s.acked = append(s.acked, u)
		}
	}
}

// canonical is a field value as the checker compares it: compact JSON, null for absent.
func canonical(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	return string(compactValue(raw))
}

func (s *fieldsStream) Result(context.Context) Result {
	if why := s.finish(); why != "" {
		return notApplicable(why)
	}
	picks, rule := s.fr.picks()
	finals := map[string]map[string]map[string]string{} // record -> leader -> field -> value
	finalIndex := map[string]map[string]int64{}
	for _, p := range picks {
		if p.f != "read-profile" {
			continue
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(p.value, &rec); err != nil {
			s.bad = append(s.bad, fmt.Sprintf("op %d: read-profile value is not an object of fields: %v", p.index, err))
			continue
		}
		fields := map[string]string{}
		for f, v := range rec {
			fields[f] = canonical(v)
		}
		if finals[p.key] == nil {
			finals[p.key], finalIndex[p.key] = map[string]map[string]string{}, map[string]int64{}
		}
		finals[p.key][p.node], finalIndex[p.key][p.node] = fields, p.index
	}
	if len(s.bad) > 0 {
		return Result{Valid: Unknown, Error: strings.Join(s.bad[:min(len(s.bad), 5)], "; ")}
	}
	if len(finals) == 0 {
		return Result{Valid: Unknown, Error: "no successful read-profile in the history: nothing shows what the records hold"}
	}
	windows := s.w.windows()
	r := Result{Valid: True, Stats: map[string]any{"final_rule": rule, "acknowledged_updates": len(s.acked)}}
	counts := map[string]int{}
	judged := 0
	for _, u := range s.acked {
		byLeader := finals[u.record]
		if byLeader == nil {
			continue // no final read of this record: nothing to judge it by
		}
		judged++
		if u.duplicateOf {
			s.bad = append(s.bad, fmt.Sprintf("%s.%s: the value %s was written more than once, so a read of it names no one write", u.record, u.field, u.value))
			continue
		}
		if a, ok := s.judge(u, byLeader, finalIndex[u.record], windows); ok {
			counts[a.Kind]++
			r.Anomalies = append(r.Anomalies, a)
		}
	}
	// Values no update wrote.
	for _, record := range slices.Sorted(maps.Keys(finals)) {
		for _, leader := range slices.Sorted(maps.Keys(finals[record])) {
			for _, field := range slices.Sorted(maps.Keys(finals[record][leader])) {
				v := finals[record][leader][field]
				if v == "null" || s.updates[fieldKey{record, field}][v] != nil {
					continue
				}
				counts["phantom-value"]++
				r.Anomalies = append(r.Anomalies, Anomaly{Kind: "phantom-value", Key: record, Definite: true, Item: field,
					Ops: []int64{finalIndex[record][leader]}, Nodes: []string{leader},
					Description: fmt.Sprintf("%s.%s: %s's final record holds %s, which no update of the history wrote", record, field, leader, v)})
			}
		}
	}
	if len(s.bad) > 0 {
		return Result{Valid: Unknown, Error: strings.Join(s.bad[:min(len(s.bad), 5)], "; ")}
	}
	if judged == 0 {
		return Result{Valid: Unknown, Error: "no acknowledged set-field of a record that has a final read: nothing to judge"}
	}
	sortAnomalies(r.Anomalies)
	r.Stats["judged_updates"] = judged
	for _, k := range []string{"lost-field-edit", "lost-update", "phantom-value"} {
		r.Stats[strings.ReplaceAll(k, "-", "_")] = counts[k]
	}
	if len(r.Anomalies) > 0 {
		r.Valid = False
	}
	return r
}

// judge holds one acknowledged update against every leader's final record: the anomaly, if at
// least one leader lost it, naming the leaders that did.
func (s *fieldsStream) judge(u *fieldUpdate, byLeader map[string]map[string]string, finalIndex map[string]int64, windows []Window) (Anomaly, bool) {
	var lostAt []string
	var shown *fieldUpdate // what the first leader that lost it shows instead (nil: never set)
	var shownValue string
	var carrier *fieldUpdate
	var ops []int64
	for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
		v, ok := byLeader[leader][u.field]
		if !ok {
			v = "null"
		}
		if v == u.value {
			continue
		}
		w := s.updates[u.fieldKey][v]
		if v != "null" && w == nil {
			continue // a phantom value: reported as such
		}
		if w != nil && !w.before(u) {
			continue // a later or concurrent update of the field explains it
		}
		lostAt = append(lostAt, leader)
		ops = append(ops, finalIndex[leader])
		if len(lostAt) == 1 {
			shown, shownValue = w, v
		}
		if carrier == nil {
			carrier = s.carrierOf(u, byLeader[leader])
		}
	}
	if len(lostAt) == 0 {
		return Anomaly{}, false
	}
	a := Anomaly{Key: u.record, Item: u.field, Definite: true, Nodes: append([]string{u.node}, lostAt...),
		Ops: append([]int64{u.inv, u.done}, ops...), Nemesis: During(windows, u.start, u.end)}
	old := "the field unset"
	if shown != nil {
		old = fmt.Sprintf("%s from %s, acknowledged before it began", shownValue, shown)
		a.Ops = append(a.Ops, shown.done)
	} else if shownValue != "null" {
		old = shownValue
	}
	head := fmt.Sprintf("%s.%s: %s was acknowledged, and %s's final record holds %s", u.record, u.field, u, strings.Join(lostAt, ","), old)
	if carrier != nil {
		a.Kind = "lost-field-edit"
		a.Ops = append(a.Ops, carrier.done)
		a.Nodes = append(a.Nodes, carrier.node)
		a.Cause = "the record was replaced whole"
		a.Description = fmt.Sprintf("%s, beside %s, an edit of another field not over before it began: the record was replaced whole by a version without the edit of %s", head, carrier, u.field)
	} else {
		a.Kind = "lost-update"
		a.Description = fmt.Sprintf("%s: no later or concurrent update of %s explains it, and no update of another field carried it", head, u.field)
	}
	a.Nodes = union(a.Nodes, nil)
	return a, true
}

// carrierOf finds, in a leader's final record, an update of another field of u's record that
// was not over before u began and whose value the record shows: the write that replaced the
// record over u's edit. Of several, the one acknowledged last.
func (s *fieldsStream) carrierOf(u *fieldUpdate, record map[string]string) *fieldUpdate {
	var best *fieldUpdate
	for field, v := range record {
		if field == u.field {
			continue
		}
		c := s.updates[fieldKey{u.record, field}][v]
		if c == nil || c.typ != history.OK || c.before(u) {
			continue
		}
		if best == nil || c.end > best.end {
			best = c
		}
	}
	return best
}
