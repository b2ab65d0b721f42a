// Package pyshim carries the Python package `aco` inside the Go binaries and
// unpacks it where the user's interpreter can import it, so nothing needs to
// be installed into the user's environment.
package pyshim

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// "all:" keeps __init__.py and _generated/, which a plain pattern would skip
// for their leading underscore; what must not ship is filtered by shipped.
//
//go:embed all:aco
var embedded embed.FS

var version = sync.OnceValue(func() string { return hashFS(embedded) })

// Version is a content hash of the shipped files: a build whose shim differs
// unpacks into a directory of its own, and one that does not shares it.
func Version() string { return version() }

// shipped reports whether the embedded path p belongs in the unpacked shim:
// bytecode caches and tests are left out (they may sit in the source tree
// when the binary is built).
func shipped(p string, d fs.DirEntry) bool {
	base := path.Base(p)
	if d.IsDir() {
		return base != "__pycache__" && base != "tests"
	}
	return !strings.HasSuffix(base, ".pyc") && !strings.HasPrefix(base, "test_") && base != ".DS_Store"
}

// walk calls fn for each shipped regular file of fsys, in lexical order.
func walk(fsys fs.FS, fn func(p string) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if !shipped(p, d) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			return fn(p)
		}
		return nil
	})
}

func hashFS(fsys fs.FS) string {
	h := sha256.New()
	var paths []string
	if err := walk(fsys, func(p string) error { paths = append(paths, p); return nil }); err != nil {
		panic("pyshim: cannot read the embedded shim: " + err.Error())
	}
	sort.Strings(paths)
	for _, p := range paths {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			panic("pyshim: cannot read the embedded shim: " + err.Error())
		}
		// Lengths delimit names from contents, so no two trees hash alike.
		h.Write([]byte(p))
		h.Write([]byte{0})
		var n [8]byte
		for i, l := 0, uint64(len(b)); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:])
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Unpack makes dir hold the shim (dir/aco/...) and returns dir, the entry to
// put on PYTHONPATH; dir is meant to be config.Config.ShimDir(Version()).
// An existing dir is taken as complete: the tree is written beside it and
// renamed into place, so no reader, nor any of many launchers unpacking at
// once, ever sees half of it. The common case costs one stat.
func Unpack(dir string) (string, error) {
	return unpack(embedded, dir)
}

func unpack(fsys fs.FS, dir string) (string, error) {
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	err = walk(fsys, func(p string) error {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return "", err
	}
	// MkdirTemp makes 0700; the shim is read by the user's interpreter only,
	// but tools run as the same user expect ordinary permissions.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another unpacker won the race; its tree is as good as ours.
		if _, serr := os.Stat(dir); serr == nil {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}
