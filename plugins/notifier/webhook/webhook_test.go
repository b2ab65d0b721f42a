package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/notifier/webhook"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginstest.Cleanup()
	os.Exit(code)
}

const secret = "s3cret"

// receiver is the far end: it checks each delivery's signature as a real
// receiver would and keeps the payloads.
type receiver struct {
	mu       sync.Mutex
	payloads []webhook.Payload
	raw      []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), r.Header.Get(webhook.TimestampHeader), body, time.Now(), 5*time.Minute); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "not JSON", http.StatusUnsupportedMediaType)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.payloads = append(rc.payloads, p)
	rc.raw = append(rc.raw, string(body))
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// last renders the last payload as text for the suite, after checking it
// carries the report's fields.
func (rc *receiver) last(t *testing.T) string {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.payloads) == 0 {
		t.Fatal("nothing was delivered")
	}
	p := rc.payloads[len(rc.payloads)-1]
	want := pluginstest.SampleReport()
	if p.SDK != want.SDK || p.FromVersion != want.FromVersion || p.ToVersion != want.ToVersion ||
		p.Breaking != want.Breaking || p.Review != want.Review || p.Info != want.Info {
		t.Errorf("payload summary = %+v", p)
	}
	var report, wantReport any
	json.Unmarshal(p.Report, &report)
	json.Unmarshal(want.JSON, &wantReport)
	if !jsonEqual(report, wantReport) {
		t.Errorf("payload report = %s, want %s", p.Report, want.JSON)
	}
	var b strings.Builder
	b.WriteString(p.Title + "\n" + p.Markdown + "\n")
	for _, l := range p.Links {
		b.WriteString(l.Label + ": " + l.URL + "\n")
	}
	return b.String()
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestWebhook(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := webhook.Config{URL: srv.URL + "/hooks/aco?token=abc", Secret: secret}

	t.Run("in process", func(t *testing.T) {
		n, err := webhook.New(cfg, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.NotifierSuite(t, n, rc.last)
	})
	t.Run("plugin", func(t *testing.T) {
		h := plugins.NewHost(plugins.HostOptions{
			Dirs:   []string{pluginstest.Build(t, "aco-plugin-notifier-webhook")},
			Config: plugins.Config{Notifiers: map[string]map[string]any{"webhook": {"url": cfg.URL, "secret": cfg.Secret}}},
		})
		defer h.Close()
		n, err := h.Notifier("webhook")
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.NotifierSuite(t, n, rc.last)
	})
}

func TestFailures(t *testing.T) {
	wrongSecret := httptest.NewServer(&receiver{})
	defer wrongSecret.Close()
	for _, tc := range []struct {
		name    string
		cfg     webhook.Config
		want    string
		notWant string
	}{
		{"no url", webhook.Config{Secret: "x"}, "webhook.url must be an http(s) URL", ""},
		{"not http", webhook.Config{URL: "ftp://h/x", Secret: "x"}, "webhook.url must be an http(s) URL", ""},
		{"no secret", webhook.Config{URL: "https://h/x"}, "webhook.secret is not set", ""},
		{"rejected", webhook.Config{URL: wrongSecret.URL + "/x?token=hidden", Secret: "wrong"}, "401 Unauthorized: signature does not match the body", "hidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := webhook.New(tc.cfg, nil)
			if err == nil {
				_, err = n.Notify(t.Context(), pluginstest.SampleReport())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("err = %v shows the URL's query", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"title":"x"}`)
	sig := webhook.Sign(secret, now.Unix(), body)
	for _, tc := range []struct {
		name, sig, ts string
		body          []byte
		at            time.Time
		want          string
	}{
		{"good", sig, "1700000000", body, now.Add(time.Minute), ""},
		{"replayed later", sig, "1700000000", body, now.Add(time.Hour), "a replay?"},
		{"timestamp moved", webhook.Sign(secret, now.Unix(), body), "1700000001", body, now, "does not match"},
		{"body changed", sig, "1700000000", []byte(`{"title":"y"}`), now, "does not match"},
		{"no timestamp", sig, "", body, now, "bad X-Aco-Timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(secret, tc.sig, tc.ts, tc.body, tc.at, 5*time.Minute)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Verify = %v, want %q", err, tc.want)
			}
		})
	}
}
