// Package graph finds and draws the edges of a run's dataflow graph. Content
// matching is the fallback for flows taint cannot see: a call's input that
// contains the text of an earlier call's output gets an edge from it.
package graph

import (
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ContentIndex remembers the outputs of one run family's calls (a top-level
// run and its subruns) in the current execution, in the order they arrived.
// It is safe for concurrent use.
//
// An output that starts with a word character can only match where a word of
// the input starts, and that word must equal the output's first word; so such
// outputs are filed under their first word, and a look-up reads the input's
// words instead of scanning every output. Outputs starting with punctuation
// or space are few and are checked one by one.
type ContentIndex struct {
	mu      sync.Mutex
	outputs []output            // in arrival order
	byWord  map[string][]int    // first word → indexes into outputs
	others  []int               // outputs not starting with a word character
	seen    map[string]struct{} // node ids indexed, so a node is filed once
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
	defer x.mu.Unlock()
	if x.byWord == nil {
		x.byWord = map[string][]int{}
		x.seen = map[string]struct{}{}
	}
	if _, ok := x.seen[node]; ok {
		return
	}
	x.seen[node] = struct{}{}
	i := len(x.outputs)
	x.outputs = append(x.outputs, output{node, text})
	if w := firstWord(text); w != "" {
		x.byWord[w] = append(x.byWord[w], i)
	} else {
		x.others = append(x.others, i)
	}
}

// Reset forgets every output (a new execution of the run starts).
func (x *ContentIndex) Reset() {
	x.mu.Lock()
	x.outputs, x.byWord, x.others, x.seen = nil, nil, nil, nil
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
	defer x.mu.Unlock()
	var hits []int
	for _, i := range x.others {
		if containsWord(input, x.outputs[i].text) {
			hits = append(hits, i)
		}
	}
	matched := map[int]bool{}
	forEachWord(input, func(start int, word string) {
		for _, i := range x.byWord[word] {
			if !matched[i] && matchesAt(input, start, x.outputs[i].text) {
				matched[i] = true
				hits = append(hits, i)
			}
		}
	})
	sort.Ints(hits)
	var found []string
	for _, i := range hits {
		if x.outputs[i].node != skip {
			found = append(found, x.outputs[i].node)
		}
	}
	return found
}

// firstWord is the maximal run of word characters s starts with, or "".
func firstWord(s string) string {
	end := 0
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if !isWordRune(r) {
			break
		}
		end += size
	}
	return s[:end]
}

// forEachWord calls fn for each maximal run of word characters in s.
func forEachWord(s string, fn func(start int, word string)) {
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(start, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		fn(start, s[start:])
	}
}

// matchesAt reports whether sub occurs in s at start, with a word boundary
// after it when it ends with a word character. The caller guarantees the
// boundary before start.
func matchesAt(s string, start int, sub string) bool {
	if !strings.HasPrefix(s[start:], sub) {
		return false
	}
	end := start + len(sub)
	last, _ := utf8.DecodeLastRuneInString(sub)
	if isWordRune(last) && end < len(s) {
		r, _ := utf8.DecodeRuneInString(s[end:])
		return !isWordRune(r)
	}
	return true
}

// containsWord reports whether s contains sub at a position where sub's
// alphanumeric ends are not glued to other alphanumerics.
func containsWord(s, sub string) bool {
	first, _ := utf8.DecodeRuneInString(sub)
	checkStart := isWordRune(first)
	for i := 0; i <= len(s)-len(sub); {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return false
		}
		start := i + j
		ok := true
		if checkStart && start > 0 {
			r, _ := utf8.DecodeLastRuneInString(s[:start])
			ok = !isWordRune(r)
		}
		if ok && matchesAt(s, start, sub) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		i = start + size
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
