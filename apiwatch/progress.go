package apiwatch

import (
	"fmt"
	"io"
)

// Progress draws one line per download on a writer (stderr). On a terminal
// the line is redrawn as bytes arrive; elsewhere (CI logs) only the finished
// line is written, so logs stay one line per file.
type Progress struct {
	W        io.Writer
	Terminal bool
}

// Start begins the line of one download of total bytes (0: unknown).
func (p *Progress) Start(name string, total int64) *bar {
	b := &bar{p: p, name: name, total: total, lastPct: -1}
	b.draw()
	return b
}

// bar is one download's line; it is an io.Writer counting what passes.
type bar struct {
	p       *Progress
	name    string
	total   int64
	n       int64
	lastPct int
}

func (b *bar) Write(data []byte) (int, error) {
	b.n += int64(len(data))
	b.draw()
	return len(data), nil
}

func (b *bar) pct() int {
	if b.total <= 0 {
		return -1
	}
	return int(b.n * 100 / b.total)
}

func (b *bar) draw() {
	if !b.p.Terminal {
		return
	}
	pct := b.pct()
	if pct == b.lastPct && b.n != 0 && pct >= 0 {
		return // redraw only when the percentage moves
	}
	b.lastPct = pct
	fmt.Fprintf(b.p.W, "\r%s", b.line())
}

func (b *bar) line() string {
	const width = 24
	if b.total <= 0 {
		return fmt.Sprintf("downloading %s %s", b.name, size(b.n))
	}
	pct := b.pct()
	if pct > 100 {
		pct = 100
	}
	fill := width * pct / 100
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < fill {
			bar[i] = '='
		}
	}
	return fmt.Sprintf("downloading %s [%s] %3d%% %s/%s", b.name, bar, pct, size(b.n), size(b.total))
}

// Done ends the line, saying whether the download failed.
func (b *bar) Done(err error) {
	end := ""
	if err != nil {
		end = " failed"
	}
	if b.p.Terminal {
		fmt.Fprintf(b.p.W, "\r%s%s\n", b.line(), end)
		return
	}
	fmt.Fprintf(b.p.W, "downloaded %s (%s)%s\n", b.name, size(b.n), end)
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
