package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The targets: save-to-fresh-bytecode of a 1,000-line file within
// 200 ms, and the first rewrite of a 50,000-line project within 10 s on two
// cores. Both run against the stand-in worker (compile and write, no AST
// rewriting) and, once it exists, the real one:
//
//	go test ./core/watcher -run '^$' -bench . -benchtime 20x

func BenchmarkSaveToFresh(b *testing.B) {
	for _, shim := range benchShims(b) {
		b.Run(shim.name, func(b *testing.B) {
			h := newHarness(b, Options{ShimDir: shim.dir})
			h.write("big.py", pySource(1000, 0))
			h.watch()
			h.await("sweep of big.py", forPath(h.path("big.py"), CauseSweep))
			var total, worst, inWorker time.Duration
			b.ResetTimer()
			for i := range b.N {
				content := pySource(1000, i+1)
				start := time.Now()
				h.write("big.py", content)
				r := h.next("big.py saved", forPath(h.path("big.py"), CauseChange))
				took := time.Since(start)
				if r.Err != nil {
					b.Fatalf("refresh: %v", r.Err)
				}
				if shim.standIn && sidecar(h.path("big.py")) != sha(content) {
					b.Fatalf("bytecode is not from the saved source")
				}
				total += took
				worst = max(worst, took)
				inWorker += r.Duration
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/save")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms/save")
			// The rest of ms/save is the debounce and the watcher's own work.
			b.ReportMetric(float64(inWorker.Microseconds())/1000/float64(b.N), "worker-ms/save")
		})
	}
}

func BenchmarkFirstSweep(b *testing.B) {
	const files, lines = 500, 100
	for _, shim := range benchShims(b) {
		b.Run(shim.name, func(b *testing.B) {
			var total time.Duration
			for i := range b.N {
				b.StopTimer()
				h := newHarness(b, Options{ShimDir: shim.dir})
				for f := range files {
					h.write(fmt.Sprintf("pkg%02d/mod%03d.py", f/25, f), pySource(lines, i*files+f))
				}
				b.StartTimer()
				start := time.Now()
				h.watch()
				for f := range files {
					rel := fmt.Sprintf("pkg%02d/mod%03d.py", f/25, f)
					r := h.await("sweep of "+rel, forPath(h.path(rel), CauseSweep))
					if r.Err != nil {
						b.Fatalf("refresh: %v", r.Err)
					}
				}
				total += time.Since(start)
				b.StopTimer()
				h.w.Close()
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/sweep")
			b.ReportMetric(float64(files*lines), "lines")
		})
	}
}

type benchShim struct {
	name    string
	dir     string
	standIn bool
}

func benchShims(b *testing.B) []benchShim {
	shims := []benchShim{{name: "stand-in", dir: standInShim(b), standIn: true}}
	if real, err := filepath.Abs("../../pyshim"); err == nil {
		if _, err := os.Stat(filepath.Join(real, "aco", "rewrite", "worker.py")); err == nil {
			shims = append(shims, benchShim{name: "real", dir: real})
		}
	}
	return shims
}

// pySource is lines lines of ordinary Python (string formatting, calls into
// the standard library, comprehensions, classes): the kind of code the
// rewriter transforms. seed makes each version differ.
func pySource(lines, seed int) string {
	var sb strings.Builder
	sb.WriteString("import json\nimport re\n\n\n")
	n := 4
	for i := 0; n+10 <= lines; i++ {
		fmt.Fprintf(&sb, `def step_%[1]d_%[2]d(items, name="s%[1]d"):
    parts = [f"{name}-{i}: {item!r}" for i, item in enumerate(items)]
    joined = ", ".join(p.upper() for p in parts)
    found = re.findall(r"\d+", joined)
    payload = json.dumps({"name": name, "found": found, "n": %[2]d})
    if len(payload) %% 2:
        return "odd: %%s" %% payload
    return "even: {}".format(payload) + "!"


`, i, seed)
		n += 10
	}
	for ; n < lines; n++ {
		sb.WriteString("\n")
	}
	return sb.String()
}
