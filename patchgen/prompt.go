package patchgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aco-dev/aco/patches"
)

// exampleBudget bounds the example declarations shown, in bytes.
const exampleBudget = 16000

const systemText = `You write patch declarations for aco, a tool that records the LLM calls of Python programs.
A declaration is YAML data that says where a Python SDK method lives and where, in its keyword
arguments (request) and its response (response), the model name, the input text and the output text
are. The schema and the selector grammar are in the documentation the user gives you; follow it exactly.

Answer with ONE YAML document in a single fenced block, and nothing else of substance:

` + "```yaml" + `
method:            # exactly one declaration, as one item of a file's methods list
  api: ...
  kind: llm
  ...
example:           # keyword arguments of one small, cheap call of the method, as YAML data
  model: ...       # the verifier makes this call against a mock LLM that answers
  ...              # "Output the number 42" with 42, so put that text where the prompt goes
` + "```" + `

Only if selectors truly cannot say something, name a hook (hook: module:attribute) and give its
Python source under a top-level key hook_source; a person reviews it before it is used.`

// buildPrompt makes the system text and the first user message: the
// schema's documentation, the introspection, and the nearest declarations.
func buildPrompt(root string, files []*patches.File, same *patches.File, in *Introspection) (system, user string, err error) {
	readme, err := os.ReadFile(filepath.Join(root, patches.Dir, "README.md"))
	if err != nil {
		return "", "", fmt.Errorf("cannot read the schema's documentation: %w", err)
	}
	var intro bytes.Buffer
	if err := json.Indent(&intro, in.raw, "", "  "); err != nil {
		intro.Write(in.raw)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Write the declaration of %s.\n\n", in.API)
	b.WriteString("## The schema (patches/README.md)\n\n")
	b.Write(readme)
	b.WriteString("\n\n## The method, introspected in the user's interpreter\n\n```json\n")
	b.Write(intro.Bytes())
	b.WriteString("\n```\n\n## The nearest existing declarations\n\n")
	for _, f := range nearest(root, files, same, in.API) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(&b, "### %s\n\n```yaml\n%s\n```\n\n", f.Path, data)
	}
	if same != nil {
		fmt.Fprintf(&b, "The method will be appended to %s; give only the method, not the sdk header.\n", same.Path)
	} else {
		fmt.Fprintf(&b, "No declarations of %s exist yet; aco writes the sdk header from the installed distribution.\n", in.Import)
	}
	return systemText, b.String(), nil
}

// nearest picks the files to show as examples: the SDK's own first, then
// the others with most methods sharing the method's last name (create,
// stream, ...), within exampleBudget.
func nearest(root string, files []*patches.File, same *patches.File, api string) []*patches.File {
	last := api[strings.LastIndexByte(api, '.')+1:]
	score := func(f *patches.File) int {
		if f == same {
			return 1 << 20
		}
		n := 0
		for _, m := range f.Methods {
			if strings.HasSuffix(m.API, "."+last) {
				n++
			}
		}
		return n
	}
	sorted := append([]*patches.File(nil), files...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && score(sorted[j]) > score(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	var out []*patches.File
	size := 0
	for _, f := range sorted {
		st, err := os.Stat(filepath.Join(root, filepath.FromSlash(f.Path)))
		n := 4000
		if err == nil {
			n = int(st.Size())
		}
		if len(out) > 0 && size+n > exampleBudget {
			break
		}
		out = append(out, f)
		size += n
	}
	return out
}
