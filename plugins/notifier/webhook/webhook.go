// Package webhook is a notifier that POSTs the apiwatch report as JSON to a
// URL, signed with HMAC-SHA256 over a timestamp and the body so the receiver
// can check it came from whoever holds the secret, and recently.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aco-dev/aco/plugins"
)

// Headers of a delivery. The signature is "sha256=" and the hex HMAC-SHA256,
// keyed with the secret, of "<timestamp>.<body>".
const (
	SignatureHeader = "X-Aco-Signature"
	TimestampHeader = "X-Aco-Timestamp" // Unix seconds
)

// Config is plugins.notifiers.webhook in config.yaml.
type Config struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Payload is the body posted: the summary for receivers that only route or
// display, and apiwatch's whole JSON report for those that want details.
type Payload struct {
	Title       string          `json:"title"`
	SDK         string          `json:"sdk"`
	FromVersion string          `json:"from_version"`
	ToVersion   string          `json:"to_version"`
	Breaking    int             `json:"breaking"`
	Review      int             `json:"review"`
	Info        int             `json:"info"`
	Markdown    string          `json:"markdown"`
	Links       []Link          `json:"links"`
	Report      json.RawMessage `json:"report,omitempty"`
}

// Link is a labelled URL of the payload.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Notifier posts reports to one URL.
type Notifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

// New checks cfg and returns a notifier using client (http.DefaultClient
// when nil).
func New(cfg Config, client *http.Client) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("plugins.notifiers.webhook.url must be an http(s) URL, got %q", cfg.URL)
	}
	if cfg.Secret == "" {
		return nil, errors.New("plugins.notifiers.webhook.secret is not set: the body is signed with it, and the receiver checks the signature")
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Notifier{cfg: cfg, client: client, now: time.Now}, nil
}

// Open is the plugin's entry: the config section as JSON.
func Open(config []byte) (plugins.Notifier, error) {
	var cfg Config
	if err := plugins.DecodeConfig(config, &cfg); err != nil {
		return nil, err
	}
	return New(cfg, &http.Client{Timeout: time.Minute})
}

func (n *Notifier) Notify(ctx context.Context, r plugins.Report) (plugins.Delivery, error) {
	p := Payload{
		Title: r.Title, SDK: r.SDK, FromVersion: r.FromVersion, ToVersion: r.ToVersion,
		Breaking: r.Breaking, Review: r.Review, Info: r.Info, Markdown: r.Markdown,
		Links: []Link{},
	}
	for _, l := range r.Links {
		p.Links = append(p.Links, Link{Label: l.Label, URL: l.URL})
	}
	if len(r.JSON) > 0 {
		if !json.Valid(r.JSON) {
			return plugins.Delivery{}, errors.New("the report's JSON is not valid JSON")
		}
		p.Report = r.JSON
	}
	body, err := json.Marshal(p)
	if err != nil {
		return plugins.Delivery{}, err
	}
	ts := n.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return plugins.Delivery{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aco-plugin-notifier-webhook")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(n.cfg.Secret, ts, body))
	resp, err := n.client.Do(req)
	if err != nil {
		return plugins.Delivery{}, fmt.Errorf("POST %s: %w", redact(n.cfg.URL), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return plugins.Delivery{}, fmt.Errorf("POST %s: %s: %s", redact(n.cfg.URL), resp.Status, strings.TrimSpace(string(snippet)))
	}
	return plugins.Delivery{Target: fmt.Sprintf("POST %s (%s)", redact(n.cfg.URL), resp.Status)}, nil
}

// Sign returns the signature header's value for body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify is what a receiver does: the signature must match and the timestamp
// be within maxAge of now, so a captured delivery cannot be replayed later.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, maxAge time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s %q", TimestampHeader, timestamp)
	}
	if age := now.Sub(time.Unix(ts, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("%s is %s away from now (more than %s): a replay?", TimestampHeader, age, maxAge)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return errors.New("signature does not match the body")
	}
	return nil
}

// redact drops the query and user info of a URL for messages: hook URLs
// often carry their token there.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook URL"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
