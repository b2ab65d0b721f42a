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
	RootChunk    = "chunk"    // one streamed chunk's model_dump(mode="json")
)

// StepKind is what one step of a selector does.
type StepKind int

const (
	StepKey    StepKind = iota // .name or ["name"]: a field of an object
	StepIndex                  // [n]: an element of a list, negative from the end
	StepAll                    // [*]: every element of a list
	StepFilter                 // [?key=="value"]: the value itself, if it is an object whose key holds value
)

// Step is one step of a selector's path.
type Step struct {
	Kind  StepKind
	Key   string
	Index int
	Value string // StepFilter: the string the key must hold
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
		return sel, fmt.Errorf("selector %q must start with request, response or chunk", src)
	}
	if root != RootRequest && root != RootResponse && root != RootChunk {
		return sel, fmt.Errorf("unknown root %q (expected request, response or chunk)", root)
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

// parseBracket parses [*], [n], ["key"] or [?key=="value"] at the start of
// s and returns the step and the number of bytes it took.
func parseBracket(s string) (Step, int, error) {
	end := strings.IndexByte(s, ']')
	if strings.HasPrefix(s, `["`) {
		key, n, err := parseQuoted(s[1:])
		if err != nil {
			return Step{}, 0, err
		}
		if !strings.HasPrefix(s[1+n:], "]") {
			return Step{}, 0, fmt.Errorf(`expected "]" after the quoted key`)
		}
		return Step{Kind: StepKey, Key: key}, n + 2, nil
	}
	if strings.HasPrefix(s, "[?") {
		return parseFilter(s)
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

// parseQuoted parses a double-quoted string at the start of s (\" and \\
// escapes) and returns it and the number of bytes it took.
func parseQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			return "", 0, fmt.Errorf(`expected \" or \\ after a backslash`)
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf(`unterminated quoted key`)
}

// parseFilter parses [?key=="value"] or [?"key"=="value"].
func parseFilter(s string) (Step, int, error) {
	const want = `expected [?key=="value"]`
	pos := 2
	var key string
	if strings.HasPrefix(s[pos:], `"`) {
		k, n, err := parseQuoted(s[pos:])
		if err != nil {
			return Step{}, 0, err
		}
		key, pos = k, pos+n
	} else {
		key, _ = leadingName(s[pos:])
		if key == "" {
			return Step{}, 0, fmt.Errorf("%s: a field name after \"[?\"", want)
		}
		pos += len(key)
	}
	if !strings.HasPrefix(s[pos:], `=="`) {
		return Step{}, 0, fmt.Errorf(`%s: "==" and a quoted value after the field`, want)
	}
	value, n, err := parseQuoted(s[pos+2:])
	if err != nil {
		return Step{}, 0, err
	}
	pos += 2 + n
	if !strings.HasPrefix(s[pos:], "]") {
		return Step{}, 0, fmt.Errorf(`%s: "]" after the value`, want)
	}
	return Step{Kind: StepFilter, Key: key, Value: value}, pos + 1, nil
}
