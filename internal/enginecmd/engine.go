// Package enginecmd is what crossfire-engine links beyond package cli: the databases crossfire
// ships, in the catalog, with the container runtime their clusters start with; the clean
// command, which removes what that runtime left; and serve, whose HTTP server check and report
// need not pay for at start-up. Importing it is what makes a binary able to run tests.
package enginecmd

import (
	_ "github.com/crossfire-dev/crossfire/db/builtin" // the databases crossfire ships, in the catalog
	"github.com/crossfire-dev/crossfire/internal/cli"
)

func init() {
	cli.Add("clean", cleanCmd)
	cli.Add("serve", serveCmd)
}
