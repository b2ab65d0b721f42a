package apiwatch

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aco-dev/aco/patches"
)

// Request is what to read from each release of the SDK file declares: every
// target and async twin, and the response fields the selectors read.
func Request(file *patches.File, root string) SurfaceRequest {
	req := SurfaceRequest{Root: root, Types: map[string][][]string{}}
	seen := map[string]bool{}
	for _, m := range file.Methods {
		for _, t := range []string{m.Target, m.AsyncTarget} {
			if t != "" && !seen[t] {
				seen[t] = true
				req.Targets = append(req.Targets, t)
			}
		}
		if m.ResponseType == "" {
			continue
		}
		paths := req.Types[m.ResponseType]
		for _, p := range responsePaths(m) {
			if !containsPath(paths, p) {
				paths = append(paths, p)
			}
		}
		req.Types[m.ResponseType] = paths
	}
	return req
}

// fieldPath is the fields a selector walks; indexes, [*] and filters keep
// the type they are applied to, so they drop out.
func fieldPath(s patches.Selector) []string {
	var p []string
	for _, st := range s.Steps {
		if st.Kind == patches.StepKey {
			p = append(p, st.Key)
		}
	}
	return p
}

func responsePaths(m patches.Method) [][]string {
	var out [][]string
	for _, s := range append(append([]patches.Selector{}, m.OutputText...), m.SetOutput...) {
		if p := fieldPath(s); len(p) > 0 && !containsPath(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func containsPath(ps [][]string, p []string) bool {
	for _, q := range ps {
		if strings.Join(q, ".") == strings.Join(p, ".") {
			return true
		}
	}
	return false
}

// requestParams maps each parameter a request selector of m starts from to
// the selectors reading it.
func requestParams(m patches.Method) map[string][]string {
	sels := [][]patches.Selector{m.Passthrough, m.Model, m.InputText, m.SetInput, m.Attachments, m.Tools}
	if m.Stream != nil {
		sels = append(sels, m.Stream.When)
	}
	if m.Raw != nil {
		sels = append(sels, m.Raw.When)
	}
	out := map[string][]string{}
	for _, group := range sels {
		for _, s := range group {
			if s.Root != patches.RootRequest || len(s.Steps) == 0 || s.Steps[0].Kind != patches.StepKey {
				continue
			}
			k := s.Steps[0].Key
			if !containsString(out[k], s.Text) {
				out[k] = append(out[k], s.Text)
			}
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Diff compares the surface of the verified release (old) with a newer one
// (new) and says, per declaration, what breaks, what needs review and what
// is merely new. Findings that differ only in the target (a method and its
// async twin) are merged.
func Diff(file *patches.File, old, new *Surface) []Finding {
	var fs []Finding
	add := func(f Finding) {
		for i := range fs {
			g := &fs[i]
			if g.Code == f.Code && g.Message == f.Message && g.Severity == f.Severity {
				for _, a := range f.APIs {
					if !containsString(g.APIs, a) {
						g.APIs = append(g.APIs, a)
					}
				}
				for _, t := range f.Targets {
					if !containsString(g.Targets, t) {
						g.Targets = append(g.Targets, t)
					}
				}
				return
			}
		}
		fs = append(fs, f)
	}
	// New methods are reported once per class, for every declaration in it.
	type classNews struct {
		apis, targets []string
		methods       []string
		where         string
	}
	news := map[string]*classNews{}
	var classes []string
	for _, m := range file.Methods {
		reads := requestParams(m)
		for _, t := range []string{m.Target, m.AsyncTarget} {
			if t == "" {
				continue
			}
			o, n := old.Targets[t], new.Targets[t]
			for _, f := range diffTarget(o, n, reads) {
				f.APIs, f.Targets = []string{m.API}, []string{t}
				add(f)
			}
			if !o.Found || !n.Found {
				continue
			}
			class := t[:strings.LastIndex(t, ".")]
			for _, name := range n.Methods {
				if containsString(o.Methods, name) {
					continue
				}
				c := news[class]
				if c == nil {
					c = &classNews{}
					news[class] = c
					classes = append(classes, class)
				}
				if !containsString(c.methods, name) {
					c.methods = append(c.methods, name)
				}
				if !containsString(c.apis, m.API) {
					c.apis = append(c.apis, m.API)
				}
				if !containsString(c.targets, t) {
					c.targets = append(c.targets, t)
				}
			}
		}
		if m.ResponseType != "" {
			for _, f := range diffType(m, old.Types[m.ResponseType], new.Types[m.ResponseType]) {
				f.APIs, f.Targets = []string{m.API}, []string{m.ResponseType}
				add(f)
			}
		}
	}
	for _, class := range classes {
		c := news[class]
		sort.Strings(c.methods)
		msg := fmt.Sprintf("new public method %s beside the patched one", quoteList(c.methods))
		if len(c.methods) > 1 {
			msg = fmt.Sprintf("new public methods %s beside the patched one", quoteList(c.methods))
		}
		add(Finding{Severity: Info, Code: "method-added", APIs: c.apis, Targets: c.targets, Message: msg})
	}
	sort.SliceStable(fs, func(i, j int) bool { return rank(fs[i].Severity) < rank(fs[j].Severity) })
	return fs
}

func rank(s Severity) int {
	switch s {
	case Breaking:
		return 0
	case Review:
		return 1
	}
	return 2
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}

func diffTarget(o, n TargetSurface, reads map[string][]string) []Finding {
	switch {
	case !o.Found && !n.Found:
		return []Finding{{Severity: Review, Code: "target-unreadable",
			Message: "aco cannot find the target in the source of either release; check the declaration by hand"}}
	case !o.Found:
		return []Finding{{Severity: Info, Code: "target-appeared", Where: n.Where,
			Message: "the target exists now but aco could not find it in the verified release"}}
	case !n.Found:
		if len(n.MovedTo) > 0 {
			return []Finding{{Severity: Breaking, Code: "target-moved",
				Message: fmt.Sprintf("the target is gone; the same class and method are now at %s", quoteList(n.MovedTo))}}
		}
		return []Finding{{Severity: Breaking, Code: "target-removed", Message: "the target was removed"}}
	}
	var fs []Finding
	isDef := func(k string) bool { return k == "method" || k == "function" }
	if isDef(o.Kind) && !isDef(n.Kind) {
		return []Finding{{Severity: Review, Code: "target-not-def", Where: n.Where,
			Message: fmt.Sprintf("the target is no longer a def but a %s; aco cannot read its signature", n.Kind)}}
	}
	if o.IsAsync != n.IsAsync {
		word := map[bool]string{true: "async", false: "sync"}
		fs = append(fs, Finding{Severity: Breaking, Code: "target-async-changed", Where: n.Where,
			Message: fmt.Sprintf("the target changed from %s to %s", word[o.IsAsync], word[n.IsAsync])})
	}
	fs = append(fs, diffParams(o.Params, n.Params, reads, n.Where)...)
	if o.Returns != n.Returns {
		fs = append(fs, Finding{Severity: Review, Code: "return-annotation-changed", Where: n.Where,
			Message: fmt.Sprintf("return annotation changed from `%s` to `%s`", o.Returns, n.Returns)})
	}
	return fs
}

func readBy(reads map[string][]string, name string) string {
	if sels := reads[name]; len(sels) > 0 {
		return fmt.Sprintf(" (read by %s)", quoteList(sels))
	}
	return ""
}

func required(p Param) bool {
	return !p.HasDefault && p.Kind != "var_positional" && p.Kind != "var_keyword"
}

func positional(p Param) bool {
	return p.Kind == "positional_only" || p.Kind == "positional_or_keyword"
}

func defaultText(p Param) string {
	if p.Default == nil {
		return ""
	}
	return *p.Default
}

func diffParams(op, np []Param, reads map[string][]string, where string) []Finding {
	index := func(ps []Param) map[string]int {
		m := map[string]int{}
		for i, p := range ps {
			m[p.Name] = i
		}
		return m
	}
	oi, ni := index(op), index(np)
	var removed, added []int
	for i, p := range op {
		if _, ok := ni[p.Name]; !ok {
			removed = append(removed, i)
		}
	}
	for i, p := range np {
		if _, ok := oi[p.Name]; !ok {
			added = append(added, i)
		}
	}
	var fs []Finding
	// A parameter removed where one of the same kind appears, at the same
	// place or as the only change, was renamed.
	renamedTo := map[int]int{}
	usedAdded := map[int]bool{}
	for _, r := range removed {
		for _, a := range added {
			if usedAdded[a] || op[r].Kind != np[a].Kind {
				continue
			}
			if a == r || (len(removed) == 1 && len(added) == 1) {
				renamedTo[r], usedAdded[a] = a, true
				break
			}
		}
	}
	for _, r := range removed {
		p := op[r]
		if a, ok := renamedTo[r]; ok {
			fs = append(fs, Finding{Severity: Breaking, Code: "param-renamed", Where: where,
				Message: fmt.Sprintf("parameter `%s` renamed to `%s`%s", p.Name, np[a].Name, readBy(reads, p.Name))})
			continue
		}
		fs = append(fs, Finding{Severity: Breaking, Code: "param-removed", Where: where,
			Message: fmt.Sprintf("parameter `%s` removed%s", p.Name, readBy(reads, p.Name))})
	}
	for _, a := range added {
		if usedAdded[a] {
			continue
		}
		p := np[a]
		if required(p) {
			fs = append(fs, Finding{Severity: Breaking, Code: "param-required-added", Where: where,
				Message: fmt.Sprintf("new required parameter `%s`", p.Name)})
			continue
		}
		msg := fmt.Sprintf("new optional parameter `%s`", p.Name)
		if p.Default != nil {
			msg += fmt.Sprintf(" (default `%s`)", *p.Default)
		}
		fs = append(fs, Finding{Severity: Info, Code: "param-added", Where: where, Message: msg})
	}
	// Defaults that change the same way (an SDK swapping its NOT_GIVEN
	// sentinel) make one finding, not one per parameter.
	type change struct{ from, to string }
	byChange := map[change][]string{}
	var changes []change
	var oldPos, newPos []string
	for _, p := range op {
		j, ok := ni[p.Name]
		if !ok {
			continue
		}
		q := np[j]
		if positional(p) && positional(q) {
			oldPos = append(oldPos, p.Name)
		}
		if p.Kind != q.Kind {
			fs = append(fs, Finding{Severity: Breaking, Code: "param-kind-changed", Where: where,
				Message: fmt.Sprintf("parameter `%s` changed from %s to %s%s", p.Name, kindWords(p.Kind), kindWords(q.Kind), readBy(reads, p.Name))})
		}
		switch {
		case p.HasDefault && required(q):
			fs = append(fs, Finding{Severity: Breaking, Code: "param-now-required", Where: where,
				Message: fmt.Sprintf("parameter `%s` is required now (its default `%s` was removed)", p.Name, defaultText(p))})
		case required(p) && q.HasDefault:
			fs = append(fs, Finding{Severity: Info, Code: "param-now-optional", Where: where,
				Message: fmt.Sprintf("parameter `%s` is optional now (default `%s`)", p.Name, defaultText(q))})
		case p.HasDefault && q.HasDefault && defaultText(p) != defaultText(q):
			c := change{defaultText(p), defaultText(q)}
			if byChange[c] == nil {
				changes = append(changes, c)
			}
			byChange[c] = append(byChange[c], p.Name)
		}
		if p.Annotation != q.Annotation && len(reads[p.Name]) > 0 {
			fs = append(fs, Finding{Severity: Review, Code: "param-type-changed", Where: where,
				Message: fmt.Sprintf("type of `%s` changed from `%s` to `%s`%s", p.Name, p.Annotation, q.Annotation, readBy(reads, p.Name))})
		}
	}
	for _, c := range changes {
		names := byChange[c]
		what := fmt.Sprintf("default of %s", quoteList(names))
		if len(names) > 1 {
			what = fmt.Sprintf("defaults of %d parameters (%s)", len(names), quoteList(names))
		}
		fs = append(fs, Finding{Severity: Breaking, Code: "param-default-changed", Where: where,
			Message: fmt.Sprintf("%s changed from `%s` to `%s`", what, c.from, c.to)})
	}
	for _, q := range np {
		if _, ok := oi[q.Name]; ok && positional(q) {
			if p := op[oi[q.Name]]; positional(p) {
				newPos = append(newPos, q.Name)
			}
		}
	}
	if strings.Join(oldPos, ",") != strings.Join(newPos, ",") {
		fs = append(fs, Finding{Severity: Breaking, Code: "param-order-changed", Where: where,
			Message: fmt.Sprintf("positional parameters reordered from (%s) to (%s)", strings.Join(oldPos, ", "), strings.Join(newPos, ", "))})
	}
	return fs
}

func kindWords(k string) string { return strings.ReplaceAll(k, "_", "-") }

func diffType(m patches.Method, o, n TypeSurface) []Finding {
	if !o.Found {
		return nil // nothing known to compare with; the target findings say more
	}
	if !n.Found {
		return []Finding{{Severity: Breaking, Code: "response-type-removed",
			Message: "the response type recorded calls are rebuilt with is gone"}}
	}
	status := func(ps []FieldPath, p []string) (FieldPath, bool) {
		for _, fp := range ps {
			if strings.Join(fp.Path, ".") == strings.Join(p, ".") {
				return fp, true
			}
		}
		return FieldPath{}, false
	}
	var fs []Finding
	for _, p := range responsePaths(m) {
		a, ok1 := status(o.Paths, p)
		b, ok2 := status(n.Paths, p)
		if !ok1 || !ok2 || a.Status != "ok" {
			continue
		}
		sel := selectorsReading(m, p)
		switch b.Status {
		case "missing":
			fs = append(fs, Finding{Severity: Breaking, Code: "response-field-removed", Where: n.Where,
				Message: fmt.Sprintf("response field `%s` is gone (read by %s)", strings.Join(p[:b.At+1], "."), quoteList(sel))})
		case "unknown":
			fs = append(fs, Finding{Severity: Review, Code: "response-field-unreadable", Where: n.Where,
				Message: fmt.Sprintf("aco can no longer follow the type of `%s` (read by %s)", strings.Join(p[:b.At], "."), quoteList(sel))})
		}
	}
	return fs
}

func selectorsReading(m patches.Method, p []string) []string {
	var out []string
	for _, s := range append(append([]patches.Selector{}, m.OutputText...), m.SetOutput...) {
		if strings.Join(fieldPath(s), ".") == strings.Join(p, ".") && !containsString(out, s.Text) {
			out = append(out, s.Text)
		}
	}
	return out
}
