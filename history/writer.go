package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/crossfire-dev/crossfire/history/jsonscan"
)

// FlushInterval bounds how long an appended op may sit in memory before it is written and
// fsynced: an interrupted run loses at most this much of its history.
const FlushInterval = 200 * time.Millisecond

// Writer appends ops to a history file. Append only encodes into memory; a background goroutine
// writes and fsyncs the file every FlushInterval, and Sync does so at once (the harness calls it
// at every phase boundary). Writer is safe for concurrent use. It assigns Index and Time itself,
// under one lock, so the file's order, its indices and its times always agree.
type Writer struct {
	f     *os.File
	start time.Time

	mu     sync.Mutex
	buf    *bytes.Buffer
	spare  *bytes.Buffer
	next   int64
	lastT  int64
	err    error // the first write or sync error; reported by Sync and Close
	closed bool

	flushMu sync.Mutex // one flush at a time, outside mu so Append never waits on disk
	stop    chan struct{}
	done    chan struct{}
}

// Create creates (or truncates) the history file at path and starts its flusher. start is the
// run's start on the monotonic clock: every op's Time is measured from it.
func Create(path string, start time.Time) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		f:     f,
		start: start,
		buf:   new(bytes.Buffer),
		spare: new(bytes.Buffer),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.flusher()
	return w, nil
}

func (w *Writer) flusher() {
	defer close(w.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Sync()
		case <-w.stop:
			return
		}
	}
}

// Append stamps op with the next index and the current time and queues it for the file. It
// never waits on disk. The stamped op is returned. Appending to a closed Writer is an error.
func (w *Writer) Append(op Op) (Op, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return op, errors.New("history: append to a closed writer")
	}
	t := time.Since(w.start).Nanoseconds()
	if t < w.lastT {
		t = w.lastT
	}
	w.lastT = t
	op.Index = w.next
	op.Time = t
	if err := appendLine(w.buf, op); err != nil {
		return op, err
	}
	w.next++
	return op, nil
}

// Len is the number of ops appended so far.
func (w *Writer) Len() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.next
}

// appendLine encodes op as one JSON line onto buf. On an encoding error (a Meta value that JSON
// cannot hold) the meta is replaced by its error so that the op itself is never lost.
func appendLine(buf *bytes.Buffer, op Op) error {
	buf.Grow(len(op.Value) + len(op.Meta) + len(op.Key) + len(op.Error) + 160)
	if b, ok := appendFast(buf.AvailableBuffer(), op); ok {
		buf.Write(b)
		buf.WriteByte('\n')
		return nil
	}
	b, err := Marshal(op)
	if err != nil {
		op.Meta = Value(map[string]string{"encode-error": err.Error()})
		if b, err = Marshal(op); err != nil {
			return fmt.Errorf("history: encoding op %d: %w", op.Index, err)
		}
	}
	buf.Write(b)
	buf.WriteByte('\n')
	return nil
}

// Sync writes everything appended so far to the file and fsyncs it.
func (w *Writer) Sync() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	full := w.buf
	w.buf, w.spare = w.spare, nil
	w.mu.Unlock()

	var err error
	if full.Len() > 0 {
		if _, err = w.f.Write(full.Bytes()); err == nil {
			err = w.f.Sync()
		}
	}
	full.Reset()

	w.mu.Lock()
	defer w.mu.Unlock()
	w.spare = full
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("history: writing %s: %w", w.f.Name(), err)
	}
	return w.err
}

// Close flushes, fsyncs and closes the file. It is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	err := w.Sync()
	return errors.Join(err, w.f.Close())
}

// WriteFile writes ops to path as a complete history, unchanged (indices and times as given).
// Tests and fixtures use it; runs use Writer.
func WriteFile(path string, ops []Op) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf bytes.Buffer
	for _, op := range ops {
		buf.Reset()
		if err = appendLine(&buf, op); err != nil {
			break
		}
		if _, err = w.Write(buf.Bytes()); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	return errors.Join(err, f.Close())
}

// appendFast appends op as Marshal writes it, without reflection, when every string is plain
// (jsonscan's: ASCII, no quote, backslash or control character) and its value and meta are
// compact JSON with plain strings; false leaves the op to Marshal.
func appendFast(b []byte, op Op) ([]byte, bool) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return false
			}
		}
		return true
	}
	if !plain(string(op.Type)) || !plain(op.F) || !plain(op.Key) || !plain(op.Node) || !plain(op.Req) || !plain(op.Error) {
		return b, false
	}
	for _, raw := range []json.RawMessage{op.Value, op.Meta} {
		if len(raw) > 0 {
			if end, ok := jsonscan.Value(raw, 0, false); !ok || end != len(raw) {
				return b, false
			}
		}
	}
	str := func(name, v string) {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":"`...)
		b = append(b, v...)
		b = append(b, '"')
	}
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, op.Index, 10)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, op.Time, 10)
	b = append(b, `,"process":`...)
	b = strconv.AppendInt(b, int64(op.Process), 10)
	str("type", string(op.Type))
	str("f", op.F)
	if op.Key != "" {
		str("key", op.Key)
	}
	if len(op.Value) > 0 {
		b = append(b, `,"value":`...)
		b = append(b, op.Value...)
	}
	if op.Node != "" {
		str("node", op.Node)
	}
	if op.Req != "" {
		str("req", op.Req)
	}
	if op.Error != "" {
		str("error", op.Error)
	}
	if len(op.Meta) > 0 {
		b = append(b, `,"meta":`...)
		b = append(b, op.Meta...)
	}
	return append(b, '}'), true
}
