package apiwatch_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

// tracker keeps issues by marker, as githubissues does on GitHub. (The
// githubissues package is not used here: go-github's go-querystring has no
// go.sum entry yet, so it does not build; see the plugins report.)
type tracker struct{ issues []apiwatch.Issue }

func (tr *tracker) Upsert(_ context.Context, is apiwatch.Issue) (*apiwatch.IssueRef, error) {
	for i, old := range tr.issues {
		if strings.Contains(old.Body, is.Marker) {
			tr.issues[i] = is
			return &apiwatch.IssueRef{Number: i + 1, URL: fmt.Sprintf("https://github.example/issues/%d", i+1), Action: "updated", Title: is.Title}, nil
		}
	}
	tr.issues = append(tr.issues, is)
	n := len(tr.issues)
	return &apiwatch.IssueRef{Number: n, URL: fmt.Sprintf("https://github.example/issues/%d", n), Action: "created", Title: is.Title}, nil
}

func issueNotifier(t *testing.T) (apiwatch.IssueNotifier, *tracker) {
	tr := &tracker{}
	return apiwatch.IssueNotifier{Tracker: tr}, tr
}

// The built-in GitHub notifier passes the suite every notifier plugin passes.
func TestIssueNotifierSuite(t *testing.T) {
	n, gh := issueNotifier(t)
	pluginstest.NotifierSuite(t, n, func(t *testing.T) string {
		issues := gh.issues
		if len(issues) != 1 {
			t.Fatalf("issues = %+v, want one", issues)
		}
		return issues[0].Title + "\n" + issues[0].Body
	})
}

// Through the notifier, a release report becomes exactly the issue apiwatch
// files itself, so either path updates the same issue.
func TestNotifierReportMakesTheSameIssue(t *testing.T) {
	rr := &apiwatch.ReleaseReport{
		SDK: "openai", Distribution: "openai", File: "patches/openai.yaml", Verified: "3.51.0", Version: "3.52.0",
		Findings: []apiwatch.Finding{
			{Severity: apiwatch.Breaking, Code: "param-renamed", APIs: []string{"openai.responses.create"}, Targets: []string{"openai.resources.responses.Responses.create"}, Message: "parameter input renamed to inputs"},
			{Severity: apiwatch.Info, Code: "param-added", APIs: []string{"openai.responses.create"}, Message: "new optional parameter"},
		},
		Links: apiwatch.ReleaseLinks("https://github.com/openai/openai-python/releases", "https://github.com/openai/openai-python/blob/main/CHANGELOG.md", "3.51.0", "3.52.0"),
	}
	r, err := apiwatch.NotifierReport(rr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Breaking != 1 || r.Info != 1 || r.Review != 0 || len(r.Links) != 3 || r.FromVersion != "3.51.0" || r.ToVersion != "3.52.0" {
		t.Errorf("report = %+v", r)
	}
	n, gh := issueNotifier(t)
	d, err := n.Notify(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	want := apiwatch.IssueFor(rr)
	got := gh.issues
	if len(got) != 1 || got[0].Title != want.Title || got[0].Body != want.Body || strings.Join(got[0].Labels, ",") != strings.Join(want.Labels, ",") {
		t.Fatalf("issue = %+v\nwant %+v", got, want)
	}
	if d.URL == "" || d.Target != "GitHub issue #1 (created)" {
		t.Errorf("delivery = %+v", d)
	}
}
