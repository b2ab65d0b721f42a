package apiwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aco-dev/aco/plugins"
)

// NotifierReport converts a release's findings into the plain report every
// notifier (built in or plugin) receives. Its Markdown is the issue body
// without the hidden marker; its JSON is the release report as --format json
// writes it.
func NotifierReport(r *ReleaseReport) (plugins.Report, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return plugins.Report{}, err
	}
	_, body, _ := strings.Cut(issueBody(r), "\n")
	out := plugins.Report{
		Title: r.Title(), Markdown: body, JSON: js,
		SDK: r.SDK, FromVersion: r.Verified, ToVersion: r.Version,
		Breaking: r.Breaking(), Review: r.count(Review), Info: r.count(Info),
	}
	for _, l := range []plugins.Link{
		{Label: "release notes", URL: r.Links.ReleaseNotes},
		{Label: "compare " + r.Verified + "…" + r.Version, URL: r.Links.Compare},
		{Label: "changelog", URL: r.Links.Changelog},
	} {
		if l.URL != "" {
			out.Links = append(out.Links, l)
		}
	}
	return out, nil
}

// IssueNotifier is the built-in "github" notifier: it files (or updates)
// the release's issue through a Tracker, the same issue apiwatch itself
// keeps, found by the same marker.
type IssueNotifier struct{ Tracker Tracker }

func (n IssueNotifier) Notify(ctx context.Context, r plugins.Report) (plugins.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return plugins.Delivery{}, err
	}
	marker := Marker(r.SDK, r.ToVersion)
	var b strings.Builder
	b.WriteString(marker + "\n" + r.Markdown)
	// Reports from elsewhere may not carry their links in the body.
	var missing []plugins.Link
	for _, l := range r.Links {
		if !strings.Contains(r.Markdown, l.URL) {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		b.WriteString("\n### Links\n")
		for _, l := range missing {
			fmt.Fprintf(&b, "- %s: %s\n", l.Label, l.URL)
		}
	}
	labels := []string{Label, "sdk:" + r.SDK}
	if r.Breaking > 0 {
		labels = append(labels, "breaking")
	}
	ref, err := n.Tracker.Upsert(ctx, Issue{Marker: marker, Title: r.Title, Body: b.String(), Labels: labels})
	if err != nil {
		return plugins.Delivery{}, err
	}
	return plugins.Delivery{Target: fmt.Sprintf("GitHub issue #%d (%s)", ref.Number, ref.Action), URL: ref.URL}, nil
}
