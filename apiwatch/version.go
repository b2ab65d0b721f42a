package apiwatch

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// pep440 matches the public part of a PEP 440 version: release, then
// optional pre-release, post-release and development segments.
var pep440 = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9.]+)?$`)

type version struct {
	release []int
	pre     bool // a pre-release or development release
	post    int  // -1 when there is none
}

func parseVersion(s string) (version, bool) {
	m := pep440.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return version{}, false
	}
	v := version{post: -1}
	for _, p := range strings.Split(m[1], ".") {
		n, _ := strconv.Atoi(p)
		v.release = append(v.release, n)
	}
	v.pre = m[2] != "" || strings.Contains(strings.ToLower(s), "dev")
	if m[4] != "" || strings.Contains(strings.ToLower(s), "post") {
		v.post, _ = strconv.Atoi(m[4])
	}
	return v, true
}

// cmp orders stable versions: release numbers (missing ones are zero), then
// post-releases after their release.
func (v version) cmp(w version) int {
	for i := 0; i < len(v.release) || i < len(w.release); i++ {
		var a, b int
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.post < w.post:
		return -1
	case v.post > w.post:
		return 1
	}
	return 0
}

// newerStable returns the stable versions newer than verified, oldest
// first, and the newest stable version. Pre-releases are left out: patches
// are verified against what users install by default.
func newerStable(versions []string, verified string) (newer []string, latest string) {
	base, ok := parseVersion(verified)
	if !ok {
		return nil, ""
	}
	type pv struct {
		s string
		v version
	}
	var stable []pv
	for _, s := range versions {
		v, ok := parseVersion(s)
		if !ok || v.pre {
			continue
		}
		stable = append(stable, pv{s, v})
	}
	sort.SliceStable(stable, func(i, j int) bool { return stable[i].v.cmp(stable[j].v) < 0 })
	for _, p := range stable {
		if p.v.cmp(base) > 0 {
			newer = append(newer, p.s)
		}
	}
	if len(stable) > 0 {
		latest = stable[len(stable)-1].s
	}
	return newer, latest
}
