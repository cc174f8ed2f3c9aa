// Package matrixtest runs PostgreSQL with pglogical's validation matrix (db/pglogical's Matrix)
// in a test binary of its own, apart from the package's cluster tests, so that each stays well
// inside go test's per-package limit on a loaded machine.
package matrixtest
