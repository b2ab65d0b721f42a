package mockllm

import (
	"strings"
	"testing"
)

func TestAnswer(t *testing.T) {
	long := strings.Repeat("x", 250)
	tests := []struct {
		name, msg, want string
	}{
		{"output", "Output the number 42", "42"},
		{"add", "Add 1 to 42", "43"},
		{"add three", "Add 3 to 42", "45"},
		{"subtract", "Subtract 2 from 10", "8"},
		{"multiply", "Multiply 6 by 7", "42"},
		{"double", "Double 21", "42"},
		{"triple", "Triple 14", "42"},
		{"halve", "Halve 9", "4.5"},
		{"divide", "Divide 84 by 2", "42"},
		{"divide repeating", "Divide 1 by 3", "0.333333333333"},
		{"divide by zero echoes", "Divide 1 by 0", "Echo: Divide 1 by 0"},
		{"surrounding words", "Add 1 to this number: 42.", "43"},
		{"lower case and punctuation", "please, add 1 to (42)!", "43"},
		{"negative operands", "Add -5 to -10", "-15"},
		{"negative result", "Subtract 50 from 8", "-42"},
		{"decimals exact", "Add 0.1 to 0.2", "0.3"},
		{"decimal to integer", "Double 2.5", "5"},
		{"operand before verb", "The number is 42. Add 1 to it.", "43"},
		{"output operand before verb", "42 -- output it", "42"},
		{"arithmetic beats output", "Output the result: add 1 to 42", "43"},
		{"first verb wins", "Double 4, then add 1 to it", "8"},
		{"glued digits are not numbers", "Add 1 to gpt4 and 10", "11"},
		{"dash inside numbers", "Add 1 to 10-3", "11"},
		{"word containing verb", "Additional 3 and 4", "Echo: Additional 3 and 4"},
		{"missing operand echoes", "Add 1", "Echo: Add 1"},
		{"plain text echoes", "Hello there", "Echo: Hello there"},
		{"echo truncates to 200 chars", long, "Echo: " + long[:200]},
		{"echo truncates runes", strings.Repeat("é", 201), "Echo: " + strings.Repeat("é", 200)},
		{"empty", "", "Echo: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Answer(tt.msg); got != tt.want {
				t.Errorf("Answer(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestSplitDeltas(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"43", []string{"43"}},
		{"Echo: hello world", []string{"Echo:", " hello", " world"}},
		{"a  b", []string{"a", "  b"}},
		{"abcdefghijkl", []string{"abcdefgh", "ijkl"}},
		{"ééééééééé", []string{"éééééééé", "é"}},
		{"", nil},
	}
	for _, tt := range tests {
		got := splitDeltas(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitDeltas(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("splitDeltas(%q) pieces do not concatenate back", tt.in)
		}
	}
}
