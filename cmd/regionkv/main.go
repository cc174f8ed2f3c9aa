// Command regionkv runs one leader of the multi-leader store that crossfire tests.
package main

import (
	"os"

	"crossfire/clusters/regionkv"
)

func main() { os.Exit(regionkv.Main(os.Args[1:], os.Stderr)) }
