package checkers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
)

// WellFormed checks the history's own rules (indices, times, sequential processes). A history
// that breaks them was not recorded as HISTORY.md promises, so no verdict on it can be trusted:
// the result is unknown, never false, because the store did nothing wrong.
type WellFormed struct{}

// WellFormedName is the checker's name.
const WellFormedName = "well-formed"

// Name implements Checker.
func (WellFormed) Name() string { return WellFormedName }

// Check implements Checker.
func (w WellFormed) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, w, in)
}

// Stream implements Streamer: it reads the format facts (formatCheck), which a pass gathers
// once for every checker, since what it finds makes every other verdict uncertain.
func (WellFormed) Stream(in Input) Stream { return &wellFormedStream{f: newFormatCheck()} }

type wellFormedStream struct{ f *formatCheck }

func (s *wellFormedStream) Observe(op history.Op) { s.f.Observe(op) }

// Facts implements FactStream.
func (s *wellFormedStream) Facts() (string, Facts) { return formatFacts, s.f }

// OnFacts implements FactStream.
func (s *wellFormedStream) OnFacts(f Facts) Stream { return &wellFormedStream{f: f.(*formatCheck)} }

func (s *wellFormedStream) Result(context.Context) Result {
	if err := s.f.v.Err(); err != nil {
		return Result{Valid: Unknown, Error: "the history breaks its format: " + err.Error()}
	}
	if !s.f.clients {
		// Well-formed, and nothing in it to judge: that alone is no verdict.
		return notApplicable(fmt.Sprintf("the history holds no client operation (%d lines)", s.f.n))
	}
	return Result{Valid: True, Stats: map[string]any{"ops": s.f.n}}
}

// Catalog lists the checkers by name, each with its defaults.
var Catalog = map[string]Checker{
	LinearizableName: Linearizable{},
	WellFormedName:   WellFormed{},
	DedupName:        Dedup{},
	OversellName:     Oversell{},
	ConvergenceName:  Convergence{},
	CartName:         CartChecker{},
	ConflictsName:    Conflicts{},
	FieldsName:       Fields{},
	UniquenessName:   Uniqueness{},
	IsolationName:    Isolation{},
}

// Names lists the catalog, sorted.
func Names() []string { return slices.Sorted(maps.Keys(Catalog)) }

// Lookup finds the named checkers, or says which names there are.
func Lookup(names []string) ([]Checker, error) {
	var out []Checker
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		c, ok := Catalog[n]
		if !ok {
			return nil, fmt.Errorf("unknown checker %q (valid: %s)", n, strings.Join(Names(), ", "))
		}
		out = append(out, c)
	}
	return out, nil
}
