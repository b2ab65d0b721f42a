// Package webui serves the browser UI of aco: the bundle that core/webui's
// npm build writes to dist/, embedded so that `go build` needs no npm and the
// binary needs no files beside it. The sources live in src/; see README.md.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// assetsDir holds the bundle's files; their names carry a content hash, so
// they may be cached for good.
const assetsDir = "assets/"

// Handler serves the UI: the hashed assets under /assets/, and index.html
// for / and every other path, which are the page's own client-side routes.
// The API under /api/ is not its business; mount it on a more specific
// pattern.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees dist exists
	}
	return handler(sub)
}

func handler(files fs.FS) http.Handler {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		// The build always writes index.html; a missing one is a broken
		// checkout, worth a clear page rather than a crash of the server.
		index = []byte("<!doctype html><title>aco</title><p>The web UI was not built: run <code>cd core/webui &amp;&amp; npm ci &amp;&amp; npm run build</code>.")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		securityHeaders(w.Header(), r.Host)
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if strings.HasPrefix(name, assetsDir) {
			serveAsset(w, r, files, name)
			return
		}
		if path.Ext(name) != "" && name != "index.html" {
			// A missing file (favicon.ico, a stale asset) must not get the
			// page instead: a script tag fed HTML fails in confusing ways.
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The page names the current assets, so it must be revalidated.
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(index)
	})
}

func serveAsset(w http.ResponseWriter, r *http.Request, files fs.FS, name string) {
	f, err := files.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(w, r, files, name)
}

// securityHeaders keep the page to its own scripts and its own server: the
// page shows untrusted LLM output, so an injection must have nowhere to load
// code from or send data to. No referrer, so the token in the first URL
// cannot leak through links.
func securityHeaders(h http.Header, host string) {
	connect := "'self'"
	if plainHost(host) {
		// Older browsers do not count ws: as 'self'; the live updates
		// come over a WebSocket to this same host.
		connect += " ws://" + host
	}
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src "+connect+"; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// plainHost reports whether host is safe to copy into a header value.
func plainHost(host string) bool {
	if host == "" {
		return false
	}
	for _, c := range host {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == ':' || c == '-' || c == '[' || c == ']'
		if !ok {
			return false
		}
	}
	return true
}
