package local

import (
	"os"

	"github.com/crossfire-dev/crossfire/db/regionkv/server"
)

// reexecEnv marks a process started by this package as a regionkv node.
const reexecEnv = "CROSSFIRE_REGIONKV_NODE"

// Any binary that links this package (crossfire itself, and every test binary that starts an
// embedded cluster) can serve as a node: started with reexecEnv set, it runs regionkv and exits
// before its own main, or the testing framework, ever runs.
func init() {
	if os.Getenv(reexecEnv) == "1" {
		os.Exit(server.Main(os.Args[1:], os.Stderr))
	}
}
