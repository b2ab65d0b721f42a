package jsonl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

type result struct {
	line string
	err  error
}

// readAll reads until io.EOF or an error other than ErrLineTooLong, keeping
// the terminating error too (unless it is io.EOF).
func readAll(t testing.TB, r *Reader) []result {
	t.Helper()
	var out []result
	for i := 0; ; i++ {
		if i > 1<<20 {
			t.Fatal("reader never reached the end")
		}
		line, err := r.ReadLine()
		if err == io.EOF {
			return out
		}
		if err != nil && line != nil {
			t.Fatalf("ReadLine returned line %q with error %v", line, err)
		}
		out = append(out, result{string(line), err})
		if err != nil && err != ErrLineTooLong {
			return out
		}
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 11)
	tests := []struct {
		name string
		in   string
		max  int
		want []result
	}{
		{"empty stream", "", 10, nil},
		{"one line", "{\"a\":1}\n", 10, []result{{line: `{"a":1}`}}},
		{"two lines", "a\nbb\n", 10, []result{{line: "a"}, {line: "bb"}}},
		{"empty lines skipped", "\n\na\n\n\nb\n\n", 10, []result{{line: "a"}, {line: "b"}}},
		{"only newlines", "\n\n\n", 10, nil},
		{"carriage return is content", "a\r\n", 10, []result{{line: "a\r"}}},
		{"exactly max", strings.Repeat("x", 10) + "\n", 10, []result{{line: strings.Repeat("x", 10)}}},
		{"over max then next line", long + "\nok\n", 10, []result{{err: ErrLineTooLong}, {line: "ok"}}},
		{"two long lines in a row", long + "\n" + long + "\nok\n", 10,
			[]result{{err: ErrLineTooLong}, {err: ErrLineTooLong}, {line: "ok"}}},
		{"final line without newline", "a\nb", 10, []result{{line: "a"}, {err: io.ErrUnexpectedEOF}}},
		{"final long line without newline", "a\n" + long, 10, []result{{line: "a"}, {err: io.ErrUnexpectedEOF}}},
		{"unicode counted in bytes", "héllo\n" + strings.Repeat("é", 6) + "\n", 11,
			[]result{{line: "héllo"}, {err: ErrLineTooLong}}},
	}
	for _, tt := range tests {
		for _, size := range []int{16, bufSize} {
			t.Run(fmt.Sprintf("%s/buf%d", tt.name, size), func(t *testing.T) {
				got := readAll(t, newReaderSize(strings.NewReader(tt.in), tt.max, size))
				if !equalResults(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func equalResults(a, b []result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].line != b[i].line || !errors.Is(a[i].err, b[i].err) {
			return false
		}
	}
	return true
}

func TestReadLineAfterEOFStaysEOF(t *testing.T) {
	r := NewReader(strings.NewReader("a\npartial"), 100)
	if line, err := r.ReadLine(); err != nil || string(line) != "a" {
		t.Fatalf("first ReadLine = %q, %v", line, err)
	}
	if _, err := r.ReadLine(); err != io.ErrUnexpectedEOF {
		t.Fatalf("partial line: err = %v, want io.ErrUnexpectedEOF", err)
	}
	for range 2 {
		if _, err := r.ReadLine(); err != io.EOF {
			t.Fatalf("after the end: err = %v, want io.EOF", err)
		}
	}
}

func TestReadLineReturnsCallerOwnedSlices(t *testing.T) {
	r := newReaderSize(strings.NewReader("first\nsecond\n"), 100, 16)
	a, _ := r.ReadLine()
	b, _ := r.ReadLine()
	if string(a) != "first" || string(b) != "second" {
		t.Fatalf("got %q, %q: the second read overwrote the first line", a, b)
	}
}

func TestReadLinePassesReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)), 100)
	if line, err := r.ReadLine(); err != nil || string(line) != "a" {
		t.Fatalf("first ReadLine = %q, %v", line, err)
	}
	if _, err := r.ReadLine(); err != boom {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

func TestNewReaderRejectsNonPositiveMax(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewReader(r, 0) did not panic")
		}
	}()
	NewReader(strings.NewReader(""), 0)
}

