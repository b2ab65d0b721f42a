// Package githubissues keeps apiwatch's issues on GitHub with go-github: one
// issue per SDK release, found again by the hidden marker in its body, so a
// rerun updates it instead of opening another. Rate limits, secondary limits
// and server errors are waited out or retried within bounds, and what could
// not be done is said in terms of the fix (token, permission, time).
package githubissues

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/apiwatch"
)

// Tracker is a repository's issues.
type Tracker struct {
	Client      *github.Client
	Owner, Repo string
	// Attempts bounds how often one upsert is tried (default 4).
	Attempts int
	// MaxWait is the longest a rate limit is waited out (default 2 minutes);
	// a longer one fails the run with the time it resets.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; Now is the clock. Both default to
	// the real ones and are replaced in tests.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}

var _ apiwatch.Tracker = (*Tracker)(nil)

// New returns a tracker of owner/repo ("OWNER/NAME") with client.
func New(client *github.Client, repo string) (*Tracker, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, aco.Errorf(aco.EINVALID, "--repo %q is not OWNER/NAME", repo)
	}
	return &Tracker{Client: client, Owner: owner, Repo: name}, nil
}

func (t *Tracker) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t *Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Upsert finds the issue by marker and creates or edits it. The whole
// find-then-write is what is retried, so a create that failed half-way
// (the issue was made but the answer lost) is found, not duplicated.
func (t *Tracker) Upsert(ctx context.Context, is apiwatch.Issue) (*apiwatch.IssueRef, error) {
	attempts := t.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		ref, err := t.upsert(ctx, is)
		if err == nil {
			return ref, nil
		}
		wait, retry, final := t.classify(err)
		if !retry {
			return nil, final
		}
		if wait == 0 {
			wait = backoff
			backoff *= 2
		}
		if attempt >= attempts {
			return nil, aco.Errorf(aco.EUNAVAIL, "GitHub: %s; gave up after %d attempts", final.Error(), attempts)
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (t *Tracker) upsert(ctx context.Context, is apiwatch.Issue) (*apiwatch.IssueRef, error) {
	found, err := t.find(ctx, is.Marker)
	if err != nil {
		return nil, err
	}
	if found == nil {
		labels := is.Labels
		created, _, err := t.Client.Issues.Create(ctx, t.Owner, t.Repo, &github.IssueRequest{
			Title: github.String(is.Title), Body: github.String(is.Body), Labels: &labels,
		})
		if err != nil {
			return nil, err
		}
		return ref(created, "created"), nil
	}
	have := map[string]bool{}
	for _, l := range found.Labels {
		have[l.GetName()] = true
	}
	labels := make([]string, 0, len(have))
	for name := range have {
		labels = append(labels, name)
	}
	missing := false
	for _, l := range is.Labels {
		if !have[l] {
			missing = true
			labels = append(labels, l)
		}
	}
	if found.GetTitle() == is.Title && found.GetBody() == is.Body && !missing {
		return ref(found, "unchanged"), nil
	}
	sort.Strings(labels)
	// The state is left alone: a maintainer who closed the issue decided.
	edited, _, err := t.Client.Issues.Edit(ctx, t.Owner, t.Repo, found.GetNumber(), &github.IssueRequest{
		Title: github.String(is.Title), Body: github.String(is.Body), Labels: &labels,
	})
	if err != nil {
		return nil, err
	}
	return ref(edited, "updated"), nil
}

func ref(is *github.Issue, action string) *apiwatch.IssueRef {
	return &apiwatch.IssueRef{Number: is.GetNumber(), URL: is.GetHTMLURL(), Action: action, Title: is.GetTitle()}
}

// find lists the repository's apiwatch issues, open and closed, for the one
// whose body holds marker. Listing by label, not the search API: search is
// eventually consistent and would miss an issue made a moment ago.
func (t *Tracker) find(ctx context.Context, marker string) (*github.Issue, error) {
	opt := &github.IssueListByRepoOptions{
		State: "all", Labels: []string{apiwatch.Label},
		ListOptions: github.ListOptions{PerPage: 100},
	}
	for {
		issues, resp, err := t.Client.Issues.ListByRepo(ctx, t.Owner, t.Repo, opt)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			if !is.IsPullRequest() && strings.Contains(is.GetBody(), marker) {
				return is, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return nil, nil
		}
		opt.Page = resp.NextPage
	}
}

// classify says whether err is worth another attempt, after how long (0:
// the caller's backoff), and the error to report.
func (t *Tracker) classify(err error) (wait time.Duration, retry bool, final error) {
	repo := t.Owner + "/" + t.Repo
	maxWait := t.MaxWait
	if maxWait <= 0 {
		maxWait = 2 * time.Minute
	}
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		reset := rl.Rate.Reset.Time
		wait = reset.Sub(t.now()) + time.Second
		if wait < time.Second {
			wait = time.Second
		}
		msg := fmt.Sprintf("API rate limit exhausted (%d requests an hour) until %s", rl.Rate.Limit, reset.UTC().Format(time.RFC3339))
		if wait > maxWait {
			return 0, false, aco.Errorf(aco.EUNAVAIL, "GitHub: %s, longer than aco waits (%s); run again after that, or with a token that has quota left", msg, maxWait)
		}
		return wait, true, errors.New(msg)
	case errors.As(err, &abuse):
		wait = time.Minute
		if abuse.RetryAfter != nil {
			wait = *abuse.RetryAfter
		}
		return t.limited(wait, maxWait, "secondary rate limit")
	case errors.As(err, &er) && er.Response != nil:
		status := er.Response.StatusCode
		switch {
		case status == http.StatusTooManyRequests || (status == http.StatusForbidden && er.Response.Header.Get("Retry-After") != ""):
			wait = time.Minute
			if s, perr := strconv.Atoi(er.Response.Header.Get("Retry-After")); perr == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			return t.limited(wait, maxWait, fmt.Sprintf("too many requests (%d)", status))
		case status >= 500:
			return 0, true, fmt.Errorf("server error %s on %s %s", er.Response.Status, er.Response.Request.Method, er.Response.Request.URL.Path)
		case status == http.StatusUnauthorized:
			return 0, false, aco.Errorf(aco.EUNAUTH, "GitHub rejected the token (401 %s): set GITHUB_TOKEN to a valid token", er.Message)
		case status == http.StatusForbidden || status == http.StatusNotFound:
			return 0, false, aco.Errorf(aco.EFORBIDDEN, "GitHub refused %s %s (%s %s): the token needs issues: write on %s (a 404 also means the repository does not exist or the token cannot see it)",
				er.Response.Request.Method, er.Response.Request.URL.Path, er.Response.Status, er.Message, repo)
		case status == http.StatusGone:
			return 0, false, aco.Errorf(aco.EUNAVAIL, "issues are disabled on %s (410): enable them or pass another --repo", repo)
		default:
			return 0, false, aco.Errorf(aco.EINVALID, "GitHub refused %s %s: %s %s %s", er.Response.Request.Method, er.Response.Request.URL.Path, er.Response.Status, er.Message, validation(er))
		}
	}
	var ae *aco.Error
	if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false, err
	}
	// A network failure: worth the backoff.
	return 0, true, fmt.Errorf("cannot reach the API: %v", err)
}

func (t *Tracker) limited(wait, maxWait time.Duration, what string) (time.Duration, bool, error) {
	if wait > maxWait {
		return 0, false, aco.Errorf(aco.EUNAVAIL, "GitHub: %s: asked to retry after %s, longer than aco waits (%s); run again later", what, wait, maxWait)
	}
	if wait <= 0 {
		wait = time.Second
	}
	return wait, true, fmt.Errorf("%s (retried after %s)", what, wait)
}

func validation(er *github.ErrorResponse) string {
	var parts []string
	for _, e := range er.Errors {
		parts = append(parts, strings.TrimSpace(e.Resource+" "+e.Field+" "+e.Code+" "+e.Message))
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, "; ") + ")"
}
