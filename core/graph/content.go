// Package graph finds and draws the edges of a run's dataflow graph. Content
// matching is the fallback for flows taint cannot see: a call's input that
// contains the text of an earlier call's output gets an edge from it.
package graph

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ContentIndex remembers the outputs of one run family's calls (a top-level
// run and its subruns) in the current execution, in the order they arrived.
// It is safe for concurrent use.
type ContentIndex struct {
	mu      sync.Mutex
	outputs []output
}

type output struct {
	node string
	text string
}

// Add records node's output text. Blank outputs never match.
func (x *ContentIndex) Add(node, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	x.mu.Lock()
	x.outputs = append(x.outputs, output{node, text})
	x.mu.Unlock()
}

// Reset forgets every output (a new execution of the run starts).
func (x *ContentIndex) Reset() {
	x.mu.Lock()
	x.outputs = nil
	x.mu.Unlock()
}

// Sources returns the nodes whose output occurs in input, oldest first,
// except skip (the node itself). An output that starts or ends with a letter
// or digit must stand on a word boundary there, so the output "4" does not
// match the "42" in "Add 1 to 42".
func (x *ContentIndex) Sources(input, skip string) []string {
	if input == "" {
		return nil
	}
	x.mu.Lock()
	outs := x.outputs
	x.mu.Unlock()
	var found []string
	seen := map[string]bool{}
	for _, o := range outs {
		if o.node == skip || seen[o.node] {
			continue
		}
		if containsWord(input, o.text) {
			seen[o.node] = true
			found = append(found, o.node)
		}
	}
	return found
}

// containsWord reports whether s contains sub at a position where sub's
// alphanumeric ends are not glued to other alphanumerics.
func containsWord(s, sub string) bool {
	first, _ := utf8.DecodeRuneInString(sub)
	last, _ := utf8.DecodeLastRuneInString(sub)
	checkStart, checkEnd := isWordRune(first), isWordRune(last)
	for i := 0; i <= len(s)-len(sub); {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return false
		}
		start := i + j
		end := start + len(sub)
		ok := true
		if checkStart && start > 0 {
			r, _ := utf8.DecodeLastRuneInString(s[:start])
			ok = !isWordRune(r)
		}
		if ok && checkEnd && end < len(s) {
			r, _ := utf8.DecodeRuneInString(s[end:])
			ok = !isWordRune(r)
		}
		if ok {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		i = start + size
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
