package history

import (
	"errors"
	"fmt"
)

// Validator checks, op by op, the rules of HISTORY.md that span lines: indices count up from 0,
// time never decreases, and every process is sequential (an invoke is followed on its process
// by one completion with the same f and key, and a process that ended in info never invokes
// again). It holds one entry per process, not the history.
type Validator struct {
	next     int64
	lastTime int64
	open     Matcher[pendingOp] // the pending invoke of each process
	crashed  map[int]bool       // processes whose last op ended in info
	errs     []error
	maxErrs  int
}

// pendingOp is what the Validator keeps of an open invoke: small enough for a map to hold it
// in place.
type pendingOp struct {
	Index  int64
	F, Key string
}

// NewValidator returns a Validator that keeps at most maxErrs errors (0 means 100).
func NewValidator(maxErrs int) *Validator {
	if maxErrs <= 0 {
		maxErrs = 100
	}
	return &Validator{crashed: map[int]bool{}, maxErrs: maxErrs}
}

func (v *Validator) fail(op Op, format string, args ...any) {
	if len(v.errs) < v.maxErrs {
		v.errs = append(v.errs, fmt.Errorf("op %d: %s", op.Index, fmt.Sprintf(format, args...)))
	}
}

// Add checks op against the ops added before it.
func (v *Validator) Add(op Op) {
	if op.Index != v.next {
		v.fail(op, "index %d where %d was expected", op.Index, v.next)
	}
	v.next = op.Index + 1
	if op.Time < v.lastTime {
		v.fail(op, "time %d is before the previous op's %d", op.Time, v.lastTime)
	}
	v.lastTime = op.Time
	if !op.Type.Valid() {
		v.fail(op, "unknown type %q", op.Type)
		return
	}
	switch op.Type {
	case Invoke:
		if pending, isOpen := v.open.Invoke(op, pendingOp{op.Index, op.F, op.Key}); isOpen {
			v.fail(op, "process %d invokes while its op %d is still open", op.Process, pending.Index)
		}
		if v.crashed[op.Process] && !op.IsNemesis() {
			v.fail(op, "process %d invokes after an info completion; a fresh process must be used", op.Process)
		}
	default:
		pending, isOpen := v.open.Complete(op)
		if !isOpen {
			v.fail(op, "%s completion on process %d with no open invoke", op.Type, op.Process)
			return
		}
		if pending.F != op.F || pending.Key != op.Key {
			v.fail(op, "completion %s/%q does not match invoke %d's %s/%q", op.F, op.Key, pending.Index, pending.F, pending.Key)
		}
		if op.Type == Info {
			v.crashed[op.Process] = true
		}
	}
}

// Err joins the errors found so far, or returns nil for a valid history. Open invokes at the
// end are not errors: an interrupted history's pending ops are read as info.
func (v *Validator) Err() error { return errors.Join(v.errs...) }

// Validate checks a whole history.
func Validate(ops []Op) error {
	v := NewValidator(0)
	for _, op := range ops {
		v.Add(op)
	}
	return v.Err()
}
