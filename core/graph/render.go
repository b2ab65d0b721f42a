package graph

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/aco-dev/aco"
)

// Formats lists what Render can write.
var Formats = []string{"text", "json", "dot", "mermaid"}

// Render writes g in format (one of Formats).
func Render(w io.Writer, g *aco.Graph, format string) error {
	switch format {
	case "", "text":
		return renderText(w, g)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(jsonGraph(g))
	case "dot":
		return renderDOT(w, g)
	case "mermaid":
		return renderMermaid(w, g)
	}
	return aco.Errorf(aco.EINVALID, "unknown format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// jsonGraph makes sure empty lists are written as [] (scripts index them).
func jsonGraph(g *aco.Graph) *aco.Graph {
	out := *g
	if out.Nodes == nil {
		out.Nodes = []aco.Call{}
	}
	if out.Edges == nil {
		out.Edges = []aco.Edge{}
	}
	if out.Logs == nil {
		out.Logs = []aco.LogEntry{}
	}
	return &out
}

// ShortID is the prefix of an id shown to people; commands accept it back.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Snippet is s on one line, cut to at most n runes.
func Snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func label(c *aco.Call) string {
	if c.Model != "" {
		return c.Model
	}
	return c.API
}

func renderText(w io.Writer, g *aco.Graph) error {
	ew := &errWriter{w: w}
	r := g.Run
	ew.printf("run %s  %q  %s  %d calls  %s\n", ShortID(r.ID), r.Name, r.Status, len(g.Nodes), r.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	if len(g.Nodes) == 0 {
		ew.printf("  (no calls recorded)\n")
	}
	for i := range g.Nodes {
		c := &g.Nodes[i]
		ew.printf("\n  %s  %s  %s", ShortID(c.NodeID), label(c), c.API)
		if c.Origin != "" && c.Origin != aco.OriginNew {
			ew.printf("  [%s]", c.Origin)
		}
		ew.printf("\n")
		if c.Location != "" {
			ew.printf("    at  %s\n", c.Location)
		}
		ew.printf("    in  %s\n", Snippet(c.InputText, 100))
		ew.printf("    out %s\n", Snippet(c.OutputText, 100))
	}
	if len(g.Edges) > 0 {
		ew.printf("\n  edges\n")
		for _, e := range g.Edges {
			ew.printf("    %s -> %s  (%s)\n", ShortID(e.Source), ShortID(e.Target), e.Via)
		}
	}
	for _, l := range g.Logs {
		mark := "·"
		if l.Success != nil {
			mark = map[bool]string{true: "✓", false: "✗"}[*l.Success]
		}
		ew.printf("  log %s %s\n", mark, l.Entry)
	}
	return ew.err
}

func renderDOT(w io.Writer, g *aco.Graph) error {
	ew := &errWriter{w: w}
	ew.printf("digraph %q {\n  rankdir=TB;\n  node [shape=box, style=rounded];\n", "run "+ShortID(g.Run.ID))
	for i := range g.Nodes {
		c := &g.Nodes[i]
		ew.printf("  %q [label=%q];\n", c.NodeID, label(c)+"\n"+Snippet(c.OutputText, 40))
	}
	for _, e := range g.Edges {
		style := "solid"
		if e.Via == aco.ViaContent {
			style = "dashed"
		}
		ew.printf("  %q -> %q [style=%s];\n", e.Source, e.Target, style)
	}
	ew.printf("}\n")
	return ew.err
}

func renderMermaid(w io.Writer, g *aco.Graph) error {
	ew := &errWriter{w: w}
	ew.printf("flowchart TD\n")
	for i := range g.Nodes {
		c := &g.Nodes[i]
		ew.printf("  n%s[\"%s<br/>%s\"]\n", c.NodeID, mermaidText(label(c)), mermaidText(Snippet(c.OutputText, 40)))
	}
	for _, e := range g.Edges {
		arrow := "-->"
		if e.Via == aco.ViaContent {
			arrow = "-.->"
		}
		ew.printf("  n%s %s n%s\n", e.Source, arrow, e.Target)
	}
	return ew.err
}

// mermaidText escapes what would end a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

// errWriter keeps the first write error so renderers read straight through.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
