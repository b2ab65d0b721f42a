package githubissues_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/apiwatch/apiwatchtest"
	"github.com/aco-dev/aco/apiwatch/githubissues"
)

// tracker points go-github at the fake and records the waits instead of
// sleeping through them.
func tracker(t *testing.T, gh *apiwatchtest.GitHub, token string) (*githubissues.Tracker, *[]time.Duration) {
	t.Helper()
	c, err := github.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(gh.URL(), gh.URL())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := githubissues.New(c, "aco-dev/aco")
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	tr.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	return tr, &waits
}

func issue(version, body string) apiwatch.Issue {
	return apiwatch.Issue{
		Marker: apiwatch.Marker("openai", version),
		Title:  "openai " + version + ": 2 breaking changes for our patches",
		Body:   apiwatch.Marker("openai", version) + "\n" + body,
		Labels: []string{"apiwatch", "sdk:openai", "breaking"},
	}
}

func TestUpsertCreatesThenUpdatesByMarker(t *testing.T) {
	gh := apiwatchtest.NewGitHub(t, "aco-dev", "aco", "tok")
	// Other issues, some with the label, so finding the marker takes pages.
	gh.Add(apiwatchtest.Issue{Title: "unrelated", Body: "no marker", Labels: []string{"bug"}})
	for i := 0; i < 3; i++ {
		gh.Add(apiwatchtest.Issue{Title: fmt.Sprintf("older %d", i), Body: apiwatch.Marker("openai", fmt.Sprintf("3.5%d.0", i)), Labels: []string{"apiwatch"}, State: "closed"})
	}
	tr, _ := tracker(t, gh, "tok")
	ctx := context.Background()

	ref, err := tr.Upsert(ctx, issue("3.58.0", "first body"))
	if err != nil {
		t.Fatal(err)
	}
	if ref.Action != "created" || ref.Number != 5 || ref.URL != "https://github.com/aco-dev/aco/issues/5" {
		t.Fatalf("first upsert = %+v, want issue 5 created", ref)
	}
	is := gh.Issues()[4]
	if is.Title != "openai 3.58.0: 2 breaking changes for our patches" || !strings.HasPrefix(is.Body, "<!-- aco-apiwatch sdk=openai version=3.58.0 -->\n") ||
		strings.Join(is.Labels, ",") != "apiwatch,sdk:openai,breaking" {
		t.Fatalf("created issue = %+v", is)
	}

	ref, err = tr.Upsert(ctx, issue("3.58.0", "first body"))
	if err != nil || ref.Action != "unchanged" || ref.Number != 5 {
		t.Fatalf("same rerun = %+v, %v; want issue 5 unchanged", ref, err)
	}
	ref, err = tr.Upsert(ctx, issue("3.58.0", "second body"))
	if err != nil || ref.Action != "updated" || ref.Number != 5 {
		t.Fatalf("changed rerun = %+v, %v; want issue 5 updated", ref, err)
	}
	if n := len(gh.Issues()); n != 5 {
		t.Fatalf("%d issues after three upserts of one release, want 5 (no duplicate)", n)
	}
	if body := gh.Issues()[4].Body; !strings.HasSuffix(body, "second body") {
		t.Errorf("body after update = %q", body)
	}
	ref, err = tr.Upsert(ctx, issue("3.59.0", "another release"))
	if err != nil || ref.Action != "created" || ref.Number != 6 {
		t.Fatalf("next release = %+v, %v; want issue 6 created", ref, err)
	}
}

func TestUpsertKeepsOthersLabelsAndTheState(t *testing.T) {
	gh := apiwatchtest.NewGitHub(t, "aco-dev", "aco", "tok")
	gh.Add(apiwatchtest.Issue{Title: "old title", Body: apiwatch.Marker("openai", "3.58.0") + "\nold", Labels: []string{"apiwatch", "triaged"}, State: "closed"})
	tr, _ := tracker(t, gh, "tok")
	ref, err := tr.Upsert(context.Background(), issue("3.58.0", "new"))
	if err != nil || ref.Action != "updated" {
		t.Fatalf("upsert = %+v, %v", ref, err)
	}
	is := gh.Issues()[0]
	if strings.Join(is.Labels, ",") != "apiwatch,breaking,sdk:openai,triaged" || is.State != "closed" || is.Title != "openai 3.58.0: 2 breaking changes for our patches" {
		t.Errorf("issue = %+v, want labels merged, state kept, title updated", is)
	}
}

