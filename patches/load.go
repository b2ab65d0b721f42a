package patches

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aco-dev/aco"
)

// Load reads and validates every *.yaml file in dir of fsys, sorted by name.
// Errors name the file, line and field and say what was expected; all the
// errors found are returned together.
func Load(fsys fs.FS, dir string) ([]*File, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var files []*File
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := Parse(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	errs = append(errs, crossCheck(files)...)
	if len(errs) > 0 {
		return nil, aco.Errorf(aco.EINVALID, "%s", errors.Join(errs...).Error())
	}
	return files, nil
}

// crossCheck finds what no single file can see: the same SDK or api id
// declared twice.
func crossCheck(files []*File) []error {
	var errs []error
	imports := map[string]string{}
	apis := map[string]string{}
	for _, f := range files {
		if prev, ok := imports[f.SDK.Import]; ok {
			errs = append(errs, fmt.Errorf("%s: sdk.import: %q is already declared in %s (one file per SDK)", f.Path, f.SDK.Import, prev))
		}
		imports[f.SDK.Import] = f.Path
		for i, m := range f.Methods {
			if prev, ok := apis[m.API]; ok {
				errs = append(errs, fmt.Errorf("%s: methods[%d].api: %q is already declared in %s (api ids are unique)", f.Path, i, m.API, prev))
			}
			apis[m.API] = f.Path
		}
	}
	return errs
}

var (
	moduleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dottedPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
	apiID      = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)
	distName   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	importName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// Parse validates one file's contents; name is how errors refer to it.
func Parse(name string, data []byte) (*File, error) {
	d := &decoder{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	stem := strings.TrimSuffix(path.Base(name), ".yaml")
	f := &File{Path: name, Name: stem}
	if !moduleName.MatchString(stem) {
		d.errorf(nil, "", "file name %q must be a Python module name (letters, digits, _)", stem)
	}
	if len(doc.Content) == 0 {
		d.errorf(nil, "", "empty file (expected schema, sdk and methods)")
		return nil, d.err()
	}
	top := d.mapping(doc.Content[0], "", []string{"schema", "sdk", "methods"}, []string{"schema", "sdk", "methods"})
	if n := top["schema"]; n != nil {
		v, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil || v != SchemaVersion {
			d.errorf(n, "schema", "unsupported schema version %q (expected %d)", n.Value, SchemaVersion)
		}
		f.Schema = v
	}
	if n := top["sdk"]; n != nil {
		f.SDK = d.sdk(n)
	}
	if n := top["methods"]; n != nil {
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			d.errorf(n, "methods", "expected a non-empty list of methods")
		} else {
			seen := map[string]bool{}
			for i, mn := range n.Content {
				m := d.method(mn, fmt.Sprintf("methods[%d]", i), f.SDK.Import)
				if m.API != "" && seen[m.API] {
					d.errorf(mn, fmt.Sprintf("methods[%d].api", i), "%q is declared twice", m.API)
				}
				seen[m.API] = true
				f.Methods = append(f.Methods, m)
			}
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// decoder walks yaml.v3 nodes, collecting errors that carry line numbers.
type decoder struct {
	file string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	if n == nil || n.Line == 0 {
		// About the whole file (its name, its emptiness): no line to point at.
		d.errs = append(d.errs, fmt.Errorf("%s: %s", d.file, msg))
		return
	}
	d.errs = append(d.errs, fmt.Errorf("%s:%d: %s", d.file, n.Line, msg))
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// mapping returns the values of a mapping node by key. Unknown keys and
// missing required keys are errors that list what is expected.
func (d *decoder) mapping(n *yaml.Node, prefix string, known, required []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, prefix, "expected a mapping with %s", strings.Join(known, ", "))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(known, k.Value) {
			d.errorf(k, join(prefix, k.Value), "unknown field (expected one of %s)", strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.errorf(k, join(prefix, k.Value), "field given twice")
		}
		out[k.Value] = v
	}
	for _, r := range required {
		if out[r] == nil {
			d.errorf(n, join(prefix, r), "missing (required)")
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str returns a scalar's value, checking it against re when given.
func (d *decoder) str(n *yaml.Node, field string, re *regexp.Regexp, expected string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		d.errorf(n, field, "expected %s", expected)
		return ""
	}
	if re != nil && !re.MatchString(n.Value) {
		d.errorf(n, field, "%q is not %s", n.Value, expected)
		return ""
	}
	return n.Value
}

func (d *decoder) sdk(n *yaml.Node) SDK {
	fields := []string{"distribution", "import", "versions", "verified", "changelog", "releases"}
	m := d.mapping(n, "sdk", fields, fields)
	s := SDK{
		Distribution: d.str(m["distribution"], "sdk.distribution", distName, "a distribution name (e.g. openai)"),
		Import:       d.str(m["import"], "sdk.import", importName, "an import name (e.g. openai or google.genai)"),
		Versions:     d.str(m["versions"], "sdk.versions", nil, "a version range (e.g. >=1.66,<4)"),
		Verified:     d.str(m["verified"], "sdk.verified", nil, "a version (e.g. 3.57.0)"),
		Changelog:    d.str(m["changelog"], "sdk.changelog", urlPattern, "an http(s) URL"),
		Releases:     d.str(m["releases"], "sdk.releases", urlPattern, "an http(s) URL"),
	}
	var spec []clause
	if s.Versions != "" {
		var err error
		if spec, err = parseRange(s.Versions); err != nil {
			d.errorf(m["versions"], "sdk.versions", "%v", err)
		}
	}
	if s.Verified != "" {
		v, err := parseVersion(s.Verified)
		switch {
		case err != nil:
			d.errorf(m["verified"], "sdk.verified", "%v", err)
		case spec != nil && !inRange(v, spec):
			d.errorf(m["verified"], "sdk.verified", "%s is outside sdk.versions %q (widen the range or verify again)", s.Verified, s.Versions)
		}
	}
	return s
}

var urlPattern = regexp.MustCompile(`^https?://\S+$`)

// selectorFields lists the selector fields of a method and the root each
// must start from.
var selectorFields = []struct {
	name, root, why string
}{
	{"passthrough", RootRequest, "passthrough reads the request"},
	{"model", RootRequest, "model reads the request"},
	{"input_text", RootRequest, "input_text reads the request"},
	{"output_text", RootResponse, "output_text reads the response"},
	{"set_input", RootRequest, "set_input edits the request"},
	{"set_output", RootResponse, "set_output edits the response"},
	{"attachments", RootRequest, "attachments reads the request"},
	{"tools", RootRequest, "tools reads the request"},
}

var (
	hookName = regexp.MustCompile(`^[a-z_][a-z0-9_]*:[A-Za-z_][A-Za-z0-9_]*$`)
	attrName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (d *decoder) method(n *yaml.Node, prefix, sdkImport string) Method {
	known := []string{"api", "kind", "target", "async_target", "response_type", "passthrough", "model", "input_text", "output_text", "set_input", "set_output", "attachments", "tools", "stream", "raw_response", "hook"}
	fields := d.mapping(n, prefix, known, []string{"api", "kind", "target"})
	m := Method{
		API:         d.str(fields["api"], prefix+".api", apiID, "an api id (lower-case dotted, e.g. openai.responses.create)"),
		Kind:        Kind(d.str(fields["kind"], prefix+".kind", nil, "llm, tool or taint")),
		Target:      d.target(fields["target"], prefix+".target", sdkImport),
		AsyncTarget: d.target(fields["async_target"], prefix+".async_target", sdkImport),
	}
	if kn := fields["kind"]; kn != nil && m.Kind != "" && m.Kind != KindLLM && m.Kind != KindTool && m.Kind != KindTaint {
		d.errorf(kn, prefix+".kind", "unknown kind %q (expected llm, tool or taint)", m.Kind)
	}
	if m.Kind == KindTaint {
		// Taint pass-through records nothing, so it has nothing to select.
		for _, f := range append([]string{"response_type", "stream", "raw_response", "hook"}, selectorNames()...) {
			if fn := fields[f]; fn != nil {
				d.errorf(fn, prefix+"."+f, "not used by kind taint (remove it)")
			}
		}
		return m
	}
	m.ResponseType = d.target(fields["response_type"], prefix+".response_type", sdkImport)
	sels := map[string][]Selector{}
	for _, sf := range selectorFields {
		sels[sf.name] = d.selectors(fields[sf.name], prefix+"."+sf.name, sf.root, sf.why)
	}
	m.Passthrough, m.Model, m.InputText, m.OutputText = sels["passthrough"], sels["model"], sels["input_text"], sels["output_text"]
	m.SetInput, m.SetOutput = sels["set_input"], sels["set_output"]
	m.Attachments, m.Tools = sels["attachments"], sels["tools"]
	if sn := fields["stream"]; sn != nil {
		m.Stream = d.stream(sn, prefix+".stream")
	}
	if rn := fields["raw_response"]; rn != nil {
		m.Raw = d.raw(rn, prefix+".raw_response")
	}
	m.Hook = d.str(fields["hook"], prefix+".hook", hookName, `a hook "module:attribute" naming pyshim/aco/patches/hooks/<module>.py (e.g. openai:parsed_chat_completion)`)
	required := []string{"response_type", "input_text"}
	if m.Kind == KindLLM {
		// An LLM node is edited in the UI by its input text, so it must say
		// where that goes. Output text is optional: embeddings have none.
		required = append(required, "model", "set_input")
	}
	if fields["set_output"] != nil && fields["output_text"] == nil {
		d.errorf(fields["set_output"], prefix+".output_text", "missing (set_output needs output_text to read the edit back)")
	}
	for _, r := range required {
		if fields[r] == nil {
			d.errorf(n, prefix+"."+r, "missing (required for kind %s)", m.Kind)
		}
	}
	return m
}

func selectorNames() []string {
	var out []string
	for _, sf := range selectorFields {
		out = append(out, sf.name)
	}
	return out
}

// target checks a dotted import path that must lie inside the SDK.
func (d *decoder) target(n *yaml.Node, field, sdkImport string) string {
	s := d.str(n, field, dottedPath, "a dotted import path (e.g. openai.resources.responses.Responses.create)")
	if s != "" && sdkImport != "" && !strings.HasPrefix(s, sdkImport+".") {
		d.errorf(n, field, "%q is outside the SDK (expected a path starting with %s.)", s, sdkImport)
		return ""
	}
	return s
}

// selectors reads a selector or a list of them; each must start at root.
func (d *decoder) selectors(n *yaml.Node, field, root, why string) []Selector {
	if n == nil {
		return nil
	}
	items := []*yaml.Node{n}
	list := n.Kind == yaml.SequenceNode
	if list {
		items = n.Content
		if len(items) == 0 {
			d.errorf(n, field, "expected a selector or a non-empty list of selectors")
		}
	}
	var out []Selector
	for i, item := range items {
		f := field
		if list {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		src := d.str(item, f, nil, "a selector such as "+root+".field[0].text")
		if src == "" {
			continue
		}
		sel, err := ParseSelector(src)
		if err != nil {
			d.errorf(item, f, "%v", err)
			continue
		}
		if sel.Root != root {
			d.errorf(item, f, "selector %q must start with %s (%s)", src, root, why)
			continue
		}
		out = append(out, sel)
	}
	return out
}

func (d *decoder) stream(n *yaml.Node, prefix string) *Stream {
	known := []string{"when", "always", "shape", "manager_attr", "text", "full_text"}
	f := d.mapping(n, prefix, known, []string{"text"})
	st := &Stream{Shape: ShapeIterator}
	st.When = d.selectors(f["when"], prefix+".when", RootRequest, "when reads the request")
	if an := f["always"]; an != nil {
		if an.Kind != yaml.ScalarNode || (an.Value != "true" && an.Value != "false") {
			d.errorf(an, prefix+".always", "expected true or false")
		}
		st.Always = an.Value == "true"
	}
	switch {
	case f["when"] == nil && !st.Always:
		d.errorf(n, prefix+".when", "missing (say when the call streams, or always: true for a method that always does)")
	case f["when"] != nil && st.Always:
		d.errorf(f["always"], prefix+".always", "give when or always: true, not both")
	}
	if sn := f["shape"]; sn != nil {
		st.Shape = StreamShape(d.str(sn, prefix+".shape", nil, "iterator or manager"))
		if st.Shape != "" && st.Shape != ShapeIterator && st.Shape != ShapeManager {
			d.errorf(sn, prefix+".shape", "unknown shape %q (expected iterator or manager)", st.Shape)
		}
	}
	st.ManagerAttr = d.str(f["manager_attr"], prefix+".manager_attr", attrName, "an attribute name (e.g. _MessageStreamManager__api_request)")
	if st.Shape == ShapeManager && f["manager_attr"] == nil {
		d.errorf(n, prefix+".manager_attr", "missing (required for shape manager: the attribute that opens the raw stream)")
	}
	if st.Shape != ShapeManager && f["manager_attr"] != nil {
		d.errorf(f["manager_attr"], prefix+".manager_attr", "only used by shape manager (remove it)")
	}
	st.Text = d.selectors(f["text"], prefix+".text", RootChunk, "text reads a chunk")
	st.FullText = d.selectors(f["full_text"], prefix+".full_text", RootChunk, "full_text reads a chunk")
	return st
}

func (d *decoder) raw(n *yaml.Node, prefix string) *Raw {
	f := d.mapping(n, prefix, []string{"when", "parse"}, []string{"when", "parse"})
	return &Raw{
		When:  d.selectors(f["when"], prefix+".when", RootRequest, "when reads the request"),
		Parse: d.str(f["parse"], prefix+".parse", attrName, "a method name of the raw wrapper (e.g. parse)"),
	}
}
