package mockllm

import (
	"math/big"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// echoLimit is how many characters of the last user message an echo repeats.
const echoLimit = 200

// operation is an arithmetic instruction the mock understands. apply gets the
// operands in the order they appear in the message.
type operation struct {
	arity int
	apply func(x, y *big.Rat) *big.Rat // nil result: no answer (division by zero)
}

var operations = map[string]operation{
	"add":      {2, func(x, y *big.Rat) *big.Rat { return new(big.Rat).Add(y, x) }},
	"subtract": {2, func(x, y *big.Rat) *big.Rat { return new(big.Rat).Sub(y, x) }},
	"multiply": {2, func(x, y *big.Rat) *big.Rat { return new(big.Rat).Mul(x, y) }},
	"divide": {2, func(x, y *big.Rat) *big.Rat {
		if y.Sign() == 0 {
			return nil
		}
		return new(big.Rat).Quo(x, y)
	}},
	"double": {1, func(x, _ *big.Rat) *big.Rat { return new(big.Rat).Mul(x, big.NewRat(2, 1)) }},
	"triple": {1, func(x, _ *big.Rat) *big.Rat { return new(big.Rat).Mul(x, big.NewRat(3, 1)) }},
	"halve":  {1, func(x, _ *big.Rat) *big.Rat { return new(big.Rat).Quo(x, big.NewRat(2, 1)) }},
	"output": {1, func(x, _ *big.Rat) *big.Rat { return x }},
}

var (
	// "output" is looked for only when no arithmetic verb is present, so
	// "Output the result: add 1 to 42" adds rather than repeating the 1.
	arithmeticVerb = regexp.MustCompile(`(?i)\b(add|subtract|multiply|divide|double|triple|halve)\b`)
	outputVerb     = regexp.MustCompile(`(?i)\b(output)\b`)
	// A number is not glued to a word, a dot or a dash on its left, so
	// "gpt4", "v1.5" and "10-3" do not yield stray operands.
	number = regexp.MustCompile(`(?:^|[^\w.\-])(-?\d+(?:\.\d+)?)`)
)

// Answer is the mock's reply to a conversation whose last user message is
// lastUser. See the package comment for the rules.
func Answer(lastUser string) string {
	if v, ok := arithmetic(lastUser); ok {
		return v
	}
	return "Echo: " + truncateRunes(lastUser, echoLimit)
}

func arithmetic(msg string) (string, bool) {
	loc := arithmeticVerb.FindStringSubmatchIndex(msg)
	if loc == nil {
		loc = outputVerb.FindStringSubmatchIndex(msg)
	}
	if loc == nil {
		return "", false
	}
	op := operations[strings.ToLower(msg[loc[2]:loc[3]])]
	before, after := numbers(msg[:loc[0]]), numbers(msg[loc[1]:])
	// Operands come after the verb; a missing last one may be named before it
	// ("The number is 42. Add 1 to it.").
	if len(after) < op.arity && len(after) == op.arity-1 && len(before) > 0 {
		after = append(after, before[len(before)-1])
	}
	if len(after) < op.arity {
		return "", false
	}
	y := after[0]
	if op.arity == 2 {
		y = after[1]
	}
	r := op.apply(after[0], y)
	if r == nil {
		return "", false
	}
	return formatRat(r), true
}

func numbers(s string) []*big.Rat {
	var out []*big.Rat
	for _, m := range number.FindAllStringSubmatch(s, -1) {
		r, ok := new(big.Rat).SetString(m[1])
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// formatRat writes integers without a decimal point and other values as
// short decimals, so "Add 0.1 to 0.2" gives "0.3", not a float artefact.
func formatRat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	s := strings.TrimRight(r.FloatString(12), "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// countTokens is the mock's token count: whitespace-separated words.
func countTokens(s string) int { return len(strings.Fields(s)) }

// maxDeltaRunes caps a streamed piece so that even a long word arrives in
// several chunks.
const maxDeltaRunes = 8

// splitDeltas cuts s into the pieces a stream sends: each word with the
// whitespace before it, long words cut further. The pieces concatenate to s.
func splitDeltas(s string) []string {
	var out []string
	start, n := 0, 0
	prevSpace := false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if n > 0 && ((space && !prevSpace) || n == maxDeltaRunes) {
			out = append(out, s[start:i])
			start, n = i, 0
		}
		n++
		prevSpace = space
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
