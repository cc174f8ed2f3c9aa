package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// blockBytes is how much of a history one worker decodes at a time: a couple of thousand lines.
var blockBytes = 1 << 18

// Batches reads the rest of the history with its lines decoded side by side on up to workers
// goroutines (0: one per core), and hands the ops over in their order, a batch at a time, on
// the stream's channel. It reads exactly what Next would: the same ops, the same errors at the
// same lines, a cut-off last line skipped (Truncated) and blank lines at the end ignored. The
// file is cut into blocks at line ends; each block is decoded by one worker, and the blocks are
// put back in order. Once the channel is closed, Err says what ended the history (nil at its
// end) and Line how many lines were read. The Reader must not be used otherwise meanwhile.
func (r *Reader) Batches(workers int) *BatchStream {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s := &BatchStream{r: r, out: make(chan []Op, workers), stop: make(chan struct{}), spare: make(chan []Op, 4*workers),
		bufs: make(chan []byte, 4*workers), block: blockBytes}
	jobs := make(chan *block, workers)
	order := make(chan *block, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var in interner
			for b := range jobs {
				b.decode(&in, s.fresh())
				clear(b.ops[len(b.ops):cap(b.ops)]) // what an earlier block left there
				s.reuse(b.data)                     // the ops hold copies of what they keep of it
				b.data = nil
				close(b.done)
			}
		})
	}
	go s.split(jobs, order)
	go func() {
		s.merge(order)
		close(s.out)
		wg.Wait()
	}()
	return s
}

// NewBatchStream hands over the ops that next returns, in batches of up to 512, from a
// goroutine of its own that calls next a batch ahead of the caller, until next returns an error
// (io.EOF ends the history with no error).
func NewBatchStream(next func() (Op, error)) *BatchStream {
	const size = 512
	s := &BatchStream{out: make(chan []Op, 8), stop: make(chan struct{}), spare: make(chan []Op, 10)}
	fresh := func() []Op {
		if b := s.fresh(); b != nil {
			return b
		}
		return make([]Op, 0, size)
	}
	send := func(b []Op) bool {
		select {
		case s.out <- b:
			return true
		case <-s.stop:
			return false
		}
	}
	go func() {
		defer close(s.out)
		batch := fresh()
		for {
			op, err := next()
			if err != nil {
				if err != io.EOF {
					s.err = err
				}
				break
			}
			batch = append(batch, op)
			if len(batch) == size {
				if !send(batch) {
					return
				}
				batch = fresh()
			}
		}
		if len(batch) > 0 {
			send(batch)
		}
	}()
	return s
}

// BatchStream is a history handed over in batches, by Batches or NewBatchStream.
type BatchStream struct {
	r     *Reader // the Reader that Batches reads
	out   chan []Op
	stop  chan struct{}
	once  sync.Once
	spare chan []Op
	bufs  chan []byte // blocks' buffers, decoded, to be read into again
	block int         // blockBytes when the stream began
	err   error
}

// C is the ops in their order, in batches; it is closed at the history's end or first error.
func (s *BatchStream) C() <-chan []Op { return s.out }

// Err is what ended the history once C is closed: nil at its end, else a *LineError or a read
// error.
func (s *BatchStream) Err() error { return s.err }

// Stop ends the reading early; C is closed soon after.
func (s *BatchStream) Stop() { s.once.Do(func() { close(s.stop) }) }

// Release hands back a batch whose ops the caller is done with (it keeps copies of what it
// needs), to be filled again.
func (s *BatchStream) Release(b []Op) {
	select {
	case s.spare <- b[:0]:
	default:
	}
}

// fresh is a released batch, emptied (decode clears what it does not fill again), or nil when
// there is none.
func (s *BatchStream) fresh() []Op {
	select {
	case b := <-s.spare:
		return b
	default:
		return nil
	}
}

// reuse keeps a decoded block's buffer of the usual size for a later read.
func (s *BatchStream) reuse(buf []byte) {
	if cap(buf) != s.block {
		return // a long line's: let it go
	}
	select {
	case s.bufs <- buf[:0]:
	default:
	}
}

// buffer is a buffer of at least n bytes' room, holding carry.
func (s *BatchStream) buffer(carry []byte, n int) []byte {
	if n == s.block {
		select {
		case buf := <-s.bufs:
			return append(buf, carry...)
		default:
		}
	}
	buf := make([]byte, len(carry), n)
	copy(buf, carry)
	return buf
}

