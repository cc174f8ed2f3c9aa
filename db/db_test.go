package db

import (
	"context"
	"testing"

	"github.com/crossfire-dev/crossfire/clusters"
)

type fake string

func (f fake) Name() string { return string(f) }
func (fake) Spec() Spec     { return Spec{} }
func (fake) Start(context.Context, Setup) (clusters.Cluster, error) {
	return nil, nil
}
func (fake) Open(context.Context, ClientConfig) (Client, error) { return nil, nil }

// The default database is the one SetDefault named; without one, the catalog's only database;
// with several and none named, there is none, and a test must name its database.
func TestDefault(t *testing.T) {
	// A catalog of its own, so that the test runs the same however often it runs.
	catalog.Lock()
	saved, savedDef := catalog.m, catalog.def
	catalog.m, catalog.def = map[string]DB{}, ""
	catalog.Unlock()
	t.Cleanup(func() {
		catalog.Lock()
		catalog.m, catalog.def = saved, savedDef
		catalog.Unlock()
	})
	Register(fake("a"))
	if Default() != "a" {
		t.Fatalf("one database, default %q", Default())
	}
	if d, err := Lookup(""); err != nil || d.Name() != "a" {
		t.Fatalf("Lookup(\"\"): %v, %v", d, err)
	}
	Register(fake("b"))
	if Default() != "" {
		t.Fatalf("two databases and none named, default %q", Default())
	}
	if _, err := Lookup(""); err == nil {
		t.Fatal("Lookup(\"\") found a database with none the default")
	}
	SetDefault("b")
	if Default() != "b" {
		t.Fatalf("default %q after SetDefault(b)", Default())
	}
}
