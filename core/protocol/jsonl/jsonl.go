// Package jsonl frames a byte stream into lines and back. It knows nothing of
// what the lines mean: core/protocol decodes them. The reader bounds memory
// per line, so a peer that sends an endless line costs a few buffers, not the
// server.
package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrLineTooLong is returned by ReadLine for a line longer than the reader's
// maximum. The rest of that line has been discarded, so the next ReadLine
// returns the line after it: the connection can answer with an error and go
// on.
var ErrLineTooLong = errors.New("jsonl: line too long")

// ErrNewline is returned by WriteLine for bytes that would break framing.
var ErrNewline = errors.New("jsonl: line contains a newline")

// bufSize is how much the reader pulls from the stream at a time. It bounds
// the extra memory an oversized line costs while it is skipped.
const bufSize = 64 << 10

// Reader reads newline-terminated lines. It is not safe for concurrent use:
// one goroutine owns a connection's reading side.
type Reader struct {
	br  *bufio.Reader
	max int
}

// NewReader returns a Reader of lines up to maxLine bytes, not counting the
// newline. maxLine must be positive.
func NewReader(r io.Reader, maxLine int) *Reader {
	return newReaderSize(r, maxLine, bufSize)
}

func newReaderSize(r io.Reader, maxLine, size int) *Reader {
	if maxLine <= 0 {
		panic(fmt.Sprintf("jsonl: NewReader: maxLine %d must be positive", maxLine))
	}
	return &Reader{br: bufio.NewReaderSize(r, size), max: maxLine}
}

// ReadLine returns the next non-empty line without its newline. The slice is
// the caller's: later calls do not overwrite it.
//
// At the end of the stream it returns io.EOF. A last line that has no
// newline is never returned: a peer that disconnects mid-line has not sent a
// message, so that case is io.ErrUnexpectedEOF (and io.EOF after it). Errors
// from the underlying reader are returned as they are; after one, the stream
// position is lost mid-line, so stop reading.
func (r *Reader) ReadLine() ([]byte, error) {
	for {
		line, err := r.readOne()
		if err != nil {
			return nil, err
		}
		if len(line) > 0 {
			return line, nil
		}
	}
}

// readOne reads up to and including the next newline, returning what came
// before it (possibly empty).
func (r *Reader) readOne() ([]byte, error) {
	var line []byte
	tooLong, started := false, false
	for {
		frag, err := r.br.ReadSlice('\n')
		complete := err == nil
		if complete {
			frag = frag[:len(frag)-1]
		}
		started = started || len(frag) > 0
		if !tooLong {
			if len(line)+len(frag) > r.max {
				// Drop what was kept so skipping the rest costs only the
				// bufio buffer.
				tooLong, line = true, nil
			} else {
				line = grow(line, len(frag), r.max)
				line = append(line, frag...)
			}
		}
		switch {
		case complete && tooLong:
			return nil, ErrLineTooLong
		case complete:
			if line == nil {
				line = []byte{}
			}
			return line, nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && started:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// grow makes room for n more bytes, doubling up to limit: append alone
// grows large slices by a quarter at a time, which copies a long line many
// times.
func grow(b []byte, n, limit int) []byte {
	if len(b)+n <= cap(b) {
		return b
	}
	c := max(min(limit, 2*cap(b)), len(b)+n)
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

// Writer writes lines, each with one Write call so that concurrent writers
// never interleave within a line. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
}

// NewWriter returns a Writer of lines to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// keepBuf is the largest buffer a Writer keeps between lines; one huge line
// should not pin its size in memory for the connection's life.
const keepBuf = 1 << 20

// WriteLine writes b and a newline. It refuses b containing a newline. Once a
// write has failed, the stream may end in a partial line, so every later call
// returns that first error.
func (w *Writer) WriteLine(b []byte) error {
	if bytes.IndexByte(b, '\n') >= 0 {
		return ErrNewline
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.buf = append(append(w.buf[:0], b...), '\n')
	n, err := w.w.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if cap(w.buf) > keepBuf {
		w.buf = nil
	}
	if err != nil {
		w.err = err
	}
	return err
}
