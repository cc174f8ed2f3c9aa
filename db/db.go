// Package db is the seam between crossfire and the database under test, after Jepsen's db and
// client protocols. A DB is a value in a catalog, listed by name like the nemeses and the
// workloads: it says, as plain data (Spec), which cluster kinds it can start, which workloads it
// has clients for and which options of its own it takes; Start starts its leaders; Open opens a
// Client of one workload against one leader, which carries out one operation at a time and
// returns its completion.
//
// What a database can suffer is found on its running cluster by type assertion (the capability
// interfaces of package clusters). Each Kind of a Spec holds a zero value of the cluster type
// Start returns, so that a nemesis the database cannot support is refused before anything
// starts. Adding a database is: a folder under db/ with a DB, its clients and its clusters, and
// a call to Register (the built-in ones register from db/builtin).
package db

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crossfire-dev/crossfire/clusters"
	"github.com/crossfire-dev/crossfire/history"
)

// DB is one database under test.
type DB interface {
	// Name is its name in the catalog (--db NAME).
	Name() string
	// Spec says what it can be asked for.
	Spec() Spec
	// Start starts s.Nodes leaders on the cluster kind s.Kind, configured for s.Workload with
	// s.Options, and waits until every one answers. A cluster that started in part is returned
	// with the error, so that the caller can Close it.
	Start(ctx context.Context, s Setup) (clusters.Cluster, error)
	// Open opens a client of c.Workload against the leader c.Node.
	Open(ctx context.Context, c ClientConfig) (Client, error)
}

// Client is one connection of one workload's client to one leader (Jepsen's client). The
// harness opens one per worker and leader, invokes one operation at a time, and after an
// operation whose outcome is unknown closes it and goes on with a fresh one.
type Client interface {
	// Invoke carries op out and returns its completion: Type ok (it happened; Value holds the
	// result), fail (it certainly did not take effect) or info (anything else: a timeout, a lost
	// connection, an answer that says maybe), with Error saying why it is not ok and Meta what
	// the database told of it (HISTORY.md names the metadata the checkers use). The harness
	// fills in the process, f, key, node and req. Invoke must return within ctx and the
	// client's timeout; an operation it cannot read or carry out is a fail.
	Invoke(ctx context.Context, op history.Op) history.Op
	// Close releases the connection.
	Close() error
}

// Spec is what a database can be asked for, as plain data.
type Spec struct {
	// About is one line for `crossfire help`.
	About string
	// Kinds are the cluster kinds it can start; the first is its default.
	Kinds []Kind
	// Workloads are those it has clients for.
	Workloads []string
	// Options are, per workload, the options it takes of its own (its conflict-resolution
	// strategy and the like): a flag of `crossfire run` each.
	Options map[string][]Option
}

// Kind is a way a database's leaders run: local processes, containers …
type Kind struct {
	Name  string // local, docker
	About string
	// Cluster is a zero value of the cluster type Start returns on this kind (a nil pointer is
	// fine): the capabilities it implements are what nemeses may ask of it, checked by type
	// assertion before anything starts.
	Cluster clusters.Cluster
}

// Option is one of a database's own options.
type Option struct {
	Name  string // its flag and its key in Setup.Options: strategy, stock …
	Usage string
	// Values are the valid values, the default first; none means any value, "" by default.
	Values []string
	// Named puts the option in a test's default name as name-value, and only where its value is
	// not the default: for settings whose bare values ("0", "on") would say nothing there.
	Named bool
}

// Setup is what Start is asked to start.
type Setup struct {
	Kind     string
	Nodes    int    // leaders n1 … nN
	Workload string // the workload the run drives
	// Options are the database's own options for the workload, checked and with every default
	// filled in (Spec.Resolve).
	Options map[string]string
	// Dir is the run folder. A database may keep what its nodes write under Dir/nodes/<node>/,
	// the folder that ArtifactCollector fills.
	Dir string
	// Log is told what is being started, for people (a container cluster's run id, …).
	Log io.Writer
}

// ClientConfig is what Open is asked to open.
type ClientConfig struct {
	Workload string
	Node     clusters.Node
	Timeout  time.Duration // per operation: a client that waits longer completes info (a read, fail)
	Options  map[string]string
}

// Kind finds the named kind, or says which there are.
func (s Spec) Kind(name string) (Kind, error) {
	for _, k := range s.Kinds {
		if k.Name == name {
			return k, nil
		}
	}
	var names []string
	for _, k := range s.Kinds {
		names = append(names, k.Name)
	}
	return Kind{}, fmt.Errorf("cannot start a %s cluster (valid: %s)", name, strings.Join(names, ", "))
}

// Resolve checks options against what the database takes for workload and fills in the
// defaults. An option it does not take, or a value it does not know, is an error naming what
// is valid.
func (s Spec) Resolve(workload string, options map[string]string) (map[string]string, error) {
	if !slices.Contains(s.Workloads, workload) {
		return nil, fmt.Errorf("has no client for the %s workload (it has: %s)", workload, strings.Join(s.Workloads, ", "))
	}
	takes := s.Options[workload]
	out := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(options)) {
		i := slices.IndexFunc(takes, func(o Option) bool { return o.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("takes no --%s for the %s workload (%s)", name, workload, describe(takes))
		}
		if v := options[name]; len(takes[i].Values) > 0 && !slices.Contains(takes[i].Values, v) {
			return nil, fmt.Errorf("has no %s %q for the %s workload (valid: %s)", name, v, workload, strings.Join(takes[i].Values, ", "))
		}
		out[name] = options[name]
	}
	for _, o := range takes {
		if _, set := out[o.Name]; !set && len(o.Values) > 0 {
			out[o.Name] = o.Values[0]
		}
	}
	return out, nil
}

// describe lists options for an error message.
func describe(opts []Option) string {
	if len(opts) == 0 {
		return "it takes no options there"
	}
	var names []string
	for _, o := range opts {
		names = append(names, "--"+o.Name)
	}
	return "its options there: " + strings.Join(names, ", ")
}

var catalog = struct {
	sync.RWMutex
	m   map[string]DB
	def string
}{m: map[string]DB{}}

// SetDefault makes the named database the one a test runs against when it names none (the
// built-in catalog makes its own store the default).
func SetDefault(name string) {
	catalog.Lock()
	defer catalog.Unlock()
	catalog.def = name
}

// Default is the database a test runs against when it names none: the one SetDefault named, or
// the catalog's only database, or "" when there is no telling.
func Default() string {
	catalog.RLock()
	defer catalog.RUnlock()
	if catalog.def != "" {
		return catalog.def
	}
	if len(catalog.m) == 1 {
		for name := range catalog.m {
			return name
		}
	}
	return ""
}

// Register adds d to the catalog under its name, in place of any database of that name.
func Register(d DB) {
	catalog.Lock()
	defer catalog.Unlock()
	catalog.m[d.Name()] = d
}

// Names lists the catalog, sorted.
func Names() []string {
	catalog.RLock()
	defer catalog.RUnlock()
	return slices.Sorted(maps.Keys(catalog.m))
}

// Lookup finds the named database ("" is Default), or says which there are.
func Lookup(name string) (DB, error) {
	if name == "" {
		if name = Default(); name == "" {
			return nil, fmt.Errorf("no database named and no default one (valid: %s)", strings.Join(Names(), ", "))
		}
	}
	catalog.RLock()
	d, ok := catalog.m[name]
	catalog.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown database %q (valid: %s)", name, strings.Join(Names(), ", "))
	}
	return d, nil
}
