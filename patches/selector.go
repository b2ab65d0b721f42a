package patches

import (
	"fmt"
	"strconv"
	"strings"
)

// Roots a selector may start from.
const (
	RootRequest  = "request"  // the call's keyword arguments as JSON
	RootResponse = "response" // the response's model_dump(mode="json")
)

// StepKind is what one step of a selector does.
type StepKind int

const (
	StepKey   StepKind = iota // .name or ["name"]: a field of an object
	StepIndex                 // [n]: an element of a list, negative from the end
	StepAll                   // [*]: every element of a list
)

// Step is one step of a selector's path.
type Step struct {
	Kind  StepKind
	Key   string
	Index int
}

// Selector is a parsed path into a request or a response, e.g.
// request.messages[-1].content. The grammar is in README.md.
type Selector struct {
	Root  string
	Steps []Step
	Text  string // the source, for messages and comments
}

func (s Selector) String() string { return s.Text }

// ParseSelector parses one selector. Errors say what was expected at the
// offending position.
func ParseSelector(src string) (Selector, error) {
	sel := Selector{Text: src}
	root, rest := leadingName(src)
	if root == "" {
		return sel, fmt.Errorf("selector %q must start with request or response", src)
	}
	if root != RootRequest && root != RootResponse {
		return sel, fmt.Errorf("unknown root %q (expected request or response)", root)
	}
	sel.Root = root
	pos := len(root)
	for rest != "" {
		var step Step
		var n int
		var err error
		switch rest[0] {
		case '.':
			name, _ := leadingName(rest[1:])
			if name == "" {
				return sel, fmt.Errorf("selector %q: expected a field name after \".\" at offset %d", src, pos)
			}
			step, n = Step{Kind: StepKey, Key: name}, 1+len(name)
		case '[':
			step, n, err = parseBracket(rest)
			if err != nil {
				return sel, fmt.Errorf("selector %q: %v at offset %d", src, err, pos)
			}
		default:
			return sel, fmt.Errorf("selector %q: expected \".\" or \"[\" at offset %d, found %q", src, pos, rest[0])
		}
		sel.Steps = append(sel.Steps, step)
		rest, pos = rest[n:], pos+n
	}
	return sel, nil
}

// leadingName splits off an identifier ([A-Za-z_][A-Za-z0-9_]*).
func leadingName(s string) (name, rest string) {
	i := 0
	for i < len(s) {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			break
		}
		i++
	}
	return s[:i], s[i:]
}

// parseBracket parses [*], [n] or ["key"] at the start of s and returns the
// step and the number of bytes it took.
func parseBracket(s string) (Step, int, error) {
	end := strings.IndexByte(s, ']')
	if strings.HasPrefix(s, `["`) {
		// A quoted key may hold "]", so find the closing quote first.
		var b strings.Builder
		for i := 2; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					b.WriteByte(s[i+1])
					i++
					continue
				}
				return Step{}, 0, fmt.Errorf(`expected \" or \\ after a backslash`)
			case '"':
				if i+1 >= len(s) || s[i+1] != ']' {
					return Step{}, 0, fmt.Errorf(`expected "]" after the quoted key`)
				}
				return Step{Kind: StepKey, Key: b.String()}, i + 2, nil
			default:
				b.WriteByte(c)
			}
		}
		return Step{}, 0, fmt.Errorf(`unterminated quoted key`)
	}
	if end < 0 {
		return Step{}, 0, fmt.Errorf(`expected "]"`)
	}
	inner := s[1:end]
	if inner == "*" {
		return Step{Kind: StepAll}, end + 1, nil
	}
	n, err := strconv.Atoi(inner)
	if err != nil || inner == "" || inner[0] == '+' {
		return Step{}, 0, fmt.Errorf(`expected [*], [integer] or ["key"], found [%s]`, inner)
	}
	return Step{Kind: StepIndex, Index: n}, end + 1, nil
}
