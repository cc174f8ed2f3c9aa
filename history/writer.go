package history

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
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
	var buf bytes.Buffer
	for _, op := range ops {
		if err := appendLine(&buf, op); err != nil {
			return err
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
