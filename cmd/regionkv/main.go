// Command regionkv runs one leader of the multi-leader store that crossfire tests.
package main

import (
	"os"

	"github.com/crossfire-dev/crossfire/db/regionkv/server"
)

func main() { os.Exit(server.Main(os.Args[1:], os.Stderr)) }
