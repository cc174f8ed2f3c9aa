// Package binaries tests crossfire and crossfire-engine as people run them: built with go build,
// executed, timed. It holds no code; it is a package of its own so that its builds run beside
// cmd/crossfire's own tests rather than after them.
package binaries