func TestUpsertRetriesLimitsAndServerErrors(t *testing.T) {
	resetPassed := time.Now().Add(-time.Second)
	for _, tc := range []struct {
		name     string
		failures []apiwatchtest.Failure
		now      time.Time // the tracker's clock, zero for the real one
		waits    []time.Duration
	}{
		{
			name: "primary rate limit waits until the reset",
			failures: []apiwatchtest.Failure{{Method: "GET", Path: "/issues", Status: 403, Message: "API rate limit exceeded",
				Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": fmt.Sprint(resetPassed.Unix())}}},
			// Thirty seconds before the reset by the tracker's clock.
			now:   time.Unix(resetPassed.Unix(), 0).Add(-30 * time.Second),
			waits: []time.Duration{31 * time.Second},
		},
		{
			name:     "429 waits Retry-After",
			failures: []apiwatchtest.Failure{{Method: "POST", Path: "/issues", Status: 429, Message: "slow down", Header: map[string]string{"Retry-After": "7"}}},
			waits:    []time.Duration{7 * time.Second},
		},
		{
			// go-github itself refuses requests until a secondary limit's
			// Retry-After has passed by the real clock, so the fake asks for 0
			// and the tracker waits its minimum.
			name: "secondary rate limit is retried",
			failures: []apiwatchtest.Failure{{Method: "GET", Path: "/issues", Status: 403, Message: "You have exceeded a secondary rate limit",
				Header: map[string]string{"Retry-After": "0"},
				DocURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}},
			waits: []time.Duration{time.Second},
		},
		{
			name: "5xx backs off",
			failures: []apiwatchtest.Failure{
				{Method: "POST", Path: "/issues", Status: 502, Message: "Bad Gateway"},
				{Method: "GET", Path: "/issues", Status: 503, Message: "Unavailable"},
			},
			waits: []time.Duration{time.Second, 2 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := apiwatchtest.NewGitHub(t, "aco-dev", "aco", "tok")
			gh.Fail(tc.failures...)
			tr, waits := tracker(t, gh, "tok")
			if !tc.now.IsZero() {
				tr.Now = func() time.Time { return tc.now }
			}
			ref, err := tr.Upsert(context.Background(), issue("3.58.0", "body"))
			if err != nil {
				t.Fatalf("upsert: %v", err)
			}
			if ref.Action != "created" || len(gh.Issues()) != 1 {
				t.Fatalf("upsert = %+v with %d issues, want one created", ref, len(gh.Issues()))
			}
			if fmt.Sprint(*waits) != fmt.Sprint(tc.waits) {
				t.Errorf("waits = %v, want %v", *waits, tc.waits)
			}
		})
	}
}

func TestUpsertReportsWhatItCannotFix(t *testing.T) {
	for _, tc := range []struct {
		name     string
		token    string
		failures []apiwatchtest.Failure
		want     []string
		waits    int
	}{
		{name: "bad token", token: "wrong", want: []string{"GitHub rejected the token (401 Bad credentials)", "GITHUB_TOKEN"}},
		{name: "no permission", token: "tok",
			failures: []apiwatchtest.Failure{{Method: "POST", Path: "/issues", Status: 403, Message: "Resource not accessible by integration"}},
			want:     []string{"GitHub refused POST /api/v3/repos/aco-dev/aco/issues", "Resource not accessible by integration", "issues: write on aco-dev/aco"}},
		{name: "rate limit resets too late", token: "tok",
			failures: []apiwatchtest.Failure{{Method: "GET", Path: "/issues", Status: 403, Message: "API rate limit exceeded",
				Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "60", "X-RateLimit-Reset": fmt.Sprint(time.Now().Add(time.Hour).Unix())}}},
			want: []string{"API rate limit exhausted (60 requests an hour) until", "run again after that"}},
		{name: "429 asks for too long", token: "tok",
			failures: []apiwatchtest.Failure{{Method: "GET", Path: "/issues", Status: 429, Header: map[string]string{"Retry-After": "3600"}}},
			want:     []string{"too many requests (429): asked to retry after 1h0m0s, longer than aco waits (2m0s)"}},
		{name: "5xx every time", token: "tok",
			failures: []apiwatchtest.Failure{
				{Path: "/issues", Status: 500}, {Path: "/issues", Status: 500}, {Path: "/issues", Status: 500}, {Path: "/issues", Status: 500}},
			want:  []string{"server error 500 Internal Server Error on GET /api/v3/repos/aco-dev/aco/issues", "gave up after 4 attempts"},
			waits: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := apiwatchtest.NewGitHub(t, "aco-dev", "aco", "tok")
			gh.Fail(tc.failures...)
			tr, waits := tracker(t, gh, tc.token)
			_, err := tr.Upsert(context.Background(), issue("3.58.0", "body"))
			if err == nil {
				t.Fatal("upsert succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if len(*waits) != tc.waits || len(gh.Issues()) != 0 {
				t.Errorf("waits %v and %d issues, want %d waits and none", *waits, len(gh.Issues()), tc.waits)
			}
		})
	}
}
