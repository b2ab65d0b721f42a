// Package apiwatch finds SDK releases that change what the patch
// declarations (patches/*.yaml) rely on. For each SDK it asks a package
// index for releases newer than the verified one, reads the API surface of
// every patched target in both releases' source (pyshim/aco/apisurface.py,
// stdlib ast: nothing is installed or imported), diffs them and reports the
// findings, as text, JSON or Markdown and as one tracker issue per release.
//
// The index (apiwatch/pypi), the surface reader (a Python process) and the
// issue tracker (apiwatch/githubissues) come in through the interfaces
// below, so the whole flow runs in tests against fakes served on port 0.
package apiwatch

import (
	"context"
	"io"
)

// Severity says what a finding means for a declaration.
type Severity string

const (
	// Breaking: the patch no longer fits (a target, parameter or response
	// field it relies on changed or went away).
	Breaking Severity = "breaking"
	// Review: something the patch touches changed in a way aco cannot judge.
	Review Severity = "needs-review"
	// Info: merely new (an optional parameter, a method beside a patched one).
	Info Severity = "informational"
)

// Finding is one change between the verified release and a newer one.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is stable for machines: target-removed, target-moved, param-renamed, ...
	Code    string   `json:"code"`
	APIs    []string `json:"apis"`    // the declarations affected
	Targets []string `json:"targets"` // the patched targets (or response types) it concerns
	Message string   `json:"message"`
	Where   string   `json:"where,omitempty"` // file:line in the newer release, when known
}

// Links point the maintainer at what the SDK says about a release.
type Links struct {
	ReleaseNotes string `json:"release_notes,omitempty"`
	Compare      string `json:"compare,omitempty"`
	Changelog    string `json:"changelog,omitempty"`
}

// ReleaseReport is what one newer release of an SDK changes.
type ReleaseReport struct {
	SDK          string    `json:"sdk"` // the declaration file's name, e.g. openai
	Distribution string    `json:"distribution"`
	File         string    `json:"file"` // the declaration file, e.g. patches/openai.yaml
	Verified     string    `json:"verified"`
	Version      string    `json:"version"`
	Findings     []Finding `json:"findings"`
	Links        Links     `json:"links"`
	Issue        *IssueRef `json:"issue,omitempty"`
}

// Breaking counts the breaking findings.
func (r *ReleaseReport) Breaking() int { return r.count(Breaking) }

func (r *ReleaseReport) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// SDKStatus is what the index said about one declared SDK.
type SDKStatus struct {
	SDK          string   `json:"sdk"`
	Distribution string   `json:"distribution"`
	Verified     string   `json:"verified"`
	Latest       string   `json:"latest,omitempty"` // the newest stable release on the index
	Newer        []string `json:"newer"`            // stable releases newer than Verified, oldest first
	Error        string   `json:"error,omitempty"`
}

// Report is the outcome of one `aco apiwatch` run.
type Report struct {
	SDKs     []SDKStatus     `json:"sdks"`
	Releases []ReleaseReport `json:"releases"`
}

// Breaking counts the breaking findings of every release.
func (r *Report) Breaking() int {
	n := 0
	for i := range r.Releases {
		n += r.Releases[i].Breaking()
	}
	return n
}

// Failed reports whether any SDK could not be checked.
func (r *Report) Failed() bool {
	for _, s := range r.SDKs {
		if s.Error != "" {
			return true
		}
	}
	return false
}

// DistFile is one downloadable file of a release.
type DistFile struct {
	Filename string
	URL      string
	SHA256   string // hex; the download is refused when it does not match
	Size     int64  // 0 when the index does not say
	Kind     string // "wheel" or "sdist"
	Yanked   bool
}

// Release is one version of a distribution on the index.
type Release struct {
	Version string
	Files   []DistFile
}

// Index is a Python package index.
type Index interface {
	// Versions lists every version of the distribution the index knows.
	Versions(ctx context.Context, distribution string) ([]string, error)
	// Release returns the files of one version.
	Release(ctx context.Context, distribution, version string) (*Release, error)
	// Download writes the file to w, failing when its SHA-256 differs from
	// the one the index published.
	Download(ctx context.Context, f DistFile, w io.Writer) error
}

// SurfaceRequest asks for the API surface of targets and response types in
// an unpacked release.
type SurfaceRequest struct {
	Root    string                `json:"root"` // the directory holding the top-level package
	Targets []string              `json:"targets"`
	Types   map[string][][]string `json:"types"` // response type -> field paths selectors read
}

// Surface is what apisurface.py read from one release.
type Surface struct {
	Targets map[string]TargetSurface `json:"targets"`
	Types   map[string]TypeSurface   `json:"types"`
}

// TargetSurface is one patched method as its source defines it.
type TargetSurface struct {
	Found     bool     `json:"found"`
	Where     string   `json:"where"`
	Kind      string   `json:"kind"` // method, function, attribute, class, module
	IsAsync   bool     `json:"is_async"`
	Params    []Param  `json:"params"`
	Returns   string   `json:"returns"`
	Overloads int      `json:"overloads"`
	Methods   []string `json:"methods"`  // public methods of the owning class
	MovedTo   []string `json:"moved_to"` // where a missing Class.method is defined now
	Error     string   `json:"error"`
}

// Param is one parameter of a target's signature.
type Param struct {
	Name       string  `json:"name"`
	Kind       string  `json:"kind"` // positional_only, positional_or_keyword, var_positional, keyword_only, var_keyword
	HasDefault bool    `json:"has_default"`
	Default    *string `json:"default"`
	Annotation string  `json:"annotation"`
}

// TypeSurface says which field paths of a response type exist.
type TypeSurface struct {
	Found bool        `json:"found"`
	Where string      `json:"where"`
	Paths []FieldPath `json:"paths"`
}

// FieldPath is one path of fields and whether the type's annotations reach it.
type FieldPath struct {
	Path   []string `json:"path"`
	Status string   `json:"status"` // ok, missing (Path[At] exists nowhere), unknown
	At     int      `json:"at"`
}

// SurfaceReader reads the API surface of an unpacked release.
type SurfaceReader interface {
	Surface(ctx context.Context, req SurfaceRequest) (*Surface, error)
}

// Issue is what the tracker should hold for one release.
type Issue struct {
	Marker string // a hidden string in the body that finds the issue again
	Title  string
	Body   string
	Labels []string
}

// IssueRef says what the tracker did with an issue.
type IssueRef struct {
	Number int    `json:"number,omitempty"`
	URL    string `json:"url,omitempty"`
	Action string `json:"action"` // created, updated, unchanged, dry-run
	Title  string `json:"title"`
	// Labels and Body are filled on a dry run, which shows the issue
	// instead of filing it.
	Labels []string `json:"labels,omitempty"`
	Body   string   `json:"body,omitempty"`
}

// Tracker keeps one issue per marker.
type Tracker interface {
	// Upsert creates the issue, or updates the one whose body holds its
	// marker (open or closed), so reruns never duplicate it.
	Upsert(ctx context.Context, is Issue) (*IssueRef, error)
}
