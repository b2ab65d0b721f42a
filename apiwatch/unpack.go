package apiwatch

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aco-dev/aco"
)

// maxUnpacked bounds what one release may unpack to: SDK sources are a few
// megabytes, and an archive claiming more is broken or hostile.
const maxUnpacked = 512 << 20

// Unpack writes the Python sources (.py, .pyi) of a wheel (kind "wheel", a
// zip) or an sdist (a .tar.gz, or a .zip) into dst. Names that would land
// outside dst are refused.
func Unpack(archive, kind, dst string) error {
	if kind == "wheel" || strings.HasSuffix(archive, ".zip") {
		return unzip(archive, dst)
	}
	if strings.HasSuffix(archive, ".tar.gz") || strings.HasSuffix(archive, ".tgz") {
		return untar(archive, dst)
	}
	return aco.Errorf(aco.EINVALID, "%s: unknown archive format (expected a .whl, .zip or .tar.gz)", filepath.Base(archive))
}

func wanted(name string) bool {
	return strings.HasSuffix(name, ".py") || strings.HasSuffix(name, ".pyi")
}

// safePath turns an archive member name into a path below dst.
func safePath(dst, name string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", aco.Errorf(aco.EINVALID, "archive member %q points outside the archive; refusing the release", name)
	}
	return filepath.Join(dst, filepath.FromSlash(clean)), nil
}

func writeMember(dst, name string, r io.Reader, budget *int64) error {
	p, err := safePath(dst, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, *budget+1))
	*budget -= n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && *budget < 0 {
		err = aco.Errorf(aco.EINVALID, "archive unpacks to more than %d MiB; refusing the release", maxUnpacked>>20)
	}
	return err
}

func unzip(archive, dst string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return aco.Errorf(aco.EINVALID, "%s is not a readable zip: %v", filepath.Base(archive), err)
	}
	defer zr.Close()
	budget := int64(maxUnpacked)
	for _, m := range zr.File {
		if m.FileInfo().IsDir() || !wanted(m.Name) {
			continue
		}
		rc, err := m.Open()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", filepath.Base(archive), m.Name, err)
		}
		err = writeMember(dst, m.Name, rc, &budget)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func untar(archive, dst string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return aco.Errorf(aco.EINVALID, "%s is not a readable .tar.gz: %v", filepath.Base(archive), err)
	}
	tr := tar.NewReader(gz)
	budget := int64(maxUnpacked)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return aco.Errorf(aco.EINVALID, "%s is not a readable .tar.gz: %v", filepath.Base(archive), err)
		}
		if h.Typeflag != tar.TypeReg || !wanted(h.Name) {
			continue // links and devices are never needed to read sources
		}
		if err := writeMember(dst, h.Name, tr, &budget); err != nil {
			return err
		}
	}
}

// packageRoot finds the directory an unpacked release's import name is
// importable from: the wheel's top, or an sdist's name-version/ or
// name-version/src/. The shallowest match wins.
func packageRoot(dir, importName string) (string, error) {
	rel := filepath.Join(strings.Split(importName, ".")...)
	best, bestDepth := "", -1
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (d.Name() != "__init__.py" && d.Name() != "__init__.pyi") {
			return nil
		}
		pkg := filepath.Dir(p)
		if !strings.HasSuffix(pkg, string(filepath.Separator)+rel) {
			return nil
		}
		root := strings.TrimSuffix(pkg, string(filepath.Separator)+rel)
		depth := strings.Count(root, string(filepath.Separator))
		if bestDepth < 0 || depth < bestDepth {
			best, bestDepth = root, depth
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if best == "" {
		return "", fmt.Errorf("no package %s (%s/__init__.py) in the release", importName, filepath.ToSlash(rel))
	}
	return best, nil
}
