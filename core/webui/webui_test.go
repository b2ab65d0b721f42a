package webui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	files := fstest.MapFS{
		"index.html":            {Data: []byte(`<!doctype html><script src="/assets/app-AB12.js"></script>`)},
		"assets/app-AB12.js":    {Data: []byte(`console.log(1)`)},
		"assets/app-CD34.css":   {Data: []byte(`body{}`)},
		"assets/sub/nested.txt": {Data: []byte(`x`)},
	}
	srv := httptest.NewServer(handler(files))
	defer srv.Close()

	tests := []struct {
		name, method, path string
		status             int
		contentType, cache string
		body               string
	}{
		{"root is the page", "GET", "/", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"query string is ignored", "GET", "/?token=abc", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"client route gets the page", "GET", "/runs/abc123/nodes/ff00", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"index.html by name", "GET", "/index.html", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"hashed script cached for good", "GET", "/assets/app-AB12.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log(1)"},
		{"hashed style", "GET", "/assets/app-CD34.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{}"},
		{"missing asset is 404, not the page", "GET", "/assets/app-OLD.js", 404, "", "", ""},
		{"missing file elsewhere is 404", "GET", "/favicon.ico", 404, "", "", ""},
		{"asset directory is not listed", "GET", "/assets/sub", 404, "", "", ""},
		{"dot-dot stays inside", "GET", "/assets/../../webui.go", 404, "", "", ""},
		{"head works", "HEAD", "/", 200, "text/html; charset=utf-8", "no-cache", ""},
		{"post is refused", "POST", "/", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tt.status, body)
			}
			if tt.contentType != "" && res.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tt.contentType)
			}
			if tt.cache != "" && res.Header.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tt.cache)
			}
			if !strings.HasPrefix(string(body), tt.body) {
				t.Errorf("body %q, want it to start with %q", body, tt.body)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		host       string
		wantWS     bool
		wantAbsent string
	}{
		{"127.0.0.1:5960", true, ""},
		{"[::1]:5960", true, ""},
		{"evil; script-src *", false, "script-src *"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			req.Host = tt.host
			handler(fstest.MapFS{"index.html": {Data: []byte("x")}}).ServeHTTP(rec, req)
			csp := rec.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q does not keep scripts and framing to this server", csp)
			}
			if got := strings.Contains(csp, "ws://"+tt.host); got != tt.wantWS {
				t.Errorf("CSP %q: ws://%s allowed = %v, want %v", csp, tt.host, got, tt.wantWS)
			}
			if tt.wantAbsent != "" && strings.Contains(csp, tt.wantAbsent) {
				t.Errorf("CSP %q carries the injected %q", csp, tt.wantAbsent)
			}
			if rec.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("Referrer-Policy %q: the token in the first URL could leak", rec.Header().Get("Referrer-Policy"))
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("X-Content-Type-Options is not nosniff")
			}
		})
	}
}

// TestEmbeddedBundle checks the committed build: the page names assets
// that exist, so the binary serves a working UI without npm.
func TestEmbeddedBundle(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var assets []string
	for _, part := range strings.Split(string(page), `"`) {
		if strings.HasPrefix(part, "/assets/") {
			assets = append(assets, part)
		}
	}
	if len(assets) != 2 {
		t.Fatalf("index.html names %d assets (%v), want a script and a stylesheet; rebuild with `cd core/webui && npm run build`", len(assets), assets)
	}
	for _, a := range assets {
		res, err := http.Get(srv.URL + a)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d; dist/ is inconsistent, rebuild it", a, res.StatusCode)
		}
	}
}
