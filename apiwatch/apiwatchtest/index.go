// Package apiwatchtest holds fakes of the services apiwatch talks to, served
// by httptest on port 0: a package index speaking PyPI's JSON API with real
// wheels and sdists built from a source tree, and GitHub's issues API.
package apiwatchtest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Dist is one version the fake index serves, built from Src (a directory
// holding the import package, e.g. testdata/sdk/v1 with acme_llm/ in it).
type Dist struct {
	Version string
	Src     string
	Wheel   bool // serve a wheel (py3-none-any)
	Sdist   bool // serve a .tar.gz sdist (src/ layout)
	// BadDigest publishes a SHA-256 that does not match the files.
	BadDigest bool
}

type file struct {
	name, kind string
	data       []byte
	digest     string
}

// Index is a fake PyPI.
type Index struct {
	srv   *httptest.Server
	name  string
	files map[string][]file // version -> files

	mirror atomic.Bool

	mu        sync.Mutex
	downloads []string
}

// MirrorStyle makes the index answer as some mirrors do: no per-version
// JSON (404), and file URLs relative to the distribution's JSON.
func (ix *Index) MirrorStyle() { ix.mirror.Store(true) }

// NewIndex serves distribution name (import package importName) with dists
// until the test ends.
func NewIndex(t testing.TB, name, importName string, dists []Dist) *Index {
	t.Helper()
	ix := &Index{name: name, files: map[string][]file{}}
	stem := strings.NewReplacer("-", "_", ".", "_").Replace(name)
	for _, d := range dists {
		var fs []file
		if d.Wheel {
			fs = append(fs, file{name: fmt.Sprintf("%s-%s-py3-none-any.whl", stem, d.Version), kind: "bdist_wheel",
				data: buildWheel(t, d.Src, importName, stem, d.Version)})
		}
		if d.Sdist {
			fs = append(fs, file{name: fmt.Sprintf("%s-%s.tar.gz", stem, d.Version), kind: "sdist",
				data: buildSdist(t, d.Src, importName, stem, name, d.Version)})
		}
		for i := range fs {
			sum := sha256.Sum256(fs[i].data)
			if d.BadDigest {
				sum = sha256.Sum256(append(fs[i].data, '!'))
			}
			fs[i].digest = hex.EncodeToString(sum[:])
		}
		ix.files[d.Version] = fs
	}
	ix.srv = httptest.NewServer(http.HandlerFunc(ix.serve))
	t.Cleanup(ix.srv.Close)
	return ix
}

// URL is the JSON API's base, what --index takes.
func (ix *Index) URL() string { return ix.srv.URL + "/pypi" }

// Downloads lists the files fetched so far, in order.
func (ix *Index) Downloads() []string {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return append([]string(nil), ix.downloads...)
}

func (ix *Index) fileJSON(f file) map[string]any {
	url := ix.srv.URL + "/files/" + f.name
	if ix.mirror.Load() {
		url = "../../files/" + f.name // from /pypi/<name>/json
	}
	return map[string]any{
		"filename": f.name, "packagetype": f.kind, "size": len(f.data), "yanked": false,
		"url":     url,
		"digests": map[string]string{"sha256": f.digest, "md5": "unused"},
	}
}

func (ix *Index) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	writeJSON := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch {
	case len(parts) == 2 && parts[0] == "files":
		for _, fs := range ix.files {
			for _, f := range fs {
				if f.name == parts[1] {
					ix.mu.Lock()
					ix.downloads = append(ix.downloads, f.name)
					ix.mu.Unlock()
					w.Write(f.data)
					return
				}
			}
		}
	case len(parts) == 3 && parts[0] == "pypi" && parts[1] == ix.name && parts[2] == "json":
		releases := map[string]any{}
		var versions []string
		for v, fs := range ix.files {
			list := []any{}
			for _, f := range fs {
				list = append(list, ix.fileJSON(f))
			}
			releases[v] = list
			versions = append(versions, v)
		}
		sort.Strings(versions)
		writeJSON(map[string]any{"info": map[string]any{"name": ix.name, "version": versions[len(versions)-1]}, "releases": releases})
		return
	case len(parts) == 4 && parts[0] == "pypi" && parts[1] == ix.name && parts[3] == "json" && !ix.mirror.Load():
		fs, ok := ix.files[parts[2]]
		if !ok {
			break
		}
		urls := []any{}
		for _, f := range fs {
			urls = append(urls, ix.fileJSON(f))
		}
		writeJSON(map[string]any{"info": map[string]any{"name": ix.name, "version": parts[2]}, "urls": urls})
		return
	}
	http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
}

// sources lists the files of src's import package, as slash paths relative
// to src, sorted so archives are reproducible.
func sources(t testing.TB, src, importName string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	top := filepath.Join(src, filepath.Join(strings.Split(importName, ".")...))
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "__pycache__") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatalf("reading fixture sources: %v", err)
	}
	return out
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func buildWheel(t testing.TB, src, importName, stem, version string) []byte {
	files := sources(t, src, importName)
	info := fmt.Sprintf("%s-%s.dist-info/", stem, version)
	files[info+"METADATA"] = []byte(fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", stem, version))
	files[info+"WHEEL"] = []byte("Wheel-Version: 1.0\nGenerator: apiwatchtest\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
	var record strings.Builder
	for _, k := range sortedKeys(files) {
		sum := sha256.Sum256(files[k])
		fmt.Fprintf(&record, "%s,sha256=%x,%d\n", k, sum, len(files[k]))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", info)
	files[info+"RECORD"] = []byte(record.String())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, k := range sortedKeys(files) {
		w, err := zw.Create(k)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[k])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func buildSdist(t testing.TB, src, importName, stem, name, version string) []byte {
	top := fmt.Sprintf("%s-%s/", stem, version)
	files := map[string][]byte{}
	for k, v := range sources(t, src, importName) {
		files[top+"src/"+k] = v
	}
	files[top+"PKG-INFO"] = []byte(fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version))
	files[top+"pyproject.toml"] = []byte(fmt.Sprintf("[project]\nname = %q\nversion = %q\n", name, version))
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, k := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: k, Mode: 0o644, Size: int64(len(files[k])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[k])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