// patternReader yields n bytes of 'x' then a newline and a short line,
// without ever holding the big line in memory.
type patternReader struct {
	left int
	tail []byte
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left > 0 {
		n := min(len(b), p.left)
		for i := range n {
			b[i] = 'x'
		}
		p.left -= n
		return n, nil
	}
	if len(p.tail) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.tail)
	p.tail = p.tail[n:]
	return n, nil
}

func TestOversizedLineKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB")
	}
	const lineSize = 100 << 20
	const maxLine = 1 << 20
	r := NewReader(&patternReader{left: lineSize, tail: []byte("\n{\"type\":\"log\"}\n")}, maxLine)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err1 := r.ReadLine()
	line, err2 := r.ReadLine()
	runtime.ReadMemStats(&after)

	if err1 != ErrLineTooLong {
		t.Fatalf("oversized line: err = %v, want ErrLineTooLong", err1)
	}
	if err2 != nil || string(line) != `{"type":"log"}` {
		t.Fatalf("line after the oversized one = %q, %v", line, err2)
	}
	// The kept prefix grows to maxLine by doubling (about 2*maxLine in all)
	// plus the read buffer; buffering the line would cost 100 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("skipping a %d MB line allocated %d MB", lineSize>>20, alloc>>20)
	}
}

func TestWriteLine(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, line := range []string{`{"type":"hello"}`, "", "é\u2028"} {
		if err := w.WriteLine([]byte(line)); err != nil {
			t.Fatalf("WriteLine(%q): %v", line, err)
		}
	}
	if want := "{\"type\":\"hello\"}\n\né\u2028\n"; buf.String() != want {
		t.Errorf("wrote %q, want %q", buf.String(), want)
	}
	if err := w.WriteLine([]byte("a\nb")); err != ErrNewline {
		t.Errorf("WriteLine with a newline: err = %v, want ErrNewline", err)
	}
	if strings.Contains(buf.String(), "a\nb") {
		t.Error("a refused line reached the stream")
	}
}

type failingWriter struct {
	n     int // bytes accepted before failing
	calls int
}

func (f *failingWriter) Write(b []byte) (int, error) {
	f.calls++
	if len(b) <= f.n {
		f.n -= len(b)
		return len(b), nil
	}
	n := f.n
	f.n = 0
	if n > 0 {
		return n, nil // a short write without an error breaks io.Writer's rule
	}
	return 0, errors.New("broken pipe")
}

func TestWriteLineErrorsAreSticky(t *testing.T) {
	tests := []struct {
		name    string
		accept  int
		wantErr string
	}{
		{"write error", 3, "broken pipe"},
		{"short write", 5, io.ErrShortWrite.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &failingWriter{n: tt.accept}
			w := NewWriter(f)
			if err := w.WriteLine([]byte("ab")); err != nil {
				t.Fatalf("first line: %v", err)
			}
			err := w.WriteLine([]byte("cdefgh"))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			calls := f.calls
			if err2 := w.WriteLine([]byte("x")); err2 != err {
				t.Errorf("after a failure: err = %v, want the first error %v", err2, err)
			}
			if f.calls != calls {
				t.Error("wrote again after a failure, past a partial line")
			}
		})
	}
}

// TestConcurrentWritersOverTCP checks that lines from many goroutines reach a
// real socket whole and unmixed.
func TestConcurrentWritersOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type accepted struct {
		conn net.Conn
		err  error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		acc <- accepted{c, err}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-acc
	if a.err != nil {
		t.Fatal(a.err)
	}
	server := a.conn
	defer server.Close()

	const writers, perWriter = 8, 200
	// Lines long enough to need several TCP segments.
	payload := strings.Repeat("p", 20000)
	w := NewWriter(client)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if err := w.WriteLine(fmt.Appendf(nil, "%d-%d-%s", g, i, payload)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		client.Close()
		close(done)
	}()

	var got []string
	r := NewReader(server, 1<<20)
	for {
		line, err := r.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s := string(line)
		if !strings.HasSuffix(s, "-"+payload) {
			t.Fatalf("mangled line (%d bytes)", len(s))
		}
		got = append(got, strings.TrimSuffix(s, "-"+payload))
	}
	<-done
	var want []string
	for g := range writers {
		for i := range perWriter {
			want = append(want, fmt.Sprintf("%d-%d", g, i))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %d lines, want %d distinct whole lines", len(got), len(want))
	}
}
