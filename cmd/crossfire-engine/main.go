// Command crossfire-engine is the whole of crossfire: every command of cli, with the databases of
// the catalog and the container runtime linked in. People type crossfire, which runs check,
// report and version itself and hands every other command to this binary; go install
// ./cmd/... installs the two side by side.
package main

import (
	"os"

	"github.com/crossfire-dev/crossfire/internal/cli"
	_ "github.com/crossfire-dev/crossfire/internal/enginecmd" // the catalog's databases and the clean command
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
