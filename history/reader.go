package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxLineBytes bounds one history line; a longer line is rejected rather than read into memory.
const MaxLineBytes = 64 << 20

// LineError is a history line that could not be read: its 1-based line number and why.
type LineError struct {
	Line int64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Reader streams ops from a history. A final line with no line end that does not parse is the
// trace of an interrupted run, not a malformed history: Next returns io.EOF before it and
// Truncated reports it. Every other bad line is a *LineError.
type Reader struct {
	r         *bufio.Reader
	long      []byte // a line longer than the buffer is put together here, reused line after line
	in        interner
	line      int64
	truncated bool
}

// NewReader reads a history from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<16)}
}

// Truncated reports whether the history ended in a partly written line, which was skipped.
func (r *Reader) Truncated() bool { return r.truncated }

// Line is the number of lines read so far.
func (r *Reader) Line() int64 { return r.line }

// Next returns the next op, or io.EOF at the end of the history.
func (r *Reader) Next() (Op, error) {
	b, complete, err := r.readLine()
	var blank int64 // the first of the blank lines just read
	for err == nil {
		var empty bool
		if b, empty = lineContent(b, r.line); !empty {
			break
		}
		if blank == 0 {
			blank = r.line
		}
		b, complete, err = r.readLine() // blank lines at the end of a file hold no op
	}
	if err != nil {
		return Op{}, err
	}
	if blank > 0 {
		return Op{}, emptyLine(blank)
	}
	op, cut, err := decodeLine(b, r.line, complete, &r.in)
	if cut {
		r.truncated = true
		return Op{}, io.EOF
	}
	return op, err
}

// lineContent is a line as the format reads it: without the byte order mark some editors write
// before the first line, and without the \r of a line end written as \r\n; empty when nothing
// but white space is left.
func lineContent(b []byte, line int64) ([]byte, bool) {
	if line == 1 {
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, len(bytes.TrimSpace(b)) == 0
}

// emptyLine is the error of a blank line between ops, which is not one of the format's lines.
func emptyLine(line int64) error { return &LineError{Line: line, Err: errors.New("empty line")} }

// decodeLine decodes a line that is not blank. cut says that it does not parse and had no line
// end: the last line, being written when the run stopped, which is skipped rather than wrong.
func decodeLine(b []byte, line int64, complete bool, in *interner) (op Op, cut bool, err error) {
	op, ok := parseFast(b, in)
	if ok {
		return op, false, nil
	}
	if op, err = parseSlow(b); err != nil {
		if !complete {
			return Op{}, true, nil
		}
		return Op{}, false, &LineError{Line: line, Err: err}
	}
	return op, false, nil
}

// readLine returns the next line without its line end, and whether it had one.
func (r *Reader) readLine() ([]byte, bool, error) {
	var long []byte
	defer func() {
		if cap(long) > cap(r.long) {
			r.long = long[:0]
		}
	}()
	for {
		chunk, err := r.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if long == nil {
				long = r.long[:0]
			}
			long = append(long, chunk...)
			if len(long) > MaxLineBytes {
				r.line++
				return nil, false, &LineError{Line: r.line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
			}
			continue
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		if err == io.EOF {
			if len(chunk) == 0 {
				return nil, false, io.EOF
			}
			r.line++
			return chunk, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		r.line++
		return chunk[:len(chunk)-1], true, nil
	}
}

// raw mirrors Op with pointers for the required fields, to tell absent from zero.
type raw struct {
	Index   *int64          `json:"index"`
	Time    *int64          `json:"time"`
	Process *int            `json:"process"`
	Type    *Type           `json:"type"`
	F       *string         `json:"f"`
	Key     string          `json:"key"`
	Value   json.RawMessage `json:"value"`
	Node    string          `json:"node"`
	Req     string          `json:"req"`
	Error   string          `json:"error"`
	Meta    json.RawMessage `json:"meta"`
}

// ParseLine decodes one history line. Unknown fields are accepted; a line that is not a JSON
// object, lacks a required field or has an unknown type is an error. Lines of the shape the
// Writer produces take a fast path; everything else, errors included, goes through
// encoding/json, and the two agree (FuzzParseLine holds them to it).
func ParseLine(b []byte) (Op, error) {
	if op, ok := parseFast(b, nil); ok {
		return op, nil
	}
	return parseSlow(b)
}

func parseSlow(b []byte) (Op, error) {
	b = bytes.TrimRight(b, "\r")
	t := bytes.TrimLeft(b, " \t")
	if len(t) == 0 {
		return Op{}, errors.New("empty line")
	}
	if t[0] != '{' {
		return Op{}, errors.New("not a JSON object")
	}
	var r raw
	if err := json.Unmarshal(b, &r); err != nil {
		return Op{}, fmt.Errorf("not a JSON object: %v", err)
	}
	var missing []string
	if r.Index == nil {
		missing = append(missing, "index")
	}
	if r.Time == nil {
		missing = append(missing, "time")
	}
	if r.Process == nil {
		missing = append(missing, "process")
	}
	if r.Type == nil {
		missing = append(missing, "type")
	}
	if r.F == nil {
		missing = append(missing, "f")
	}
	if len(missing) > 0 {
		return Op{}, fmt.Errorf("missing required field(s) %v", missing)
	}
	if !r.Type.Valid() {
		return Op{}, fmt.Errorf("type %q is not invoke, ok, fail or info", *r.Type)
	}
	if r.Value != nil && bytes.Equal(r.Value, []byte("null")) {
		r.Value = Null
	}
	if bytes.Equal(r.Meta, []byte("null")) {
		r.Meta = nil
	}
	if len(r.Meta) > 0 && r.Meta[0] != '{' {
		return Op{}, errors.New("meta is not a JSON object")
	}
	return Op{
		Index: *r.Index, Time: *r.Time, Process: *r.Process, Type: *r.Type, F: *r.F,
		Key: r.Key, Value: r.Value, Node: r.Node, Req: r.Req, Error: r.Error, Meta: r.Meta,
	}, nil
}

// ReadAll reads a whole history. truncated reports a partly written last line (skipped).
func ReadAll(r io.Reader) (ops []Op, truncated bool, err error) {
	hr := NewReader(r)
	for {
		op, err := hr.Next()
		if err == io.EOF {
			return ops, hr.Truncated(), nil
		}
		if err != nil {
			return ops, hr.Truncated(), err
		}
		ops = append(ops, op)
	}
}

// ReadFile reads the history file at path.
func ReadFile(path string) (ops []Op, truncated bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	ops, truncated, err = ReadAll(f)
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return ops, truncated, err
}
