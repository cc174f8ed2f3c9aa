package clusters

import "testing"

func TestParseLink(t *testing.T) {
	l, err := ParseLink("n1->n2")
	if err != nil || l != (Link{From: "n1", To: "n2"}) || l.String() != "n1->n2" {
		t.Fatalf("%v %v", l, err)
	}
	for _, bad := range []string{"n1", "->n2", "n1->", ""} {
		if _, err := ParseLink(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
