// Package logsink is a buffered, asynchronous io.Writer for log output: a
// Write copies the record into memory and returns, and one goroutine hands
// what has gathered to the underlying writer in batches, so that a request's
// access-log line costs a copy instead of a system call.
//
// Lines reach the underlying writer at most batchDelay (2 ms) after they are
// written, in batches. Nothing is dropped: when more than the limit is waiting, Write waits for
// the batch in flight. Close (or Flush) writes everything out, so a process
// that logs its last line and closes the sink loses nothing.
package logsink

import (
	"io"
	"sync"
	"time"
)

// DefaultLimit is how many bytes may wait before Write blocks.
const DefaultLimit = 1 << 20

// Writer is the sink. Create it with New; it is safe for concurrent use.
type Writer struct {
	out   io.Writer
	limit int

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a batch has been written
	buf     []byte     // waiting to be written
	writing bool       // a batch is being written
	closed  bool
	err     error // the first error of out, returned by Flush and Close
	wake    chan struct{}
	urgent  chan struct{} // cuts batchDelay short
	done    chan struct{}
}

// batchDelay is how long the writer lets lines gather after the first one
// of a batch: a line reaches the underlying writer at most this late.
const batchDelay = 2 * time.Millisecond

// New starts a sink writing to out; limit ≤ 0 means DefaultLimit.
func New(out io.Writer, limit int) *Writer {
	if limit <= 0 {
		limit = DefaultLimit
	}
	w := &Writer{out: out, limit: limit, wake: make(chan struct{}, 1), urgent: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Write queues a copy of p. After Close it writes p straight through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	for len(w.buf) > 0 && len(w.buf)+len(p) > w.limit && !w.closed {
		w.hurry()
		w.cond.Wait()
	}
	if w.closed { // closed while this Write waited
		w.mu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *Writer) run() {
	defer close(w.done)
	var spare []byte
	delay := time.NewTimer(0)
	<-delay.C
	for range w.wake {
		// Let a batch gather: a Write that finds the writer waiting here
		// leaves its token in the channel without waking anyone, so a busy
		// server pays no context switch a line. Flush, Close and a full
		// buffer cut the wait short.
		delay.Reset(batchDelay)
		select {
		case <-delay.C:
		case <-w.urgent:
			if !delay.Stop() {
				<-delay.C
			}
		}
		w.mu.Lock()
		for len(w.buf) > 0 {
			batch := w.buf
			w.buf, w.writing = spare[:0], true
			w.mu.Unlock()
			_, err := w.out.Write(batch)
			w.mu.Lock()
			if err != nil && w.err == nil {
				w.err = err
			}
			spare, w.writing = batch, false
			w.cond.Broadcast()
		}
		closed := w.closed
		w.mu.Unlock()
		if closed {
			return
		}
	}
}

// hurry cuts the writer's batchDelay short.
func (w *Writer) hurry() {
	select {
	case w.urgent <- struct{}{}:
	default:
	}
}

// Flush waits until everything written so far has reached the underlying
// writer, and returns its first error.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		w.hurry()
	}
	for (len(w.buf) > 0 || w.writing) && !w.closed {
		w.cond.Wait()
	}
	return w.err
}

// Close flushes the sink and stops its goroutine; later Writes go straight
// to the underlying writer. It does not close that writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.err
	}
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.hurry()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
