package jsonl

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// model is the reader's contract written the slow, obvious way: split on
// newlines, skip empty lines, flag long ones, and treat a trailing fragment
// as a line cut off by a disconnect.
func model(data []byte, maxLine int) []result {
	var out []result
	parts := bytes.Split(data, []byte("\n"))
	last := parts[len(parts)-1]
	for _, p := range parts[:len(parts)-1] {
		switch {
		case len(p) == 0:
		case len(p) > maxLine:
			out = append(out, result{err: ErrLineTooLong})
		default:
			out = append(out, result{line: string(p)})
		}
	}
	if len(last) > 0 {
		out = append(out, result{err: io.ErrUnexpectedEOF})
	}
	return out
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc\n"), uint8(2), uint8(0))
	f.Add([]byte("{\"type\":\"hello\"}\n{\"x\""), uint8(40), uint8(3))
	f.Add([]byte(strings.Repeat("x", 100)+"\nok\n"), uint8(10), uint8(1))
	f.Add([]byte("\n\n\n"), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, max8, size8 uint8) {
		maxLine := int(max8%64) + 1
		size := int(size8%48) + 16 // bufio's smallest buffer is 16
		want := model(data, maxLine)
		for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data))} {
			got := readAll(t, newReaderSize(src, maxLine, size))
			for _, g := range got {
				if strings.Contains(g.line, "\n") {
					t.Fatalf("line %q contains a newline", g.line)
				}
				if len(g.line) > maxLine {
					t.Fatalf("line of %d bytes exceeds max %d", len(g.line), maxLine)
				}
				if g.err == nil && g.line == "" {
					t.Fatal("returned an empty line")
				}
			}
			if !equalResults(got, want) {
				t.Fatalf("max %d buf %d: got %v, want %v", maxLine, size, got, want)
			}
			// Every returned line, rejoined, is the input minus empty,
			// oversized and unterminated lines.
			var joined, kept []byte
			for _, g := range got {
				if g.err == nil {
					joined = append(joined, g.line+"\n"...)
				}
			}
			for _, p := range bytes.SplitAfter(data, []byte("\n")) {
				if n := len(p) - 1; n > 0 && n <= maxLine && p[n] == '\n' {
					kept = append(kept, p...)
				}
			}
			if !bytes.Equal(joined, kept) {
				t.Fatalf("rejoined lines %q, want %q", joined, kept)
			}
		}
	})
}

func benchmarkReadLine(b *testing.B, lineSize int) {
	line := append(bytes.Repeat([]byte("x"), lineSize), '\n')
	// A stream of several MB, so setting up a reader is rare next to reading.
	streamLines := max(64, (4<<20)/len(line))
	stream := bytes.Repeat(line, streamLines)
	src := bytes.NewReader(stream)
	r := NewReader(src, lineSize)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%streamLines == 0 {
			src.Reset(stream)
			r = NewReader(src, lineSize)
		}
		if _, err := r.ReadLine(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadLine100B(b *testing.B) { benchmarkReadLine(b, 100) }
func BenchmarkReadLine10KB(b *testing.B) { benchmarkReadLine(b, 10<<10) }
func BenchmarkReadLine1MB(b *testing.B)  { benchmarkReadLine(b, 1<<20) }

func BenchmarkWriteLine(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 1000)
	w := NewWriter(io.Discard)
	b.SetBytes(int64(len(line) + 1))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
