package graph

import (
	"reflect"
	"strconv"
	"sync"
	"testing"
)

func TestContainsWord(t *testing.T) {
	tests := []struct {
		s, sub string
		want   bool
	}{
		{"Add 1 to 42", "42", true},
		{"Add 1 to 42.", "42", true},
		{"Add 1 to 420", "42", false},
		{"Add 1 to 142", "42", false},
		{"142 and 42", "42", true},
		{"Add 43 to 44", "4", false},
		{"see: the answer is yes", "the answer is yes", true},
		{"(hello)", "(hello)", true},
		{"x(hello)y", "(hello)", true}, // punctuation ends need no boundary
		{"naïve café", "café", true},
		{"cafés", "café", false},
		{"", "42", false},
		{"4", "42", false},
	}
	for _, tt := range tests {
		if got := containsWord(tt.s, tt.sub); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %v, want %v", tt.s, tt.sub, got, tt.want)
		}
	}
}

func TestContentIndexSources(t *testing.T) {
	var x ContentIndex
	x.Add("a", "42")
	x.Add("b", "43")
	x.Add("c", "44")
	x.Add("blank", "  \n")
	tests := []struct {
		input, skip string
		want        []string
	}{
		{"Add 1 to 42", "", []string{"a"}},
		{"Add 43 to 44", "", []string{"b", "c"}},
		{"Add 43 to 44", "b", []string{"c"}},
		{"nothing here", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		if got := x.Sources(tt.input, tt.skip); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Sources(%q) = %v, want %v", tt.input, got, tt.want)
		}
	}
	x.Reset()
	if got := x.Sources("Add 1 to 42", ""); got != nil {
		t.Errorf("after Reset, Sources = %v, want none", got)
	}
}

func TestContentIndexConcurrent(t *testing.T) {
	var x ContentIndex
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				x.Add("n", "out")
				x.Sources("in out", "")
			}
		}()
	}
	wg.Wait()
	if got := x.Sources("out", ""); len(got) != 1 {
		t.Fatalf("Sources dedups by node: got %v", got)
	}
}

// The word index must find exactly what a scan of every output finds.
func TestContentIndexAgreesWithScan(t *testing.T) {
	outputs := []string{"42", "43", "4", "hello world", "(hello)", "world", "naïve", "x_1", "—dash", "a", "Add 1", "42."}
	inputs := []string{"Add 1 to 42", "hello world!", "x(hello)y", "naïve café", "x_1 x_12", "—dash—", "a b c", "42.5", "Add 1 to 42.", "", "4 42 43"}
	var x ContentIndex
	for i, o := range outputs {
		x.Add(string(rune('A'+i)), o)
	}
	for _, in := range inputs {
		var want []string
		for i, o := range outputs {
			if containsWord(in, o) {
				want = append(want, string(rune('A'+i)))
			}
		}
		if got := x.Sources(in, ""); !reflect.DeepEqual(got, want) {
			t.Errorf("Sources(%q) = %v, scan finds %v", in, got, want)
		}
	}
}

func BenchmarkContentIndexSources(b *testing.B) {
	var x ContentIndex
	for i := 0; i < 5000; i++ {
		x.Add(string(rune(i)), "answer number "+strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.Sources("Please add 1 to answer number 4321 and explain", "")
	}
}
