package apiwatch

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
)

// Label is put on every issue apiwatch files; the tracker lists issues by
// it to find the one a marker names.
const Label = "apiwatch"

// Marker is the hidden line that finds a release's issue again.
func Marker(sdk, version string) string {
	return fmt.Sprintf("<!-- aco-apiwatch sdk=%s version=%s -->", sdk, version)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Title says the release and the weightiest kind of finding it has.
func (r *ReleaseReport) Title() string {
	var what string
	switch {
	case r.Breaking() > 0:
		what = plural(r.Breaking(), "breaking change", "breaking changes")
	case r.count(Review) > 0:
		what = plural(r.count(Review), "change to review", "changes to review")
	default:
		what = plural(len(r.Findings), "new API", "new APIs")
	}
	return fmt.Sprintf("%s %s: %s for our patches", r.Distribution, r.Version, what)
}

// IssueFor renders the tracker issue of a release.
func IssueFor(r *ReleaseReport) Issue {
	labels := []string{Label, "sdk:" + r.SDK}
	if r.Breaking() > 0 {
		labels = append(labels, "breaking")
	}
	return Issue{Marker: Marker(r.SDK, r.Version), Title: r.Title(), Body: issueBody(r), Labels: labels}
}

func issueBody(r *ReleaseReport) string {
	var b strings.Builder
	fmt.Fprintln(&b, Marker(r.SDK, r.Version))
	fmt.Fprintf(&b, "`%s` %s changes what our patch declarations in `%s` rely on. "+
		"Compared with %s, the version they were verified with, by reading both releases' source "+
		"(`aco apiwatch`): %s, %s, %s.\n\n",
		r.Distribution, r.Version, r.File, r.Verified,
		plural(r.Breaking(), "breaking", "breaking"), plural(r.count(Review), "to review", "to review"),
		plural(r.count(Info), "informational", "informational"))
	writeTable(&b, r.Findings)
	fmt.Fprintln(&b, "\n### Affected declarations")
	for _, api := range affected(r.Findings) {
		fmt.Fprintf(&b, "- `%s` (%s)\n", api, r.File)
	}
	fmt.Fprintln(&b, "\n### Links")
	if r.Links.ReleaseNotes != "" {
		fmt.Fprintf(&b, "- Release notes: %s\n", r.Links.ReleaseNotes)
	}
	if r.Links.Compare != "" {
		fmt.Fprintf(&b, "- Changes %s…%s: %s\n", r.Verified, r.Version, r.Links.Compare)
	}
	if r.Links.Changelog != "" {
		fmt.Fprintf(&b, "- Changelog entry: %s\n", r.Links.Changelog)
	}
	fmt.Fprintf(&b, "\n### What to do\nFix the declarations in `%s`, run `aco patches render` and the flow tests "+
		"against %s %s, then set `verified: \"%s\"`. This issue is updated when `aco apiwatch` runs again.\n",
		r.File, r.Distribution, r.Version, r.Version)
	return b.String()
}

func affected(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		for _, a := range f.APIs {
			if !containsString(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// cell keeps a table cell on one line and its pipes (Optional[str] | None)
// from splitting it.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

func codeList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, "<br>")
}

func writeTable(w io.Writer, fs []Finding) {
	fmt.Fprintln(w, "| severity | declaration | target | change |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, f := range fs {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", f.Severity, cell(codeList(f.APIs)), cell(codeList(f.Targets)), cell(f.Message))
	}
}

// ReleaseLinks derives the release notes, compare view and changelog links
// of a release from the declaration's URLs. GitHub tags are taken to be
// "v" + version, as the SDKs aco patches tag them.
func ReleaseLinks(releasesURL, changelogURL, verified, version string) Links {
	l := Links{ReleaseNotes: releasesURL, Changelog: changelogURL}
	u, err := url.Parse(releasesURL)
	if err == nil && u.Host == "github.com" {
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 2 {
			repo := "https://github.com/" + parts[0] + "/" + parts[1]
			l.ReleaseNotes = repo + "/releases/tag/v" + version
			l.Compare = repo + "/compare/v" + verified + "...v" + version
		}
	}
	return l
}

// WriteJSON writes the report for machines.
func WriteJSON(w io.Writer, r *Report) error {
	if r.Releases == nil {
		r.Releases = []ReleaseReport{}
	}
	for i := range r.Releases {
		if r.Releases[i].Findings == nil {
			r.Releases[i].Findings = []Finding{}
		}
	}
	for i := range r.SDKs {
		if r.SDKs[i].Newer == nil {
			r.SDKs[i].Newer = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people at a terminal.
func WriteText(w io.Writer, r *Report) error {
	for _, s := range r.SDKs {
		switch {
		case s.Error != "":
			fmt.Fprintf(w, "%s: error: %s\n", s.SDK, s.Error)
		case len(s.Newer) == 0:
			fmt.Fprintf(w, "%s: verified %s, latest %s: nothing new\n", s.SDK, s.Verified, s.Latest)
		default:
			fmt.Fprintf(w, "%s: verified %s, newer: %s\n", s.SDK, s.Verified, strings.Join(s.Newer, ", "))
		}
	}
	for i := range r.Releases {
		rel := &r.Releases[i]
		fmt.Fprintf(w, "\n%s\n", rel.Title())
		if len(rel.Findings) == 0 {
			fmt.Fprintln(w, "  no change to any patched target")
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range rel.Findings {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Severity, strings.Join(f.APIs, ", "), f.Message)
		}
		tw.Flush()
		if rel.Issue != nil && rel.Issue.URL != "" {
			fmt.Fprintf(w, "  issue %s: %s\n", rel.Issue.Action, rel.Issue.URL)
		}
	}
	return nil
}

// WriteMarkdown writes the report as one Markdown document (a CI summary).
func WriteMarkdown(w io.Writer, r *Report) error {
	fmt.Fprintln(w, "# aco apiwatch")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| sdk | verified | latest | newer releases |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, s := range r.SDKs {
		newer := strings.Join(s.Newer, ", ")
		if s.Error != "" {
			newer = "error: " + s.Error
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", s.SDK, s.Verified, s.Latest, cell(newer))
	}
	for i := range r.Releases {
		rel := &r.Releases[i]
		fmt.Fprintf(w, "\n## %s\n\n", rel.Title())
		if len(rel.Findings) == 0 {
			fmt.Fprintln(w, "No change to any patched target.")
			continue
		}
		writeTable(w, rel.Findings)
		if rel.Issue != nil && rel.Issue.URL != "" {
			fmt.Fprintf(w, "\nIssue (%s): %s\n", rel.Issue.Action, rel.Issue.URL)
		}
	}
	return nil
}