// block is a run of whole lines, decoded by one worker.
type block struct {
	data []byte
	line int64 // the number of its first line
	done chan struct{}

	// What decoding it found.
	ops        []Op
	lines      int64 // lines decoded, to the one that ended it with err
	err        error // a *LineError, or nil
	content    bool  // it had a line that was not blank
	trailBlank int64 // the first of the blank lines that end it, or 0
	truncated  bool  // its last line was cut off, and is skipped
	readErr    error // reading failed here: the block holds no lines, and merge says why
}

// split reads the file into blocks of whole lines, numbered, and hands each to the workers and,
// in order, to merge.
func (s *BatchStream) split(jobs chan<- *block, order chan<- *block) {
	defer close(jobs)
	defer close(order)
	send := func(b *block) bool {
		b.done = make(chan struct{})
		if b.readErr != nil {
			close(b.done) // nothing to decode: merge reports the error
			select {
			case order <- b:
				return true
			case <-s.stop:
				return false
			}
		}
		select {
		case order <- b:
		case <-s.stop:
			return false
		}
		select {
		case jobs <- b:
			return true
		case <-s.stop:
			close(b.done)
			return false
		}
	}
	r := s.r
	line := r.line + 1
	var carry []byte // the start of a line the last read cut
	for {
		buf := s.buffer(carry, max(s.block, 2*len(carry)))
		n, err := io.ReadFull(r.r, buf[len(carry):cap(buf)])
		buf = buf[:len(carry)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			send(&block{line: line, readErr: err})
			return
		}
		end := bytes.LastIndexByte(buf, '\n') + 1
		if eof {
			if len(buf) > 0 {
				send(&block{data: buf, line: line})
			}
			return
		}
		if end == 0 {
			// No line end yet: the line goes on into the next read, up to the bound.
			if len(buf) > MaxLineBytes {
				send(&block{line: line, readErr: &LineError{Line: line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}})
				return
			}
			carry = buf
			continue
		}
		carry = append([]byte(nil), buf[end:]...)
		b := &block{data: buf[:end], line: line}
		line += int64(bytes.Count(b.data, []byte{'\n'}))
		if !send(b) {
			return
		}
	}
}

// decode reads a block's lines as Next reads them, into ops (reusing batch when it has room).
func (b *block) decode(in *interner, batch []Op) {
	b.ops = batch
	data := b.data
	n := b.line
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		complete := i >= 0
		var l []byte
		if complete {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		b.lines++
		l, empty := lineContent(l, n)
		if empty {
			if b.trailBlank == 0 {
				b.trailBlank = n
			}
			n++
			continue
		}
		b.content = true
		if b.trailBlank > 0 {
			b.err = emptyLine(b.trailBlank)
			return
		}
		if len(l) > MaxLineBytes {
			b.err = &LineError{Line: n, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
			return
		}
		op, cut, err := decodeLine(l, n, complete, in)
		if cut {
			b.truncated = true
			return
		}
		if err != nil {
			b.err = err
			return
		}
		b.ops = append(b.ops, op)
		n++
	}
}

// merge hands the blocks' ops over in order and stops at the first error.
func (s *BatchStream) merge(order <-chan *block) {
	r := s.r
	var blank int64 // the first of the blank lines that ended the blocks so far
	defer func() {
		for range order { // let split see stop and end
		}
	}()
	defer s.Stop() // an error ends the reading: nothing after it is handed over

	for b := range order {
		select {
		case <-b.done:
		case <-s.stop:
			return
		}
		if b.readErr != nil {
			var le *LineError
			if errors.As(b.readErr, &le) {
				r.line = le.Line
			}
			s.err = b.readErr
			return
		}
		r.line = b.line + b.lines - 1
		if blank > 0 && b.content {
			s.err = emptyLine(blank)
			return
		}
		if len(b.ops) > 0 {
			select {
			case s.out <- b.ops:
			case <-s.stop:
				return
			}
		}
		if b.err != nil {
			s.err = b.err
			return
		}
		if b.truncated {
			r.truncated = true
			return
		}
		if b.content || blank == 0 {
			blank = b.trailBlank
		}
	}
}
