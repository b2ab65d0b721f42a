// Package pypi is a client of the PyPI JSON API (https://pypi.org/pypi/<name>/json),
// which mirrors such as devpi and many proxies serve too: the versions of a
// distribution, the files of a release, and downloads checked against the
// published SHA-256.
package pypi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/apiwatch"
)

// DefaultBaseURL is PyPI's JSON API.
const DefaultBaseURL = "https://pypi.org/pypi"

// Client talks to one index.
type Client struct {
	BaseURL string       // e.g. https://pypi.org/pypi; "<base>/<name>/json" is a distribution
	HTTP    *http.Client // http.DefaultClient when nil
}

var _ apiwatch.Index = (*Client)(nil)

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

type fileJSON struct {
	Filename    string            `json:"filename"`
	URL         string            `json:"url"`
	PackageType string            `json:"packagetype"`
	Size        int64             `json:"size"`
	Yanked      bool              `json:"yanked"`
	Digests     map[string]string `json:"digests"`
}

func (c *Client) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return aco.Errorf(aco.EINVALID, "bad package index URL %q: %v (pass --index with an http(s) URL)", c.BaseURL, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return aco.Errorf(aco.EUNAVAIL, "package index %s is not reachable: %v (check the network or pass --index with a mirror)", c.BaseURL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return aco.Errorf(aco.ENOTFOUND, "package index: %s: not found (404)", u)
	case resp.StatusCode != http.StatusOK:
		return aco.Errorf(aco.EUNAVAIL, "package index: %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(v); err != nil {
		return aco.Errorf(aco.EUNAVAIL, "package index: %s is not the PyPI JSON API: %v (does --index point at <mirror>/pypi?)", u, err)
	}
	return nil
}

func (c *Client) distURL(dist string, rest ...string) string {
	parts := append([]string{strings.TrimRight(c.BaseURL, "/"), url.PathEscape(normalize(dist))}, rest...)
	return strings.Join(append(parts, "json"), "/")
}

// normalize is PEP 503's name normalisation, which PyPI redirects to anyway.
func normalize(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// Versions lists the versions in the distribution's "releases".
func (c *Client) Versions(ctx context.Context, dist string) ([]string, error) {
	var doc struct {
		Releases map[string][]fileJSON `json:"releases"`
	}
	if err := c.getJSON(ctx, c.distURL(dist), &doc); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(doc.Releases))
	for v, files := range doc.Releases {
		if len(files) > 0 { // a version whose files were all deleted cannot be read
			out = append(out, v)
		}
	}
	return out, nil
}

// Release returns the files of one version ("urls" of its JSON).
func (c *Client) Release(ctx context.Context, dist, version string) (*apiwatch.Release, error) {
	var doc struct {
		URLs []fileJSON `json:"urls"`
	}
	if err := c.getJSON(ctx, c.distURL(dist, url.PathEscape(version)), &doc); err != nil {
		return nil, err
	}
	rel := &apiwatch.Release{Version: version}
	base, _ := url.Parse(c.BaseURL)
	for _, f := range doc.URLs {
		kind := ""
		switch f.PackageType {
		case "bdist_wheel":
			kind = "wheel"
		case "sdist":
			kind = "sdist"
		}
		u := f.URL
		// Mirrors may publish file URLs relative to the API.
		if ref, err := url.Parse(f.URL); err == nil && base != nil {
			u = base.ResolveReference(ref).String()
		}
		rel.Files = append(rel.Files, apiwatch.DistFile{
			Filename: f.Filename, URL: u, SHA256: strings.ToLower(f.Digests["sha256"]),
			Size: f.Size, Kind: kind, Yanked: f.Yanked,
		})
	}
	return rel, nil
}

// Download streams the file into w and checks its SHA-256; a file the index
// publishes no digest for is refused, since nothing vouches for it.
func (c *Client) Download(ctx context.Context, f apiwatch.DistFile, w io.Writer) error {
	if f.SHA256 == "" {
		return aco.Errorf(aco.EINVALID, "package index publishes no sha256 for %s; refusing to read it", f.Filename)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return aco.Errorf(aco.EINVALID, "bad file URL %q for %s: %v", f.URL, f.Filename, err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return aco.Errorf(aco.EUNAVAIL, "downloading %s: %v", f.Filename, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return aco.Errorf(aco.EUNAVAIL, "downloading %s: %s", f.Filename, resp.Status)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), resp.Body); err != nil {
		return aco.Errorf(aco.EUNAVAIL, "downloading %s: %v", f.Filename, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return aco.Errorf(aco.EINVALID, "%s: sha256 %s does not match the index's %s; refusing a corrupted or tampered file", f.Filename, got, f.SHA256)
	}
	return nil
}
