package editcmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/server/servertest"
)

func TestEdit(t *testing.T) {
	s := servertest.Start(t)
	_, calls := servertest.Seed(t, s.Store, aco.Run{ID: "aaaa1111bbbb2222", Name: "agent.py"},
		[2]string{"Output the number 42", "42"}, [2]string{"Add 1 to 42", "43"})
	svc := func() (aco.RunService, error) { return s.Client, nil }
	node := calls[0].NodeID
	overwrites := func() (string, string) {
		c, err := s.Store.GetCall(t.Context(), node)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.InputOverwrite), string(c.OutputOverwrite)
	}

	var out bytes.Buffer
	if err := Run(t.Context(), &Options{Run: "last", Node: node[:4], Output: "50", SetOutput: true, Service: svc, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if _, ow := overwrites(); ow != `{"text":"50"}` {
		t.Errorf("output overwrite = %s", ow)
	}
	if !strings.Contains(out.String(), "aco rerun last") {
		t.Errorf("the message does not say how to see the effect: %q", out.String())
	}

	err := Run(t.Context(), &Options{Run: "last", Node: node, Input: `{"request":{"input":"Output the number 7"}}`, SetInput: true, JSON: true, Service: svc, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if iw, _ := overwrites(); iw != `{"request":{"input":"Output the number 7"}}` {
		t.Errorf("input overwrite = %s", iw)
	}

	if err := Run(t.Context(), &Options{Run: "last", Node: node, RevertInput: true, RevertOutput: true, Service: svc, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if iw, ow := overwrites(); (iw != "" && iw != "null") || (ow != "" && ow != "null") {
		t.Errorf("after revert: input %s output %s", iw, ow)
	}

	tests := []struct {
		name string
		opts Options
		code string
	}{
		{"nothing to do", Options{Run: "last", Node: node}, aco.EINVALID},
		{"value and revert", Options{Run: "last", Node: node, SetOutput: true, RevertOutput: true}, aco.EINVALID},
		{"bad json", Options{Run: "last", Node: node, SetOutput: true, Output: "{", JSON: true}, aco.EINVALID},
		{"json without a known key", Options{Run: "last", Node: node, SetOutput: true, Output: `{"x":1}`, JSON: true}, aco.EINVALID},
		{"unknown node", Options{Run: "last", Node: "zzzz", SetOutput: true}, aco.ENOTFOUND},
		{"ambiguous node", Options{Run: "last", Node: "", SetOutput: true}, aco.EINVALID},
		{"unknown run", Options{Run: "nope", Node: node, SetOutput: true}, aco.ENOTFOUND},
	}
	for _, tt := range tests {
		tt.opts.Service, tt.opts.Out = svc, &out
		if err := Run(t.Context(), &tt.opts); aco.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}
