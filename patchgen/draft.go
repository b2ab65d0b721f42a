package patchgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Draft is one answer of the model, parsed. Nothing in it is executed: the
// method is YAML checked by the patches package, the example is JSON data,
// and a hook's source is only written to a file.
type Draft struct {
	Method     *yaml.Node      // the declaration's mapping
	MethodYAML string          // the declaration as it will be written
	Example    json.RawMessage // keyword arguments of one call
	HookSource string          // Python source of a new hook, when proposed
}

var fence = regexp.MustCompile("(?s)```(?:ya?ml)?[ \t]*\n(.*?)```")

// parseDraft reads the model's answer: one YAML document with method,
// example and, optionally, hook_source. A fenced block is taken when there
// is one, since models like to wrap YAML in prose.
func parseDraft(answer string) (*Draft, error) {
	text := answer
	if m := fence.FindStringSubmatch(answer); m != nil {
		text = m[1]
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("the answer is empty; answer with one YAML document holding method and example")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("the answer is not YAML (%v); answer with one YAML document holding method and example", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the answer is not a YAML mapping; expected top-level keys method, example and optionally hook_source")
	}
	top := doc.Content[0]
	d := &Draft{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "method":
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: method must be a mapping (one declaration: api, kind, target, ...)", v.Line)
			}
			d.Method = v
		case "example":
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: example must be a mapping of the keyword arguments of one call", v.Line)
			}
			var ex map[string]any
			if err := v.Decode(&ex); err != nil {
				return nil, fmt.Errorf("line %d: example: %v", v.Line, err)
			}
			raw, err := json.Marshal(ex)
			if err != nil {
				return nil, fmt.Errorf("line %d: example is not JSON data: %v", v.Line, err)
			}
			d.Example = raw
		case "hook_source":
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: hook_source must be a string (a block scalar holding Python)", v.Line)
			}
			d.HookSource = v.Value
		default:
			return nil, fmt.Errorf("line %d: unknown top-level key %q (expected method, example, hook_source)", k.Line, k.Value)
		}
	}
	if d.Method == nil {
		return nil, fmt.Errorf("the answer has no method (the declaration)")
	}
	if d.Example == nil {
		return nil, fmt.Errorf("the answer has no example (keyword arguments of one small call the verifier makes)")
	}
	d.MethodYAML = encodeItem(d.Method)
	return d, nil
}

// field returns the scalar value of key in mapping n.
func field(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// dropField removes key from mapping n.
func dropField(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

// encodeItem renders a mapping as one item of a block sequence ("- api: …").
func encodeItem(n *yaml.Node) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}}); err != nil {
		panic(err) // a node parsed from YAML always encodes
	}
	enc.Close()
	return b.String()
}

// appendMethod adds a declaration to the methods of a declaration file. When
// methods is the file's last key (as in every file so far) the item is
// appended as text in the file's own indentation, so everything already
// there, comments and blank lines included, stays byte for byte; otherwise
// the file is re-encoded from its nodes, which keeps comments but not all of
// the layout.
func appendMethod(file []byte, item string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a declaration file (no top-level mapping)")
	}
	top := doc.Content[0]
	idx := -1
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "methods" {
			idx = i
		}
	}
	if idx < 0 || top.Content[idx+1].Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("the file has no list of methods")
	}
	seq := top.Content[idx+1]
	if idx == len(top.Content)-2 && len(seq.Content) > 0 && seq.Style&yaml.FlowStyle == 0 {
		// The column of an item's first key is two past its dash.
		indent := strings.Repeat(" ", max(seq.Content[0].Column-3, 0))
		var b bytes.Buffer
		b.Write(file)
		if !bytes.HasSuffix(file, []byte("\n")) {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
		for _, line := range strings.SplitAfter(strings.TrimRight(item, "\n")+"\n", "\n") {
			if strings.TrimSpace(line) != "" {
				b.WriteString(indent)
			}
			b.WriteString(line)
		}
		return b.Bytes(), nil
	}
	var added yaml.Node
	if err := yaml.Unmarshal([]byte(item), &added); err != nil {
		return nil, err
	}
	seq.Content = append(seq.Content, added.Content[0].Content...)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	enc.Close()
	return b.Bytes(), nil
}

// newFile is a declaration file for an SDK with no declarations yet; the
// sdk header comes from the installed distribution's metadata.
func newFile(in *Introspection, item string) []byte {
	major, minor := "0", "0"
	parts := strings.Split(in.Version, ".")
	if len(parts) > 0 && parts[0] != "" {
		major = parts[0]
	}
	if len(parts) > 1 {
		minor = parts[1]
	}
	next := major + "1" // not a number: a range that still parses
	if m, err := strconv.Atoi(major); err == nil {
		next = strconv.Itoa(m + 1)
	}
	repo := ""
	for _, label := range []string{"Repository", "Source", "Source Code", "Homepage", "Home-page"} {
		if u := in.ProjectURLs[label]; strings.HasPrefix(u, "https://github.com/") {
			repo = strings.TrimSuffix(strings.TrimRight(u, "/"), ".git")
			break
		}
	}
	releases := "https://pypi.org/project/" + in.Distribution + "/#history"
	if repo != "" {
		releases = repo + "/releases"
	}
	changelog := releases
	for label, u := range in.ProjectURLs {
		if strings.EqualFold(label, "changelog") && strings.HasPrefix(u, "http") {
			changelog = u
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Patch declarations for the %s Python SDK, first drafted by `aco patchgen`.\n", in.Distribution)
	b.WriteString("# Render with `aco patches render`; the grammar of every field is in patches/README.md.\n")
	b.WriteString("schema: 1\nsdk:\n")
	fmt.Fprintf(&b, "  distribution: %s\n  import: %s\n", in.Distribution, in.Import)
	fmt.Fprintf(&b, "  versions: \">=%s.%s,<%s\"\n  verified: %q\n", major, minor, next, in.Version)
	fmt.Fprintf(&b, "  changelog: %s\n  releases: %s\nmethods:\n", changelog, releases)
	for _, line := range strings.SplitAfter(strings.TrimRight(item, "\n")+"\n", "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return []byte(b.String())
}
