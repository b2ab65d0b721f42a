package patches

import (
	"fmt"
	"strconv"
	"strings"
)

// The version grammar is the release-number part of PEP 440 (1.66, 3.57.0),
// which is all the ranges of SDK declarations need; the shim compares the
// installed version the same way.

type version []int

func parseVersion(s string) (version, error) {
	var v version
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || part == "" || part[0] == '+' {
			return nil, fmt.Errorf("%q is not a version (expected numbers separated by dots, e.g. 3.57.0)", s)
		}
		v = append(v, n)
	}
	return v, nil
}

// compare orders versions with missing components as zeros (1.66 == 1.66.0).
func compare(a, b version) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

type clause struct {
	op string
	v  version
}

var rangeOps = []string{">=", "<=", "==", "!=", ">", "<"}

// parseRange parses comma-separated clauses such as ">=1.66,<4".
func parseRange(s string) ([]clause, error) {
	var out []clause
	for _, raw := range strings.Split(s, ",") {
		c := strings.TrimSpace(raw)
		op := ""
		for _, o := range rangeOps {
			if strings.HasPrefix(c, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("%q is not a version range (expected clauses like >=1.66,<4 with >=, <=, ==, !=, > or <)", s)
		}
		v, err := parseVersion(strings.TrimSpace(c[len(op):]))
		if err != nil {
			return nil, fmt.Errorf("in version range %q: %v", s, err)
		}
		out = append(out, clause{op, v})
	}
	return out, nil
}

func inRange(v version, spec []clause) bool {
	for _, c := range spec {
		r := compare(v, c.v)
		ok := map[string]bool{">=": r >= 0, "<=": r <= 0, "==": r == 0, "!=": r != 0, ">": r > 0, "<": r < 0}[c.op]
		if !ok {
			return false
		}
	}
	return true
}
