// Package crossfire is a Jepsen-style fault-injection harness for multi-leader replication. It
// starts a cluster of the database under test, drives workloads at every leader while nemeses
// cut links, skew clocks, kill and pause nodes and make clients retry, records every operation
// in a history (package history), and judges that history with checkers (package checkers)
// that are pure functions of it. Every run leaves a folder (package runfolder) with the test,
// the history, the verdicts and a report (package report); package harness wires the parts,
// package matrix proves the verdicts in both directions, and each database under test is a
// plug-in under db/.
//
// The packages stand in layers, each importing only those of its own layer or below; the
// README's Layout section lists them, and this package's tests hold the code to both.
package crossfire
