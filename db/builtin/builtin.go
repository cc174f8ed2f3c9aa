// Package builtin registers the databases crossfire ships with the db catalog; importing it
// (the harness does) makes them available by name. A database of your own registers itself the
// same way, with db.Register, from wherever it lives.
package builtin

import (
	_ "crossfire/db/pglogical" // PostgreSQL 15 with pglogical, in containers
	_ "crossfire/db/regionkv"  // regionkv, the store crossfire ships
)
