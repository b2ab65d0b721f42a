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
	"sync"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/apiwatch"
)

// DefaultBaseURL is PyPI's JSON API.
const DefaultBaseURL = "https://pypi.org/pypi"

// Client talks to one index.
type Client struct {
	BaseURL string       // e.g. https://pypi.org/pypi; "<base>/<name>/json" is a distribution
	HTTP    *http.Client // http.DefaultClient when nil

	mu    sync.Mutex
	cache map[string]map[string][]apiwatch.DistFile // distribution -> version -> files
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
	releases, err := c.releases(ctx, dist)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(releases))
	for v, files := range releases {
		if len(files) > 0 { // a version whose files were all deleted cannot be read
			out = append(out, v)
		}
	}
	return out, nil
}

// releases reads the distribution's JSON once per client, with file URLs
// made absolute against it.
func (c *Client) releases(ctx context.Context, dist string) (map[string][]apiwatch.DistFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cache[dist]; ok {
		return r, nil
	}
	var doc struct {
		Releases map[string][]fileJSON `json:"releases"`
	}
	u := c.distURL(dist)
	if err := c.getJSON(ctx, u, &doc); err != nil {
		return nil, err
	}
	out := map[string][]apiwatch.DistFile{}
	for v, files := range doc.Releases {
		out[v] = distFiles(u, files)
	}
	if c.cache == nil {
		c.cache = map[string]map[string][]apiwatch.DistFile{}
	}
	c.cache[dist] = out
	return out, nil
}

// Release returns the files of one version: the "urls" of its own JSON,
// or, from an index that serves only the distribution's JSON (some
// mirrors), its entry in "releases".
func (c *Client) Release(ctx context.Context, dist, version string) (*apiwatch.Release, error) {
	var doc struct {
		URLs []fileJSON `json:"urls"`
	}
	u := c.distURL(dist, url.PathEscape(version))
	err := c.getJSON(ctx, u, &doc)
	if err == nil {
		return &apiwatch.Release{Version: version, Files: distFiles(u, doc.URLs)}, nil
	}
	if aco.ErrorCode(err) != aco.ENOTFOUND {
		return nil, err
	}
	all, aerr := c.releases(ctx, dist)
	if aerr != nil {
		return nil, aerr
	}
	files, ok := all[version]
	if !ok {
		return nil, err
	}
	return &apiwatch.Release{Version: version, Files: files}, nil
}

// distFiles converts the index's file entries; relative URLs (mirrors
// publish them) are resolved against the document they came from.
func distFiles(docURL string, files []fileJSON) []apiwatch.DistFile {
	base, _ := url.Parse(docURL)
	var out []apiwatch.DistFile
	for _, f := range files {
		kind := ""
		switch f.PackageType {
		case "bdist_wheel":
			kind = "wheel"
		case "sdist":
			kind = "sdist"
		}
		u := f.URL
		if ref, err := url.Parse(f.URL); err == nil && base != nil {
			u = base.ResolveReference(ref).String()
		}
		out = append(out, apiwatch.DistFile{
			Filename: f.Filename, URL: u, SHA256: strings.ToLower(f.Digests["sha256"]),
			Size: f.Size, Kind: kind, Yanked: f.Yanked,
		})
	}
	return out
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
