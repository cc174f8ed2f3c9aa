// Package builtin registers the databases crossfire ships with the db catalog; importing it
// (the harness does) makes them available by name. A database of your own registers itself the
// same way, with db.Register, from wherever it lives.
package builtin

import (
	"github.com/crossfire-dev/crossfire/db"
	_ "github.com/crossfire-dev/crossfire/db/mariadb"   // MariaDB 11.8 and 10.11, Galera or async, in containers
	_ "github.com/crossfire-dev/crossfire/db/pglogical" // PostgreSQL 15 with pglogical, in containers
	"github.com/crossfire-dev/crossfire/db/regionkv"    // regionkv, the store crossfire ships
)

// regionkv, the store crossfire ships, is what a test runs against when it names no database.
func init() { db.SetDefault(regionkv.Name) }
