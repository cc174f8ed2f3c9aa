package checkers

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUniquenessWithoutMetadata: claims histories as a store with no crossfire metadata writes
// them (the last read of each name at each leader is final), both verdicts.
func TestUniquenessWithoutMetadata(t *testing.T) {
	for _, c := range []evidenceCase{
		{name: "one owner, then another after a release", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			0 ok claim name0 - n1
			1 invoke release name0 "o1" n1
			1 ok release name0 - n1
			2 invoke claim name0 "o2" n2
			2 ok claim name0 - n2
			3 invoke read-owner name0 null n1
			3 ok read-owner name0 "o2" n1
			4 invoke read-owner name0 null n2
			4 ok read-owner name0 "o2" n2`, want: True},
		{name: "a second claim refused while the first holds", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			0 ok claim name0 - n1
			1 invoke claim name0 "o2" n2
			1 fail claim name0 - n2
			2 invoke read-owner name0 null n2
			2 ok read-owner name0 "o1" n2`, want: True},
		{name: "two owners both told the name is theirs", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			1 invoke claim name0 "o2" n2
			0 ok claim name0 - n1
			1 ok claim name0 - n2
			2 invoke read-owner name0 null n1
			2 ok read-owner name0 "o2" n1`, want: False, kind: "double-claim", definite: true},
		{name: "a release of unknown outcome may come between the claims", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			0 ok claim name0 - n1
			1 invoke release name0 "o1" n3
			2 invoke claim name0 "o2" n2
			2 ok claim name0 - n2
			1 info release name0 - n3
			3 invoke read-owner name0 null n1
			3 ok read-owner name0 "o2" n1`, want: True},
		{name: "an acknowledged claim gone without a release", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			0 ok claim name0 - n1
			1 invoke read-owner name0 null n1
			1 ok read-owner name0 null n1`, want: False, kind: "lost-claim", definite: true},
		{name: "no acknowledged claim: nothing judged", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			0 fail claim name0 - n1
			1 invoke read-owner name0 null n1
			1 ok read-owner name0 null n1`, want: Unknown},
		{name: "one owner claiming twice names no one claim", checker: Uniqueness{}, history: `
			0 invoke claim name0 "o1" n1
			0 ok claim name0 - n1
			1 invoke claim name0 "o1" n2
			1 ok claim name0 - n2
			2 invoke read-owner name0 null n1
			2 ok read-owner name0 "o1" n1`, want: Unknown},
	} {
		t.Run(c.name, c.run)
	}
}

// TestUniquenessNamesBothOwners: a double claim names both claims, their leaders, and the lost
// one is a lost claim as well.
func TestUniquenessNamesBothOwners(t *testing.T) {
	r := Run(context.Background(), Uniqueness{}, in(handWritten(t, `
		0 invoke claim name0 "o1" n1
		1 invoke claim name0 "o2" n2
		0 ok claim name0 - n1
		1 ok claim name0 - n2
		2 invoke read-owner name0 null n1
		2 ok read-owner name0 "o2" n1
		3 invoke read-owner name0 null n2
		3 ok read-owner name0 "o2" n2`)))
	require.Equal(t, False, r.Valid, "%s", r)
	kinds := map[string]Anomaly{}
	for _, a := range r.Anomalies {
		kinds[a.Kind] = a
	}
	require.Contains(t, kinds, "double-claim")
	require.Contains(t, kinds, "lost-claim")
	assert.Equal(t, []string{"n1", "n2"}, kinds["double-claim"].Nodes)
	assert.Contains(t, kinds["double-claim"].Description, "o1 (op 2 at n1)")
	assert.Contains(t, kinds["double-claim"].Description, "o2 (op 3 at n2)")
	assert.Contains(t, kinds["lost-claim"].Description, "n1,n2's final read shows o2")
	assert.Equal(t, 1, r.Stats["double_claims"])
}
