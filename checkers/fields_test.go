package checkers

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFieldsWithoutMetadata: histories as a store with no crossfire metadata writes them (no
// meta.final: the last read of each record at each leader is final), both verdicts.
func TestFieldsWithoutMetadata(t *testing.T) {
	for _, c := range []evidenceCase{
		{name: "two concurrent edits of different fields, both kept", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			1 invoke set-field p0 {"field":"address","value":"a1"} n2
			0 ok set-field p0 - n1
			1 ok set-field p0 - n2
			2 invoke read-profile p0 null n1
			2 ok read-profile p0 {"email":"e1","address":"a1"} n1
			3 invoke read-profile p0 null n2
			3 ok read-profile p0 {"email":"e1","address":"a1"} n2`, want: True},
		{name: "the record replaced whole: the email edit collapsed under the address edit", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			1 invoke set-field p0 {"field":"address","value":"a1"} n2
			0 ok set-field p0 - n1
			1 ok set-field p0 - n2
			2 invoke read-profile p0 null n1
			2 ok read-profile p0 {"email":null,"address":"a1"} n1
			3 invoke read-profile p0 null n2
			3 ok read-profile p0 {"address":"a1"} n2`, want: False, kind: "lost-field-edit", definite: true},
		{name: "two concurrent edits of one field: either may win", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			1 invoke set-field p0 {"field":"email","value":"e2"} n2
			0 ok set-field p0 - n1
			1 ok set-field p0 - n2
			2 invoke read-profile p0 null n1
			2 ok read-profile p0 {"email":"e1"} n1
			3 invoke read-profile p0 null n2
			3 ok read-profile p0 {"email":"e1"} n2`, want: True},
		{name: "an edit of one field overwritten by an older edit of it", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			0 ok set-field p0 - n1
			1 invoke set-field p0 {"field":"email","value":"e2"} n2
			1 ok set-field p0 - n2
			2 invoke read-profile p0 null n1
			2 ok read-profile p0 {"email":"e1"} n1`, want: False, kind: "lost-update", definite: true},
		{name: "an edit of unknown outcome explains the value it wrote", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			0 ok set-field p0 - n1
			1 invoke set-field p0 {"field":"email","value":"e0"} n3
			2 invoke set-field p0 {"field":"email","value":"e2"} n2
			2 ok set-field p0 - n2
			1 info set-field p0 - n3
			3 invoke read-profile p0 null n1
			3 ok read-profile p0 {"email":"e0"} n1`, want: True},
		{name: "a value nobody wrote", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			0 ok set-field p0 - n1
			1 invoke read-profile p0 null n1
			1 ok read-profile p0 {"email":"e1","name":"mallory"} n1`, want: False, kind: "phantom-value", definite: true},
		{name: "no final record of the profile written", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			0 ok set-field p0 - n1
			1 invoke read-profile p1 null n1
			1 ok read-profile p1 {} n1`, want: Unknown},
		{name: "one value written twice names no one write", checker: Fields{}, history: `
			0 invoke set-field p0 {"field":"email","value":"e1"} n1
			0 ok set-field p0 - n1
			1 invoke set-field p0 {"field":"email","value":"e1"} n2
			1 ok set-field p0 - n2
			2 invoke read-profile p0 null n1
			2 ok read-profile p0 {"email":"e1"} n1`, want: Unknown},
	} {
		t.Run(c.name, c.run)
	}
}

// TestFieldsNamesTheCarrier: the collapse names the update that carried the old value, its
// leader, the leader whose final record lost the edit, and a lost update of the same field does
// not pass for a collapse when the record holds a later edit of another field only from before.
func TestFieldsNamesTheCarrier(t *testing.T) {
	r := Run(context.Background(), Fields{}, in(handWritten(t, `
		0 invoke set-field p0 {"field":"name","value":"n0"} n3
		0 ok set-field p0 - n3
		1 invoke set-field p0 {"field":"email","value":"e1"} n1
		2 invoke set-field p0 {"field":"address","value":"a1"} n2
		1 ok set-field p0 - n1
		2 ok set-field p0 - n2
		3 invoke read-profile p0 null n1
		3 ok read-profile p0 {"name":"n0","email":"e1","address":"a1"} n1
		4 invoke read-profile p0 null n2
		4 ok read-profile p0 {"name":"n0","address":"a1"} n2`)))
	require.Equal(t, False, r.Valid, "%s", r)
	require.Len(t, r.Anomalies, 1)
	a := r.Anomalies[0]
	assert.Equal(t, "lost-field-edit", a.Kind)
	assert.Equal(t, "p0", a.Key)
	assert.Equal(t, "email", a.Item)
	assert.Equal(t, []string{"n1", "n2"}, a.Nodes)
	assert.Contains(t, a.Description, `n2's final record holds the field unset`)
	assert.Contains(t, a.Description, `the update of address to "a1" (op 5 at n2)`)
	assert.Equal(t, 1, r.Stats["lost_field_edit"])

	// The name edit was over before the email edit began: it cannot have carried anything over it.
	r = Run(context.Background(), Fields{}, in(handWritten(t, `
		0 invoke set-field p0 {"field":"name","value":"n0"} n3
		0 ok set-field p0 - n3
		1 invoke set-field p0 {"field":"email","value":"e1"} n1
		1 ok set-field p0 - n1
		2 invoke read-profile p0 null n2
		2 ok read-profile p0 {"name":"n0"} n2`)))
	require.Equal(t, False, r.Valid, "%s", r)
	assert.Equal(t, "lost-update", r.Anomalies[0].Kind)
	assert.True(t, strings.Contains(r.Anomalies[0].Description, "no update of another field carried it"), r.Anomalies[0].Description)
}

// TestFieldsNotApplicable: a history with no profile op is not the checker's.
func TestFieldsNotApplicable(t *testing.T) {
	r := Run(context.Background(), Fields{}, in(handWritten(t, `
		0 invoke write r0 1 n1
		0 ok write r0 - n1`)))
	assert.Equal(t, Unknown, r.Valid)
	assert.Contains(t, r.NotApplicable, "no profile op")
}
