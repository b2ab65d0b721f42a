package launcher

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aco-dev/aco"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want Args
	}{
		{[]string{"agent.py"}, Args{Script: "agent.py", ProgArgs: []string{}}},
		{[]string{"agent.py", "--help", "-m", "x", "--run-name", "n"},
			Args{Script: "agent.py", ProgArgs: []string{"--help", "-m", "x", "--run-name", "n"}}},
		{[]string{"-m", "pkg.mod", "-v", "--version"}, Args{Module: "pkg.mod", ProgArgs: []string{"-v", "--version"}}},
		{[]string{"-mpkg.mod"}, Args{Module: "pkg.mod", ProgArgs: []string{}}},
		{[]string{"-um", "pkg"}, Args{PyOpts: []string{"-u"}, Module: "pkg", ProgArgs: []string{}}},
		{[]string{"--run-name", "sample 3", "agent.py", "a"}, Args{RunName: "sample 3", Script: "agent.py", ProgArgs: []string{"a"}}},
		{[]string{"--run-name=x", "-u", "agent.py"}, Args{RunName: "x", PyOpts: []string{"-u"}, Script: "agent.py", ProgArgs: []string{}}},
		{[]string{"-u", "-X", "dev", "-W", "error", "-O", "-B", "s.py"},
			Args{PyOpts: []string{"-u", "-X", "dev", "-W", "error", "-O", "-B"}, Script: "s.py", ProgArgs: []string{}}},
		{[]string{"-OO", "-Xdev", "-Werror::DeprecationWarning", "s.py"},
			Args{PyOpts: []string{"-O", "-O", "-X", "dev", "-W", "error::DeprecationWarning"}, Script: "s.py", ProgArgs: []string{}}},
		{[]string{"-uBX", "importtime", "s.py"}, Args{PyOpts: []string{"-u", "-B", "-X", "importtime"}, Script: "s.py", ProgArgs: []string{}}},
		{[]string{"--check-hash-based-pycs", "never", "s.py"},
			Args{PyOpts: []string{"--check-hash-based-pycs", "never"}, Script: "s.py", ProgArgs: []string{}}},
		{[]string{"--", "-odd-name.py", "x"}, Args{Script: "-odd-name.py", ProgArgs: []string{"x"}}},
		{[]string{"--help", "agent.py"}, Args{Help: true}},
		{[]string{"-h"}, Args{Help: true}},
		{[]string{"--version"}, Args{Version: true}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := ParseArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got.ProgArgs == nil && tt.want.ProgArgs != nil {
				got.ProgArgs = []string{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseArgs = %+v\nwant        %+v", got, tt.want)
			}
		})
	}
}

func TestParseArgsUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no script given"},
		{[]string{"-u"}, "no script given"},
		{[]string{"--run-name"}, "--run-name needs an argument"},
		{[]string{"-m"}, "-m needs an argument"},
		{[]string{"-X"}, "-X needs an argument"},
		{[]string{"--frobnicate", "s.py"}, "unknown option --frobnicate"},
		{[]string{"-Z", "s.py"}, "unknown option -Z"},
		{[]string{"-c", "print(1)"}, "-c is not supported"},
		{[]string{"-E", "s.py"}, "ignore PYTHONPATH"},
		{[]string{"-I", "s.py"}, "ignore PYTHONPATH"},
		{[]string{"-"}, "stdin is not supported"},
		{[]string{"--"}, "no script given"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := ParseArgs(tt.args)
			if aco.ErrorCode(err) != aco.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseArgs(%q) = %v, want a usage error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
