// Package txnmatrix runs pglogical's rows of the validation matrix for transactions over many
// keys (list-append and rw-register) in a test binary of its own, apart from
// db/pglogical/matrixtest, so that each package stays well inside go test's per-package limit
// on a loaded machine.
package txnmatrix
