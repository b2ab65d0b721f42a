package apiwatch

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/patches"
)

// Watcher runs one check of every declared SDK.
type Watcher struct {
	Index   Index
	Surface SurfaceReader
	// Tracker receives one issue per release with findings; nil leaves the
	// issues to the caller (--dry-run).
	Tracker Tracker
	// Progress shows downloads; nil shows nothing.
	Progress *Progress
	// WorkDir holds downloads and unpacked releases; a temporary directory
	// (removed afterwards) when "".
	WorkDir string
}

// Run checks the SDKs of files and returns what it found. An SDK the index
// or the reader fails on is reported in its SDKStatus and the others are
// still checked; the error is for what stops the whole run.
func (w *Watcher) Run(ctx context.Context, files []*patches.File) (*Report, error) {
	work := w.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "aco-apiwatch-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	rep := &Report{}
	for _, f := range files {
		st := SDKStatus{SDK: f.Name, Distribution: f.SDK.Distribution, Verified: f.SDK.Verified}
		releases, err := w.checkSDK(ctx, f, work, &st)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			st.Error = aco.ErrorMessage(err)
			if aco.ErrorCode(err) == aco.EINTERNAL {
				st.Error = err.Error()
			}
		}
		rep.SDKs = append(rep.SDKs, st)
		rep.Releases = append(rep.Releases, releases...)
	}
	return rep, nil
}

func (w *Watcher) checkSDK(ctx context.Context, f *patches.File, work string, st *SDKStatus) ([]ReleaseReport, error) {
	versions, err := w.Index.Versions(ctx, f.SDK.Distribution)
	if err != nil {
		return nil, err
	}
	st.Newer, st.Latest = newerStable(versions, f.SDK.Verified)
	if len(st.Newer) == 0 {
		return nil, nil
	}
	if !containsString(versions, f.SDK.Verified) {
		return nil, aco.Errorf(aco.ENOTFOUND, "%s %s (sdk.verified in %s) is not on the package index, so there is nothing to compare with; fix sdk.verified",
			f.SDK.Distribution, f.SDK.Verified, f.Path)
	}
	base, err := w.surfaceOf(ctx, f, f.SDK.Verified, work)
	if err != nil {
		return nil, err
	}
	var out []ReleaseReport
	for _, v := range st.Newer {
		s, err := w.surfaceOf(ctx, f, v, work)
		if err != nil {
			return out, err
		}
		r := ReleaseReport{
			SDK: f.Name, Distribution: f.SDK.Distribution, File: f.Path,
			Verified: f.SDK.Verified, Version: v,
			Findings: Diff(f, base, s),
			Links:    ReleaseLinks(f.SDK.Releases, f.SDK.Changelog, f.SDK.Verified, v),
		}
		if w.Tracker != nil && len(r.Findings) > 0 {
			ref, err := w.Tracker.Upsert(ctx, IssueFor(&r))
			if err != nil {
				out = append(out, r)
				return out, err
			}
			r.Issue = ref
		}
		out = append(out, r)
	}
	return out, nil
}

// surfaceOf downloads one release (wheel preferred, sdist otherwise),
// unpacks its Python sources and reads the surface of f's targets.
func (w *Watcher) surfaceOf(ctx context.Context, f *patches.File, version, work string) (*Surface, error) {
	rel, err := w.Index.Release(ctx, f.SDK.Distribution, version)
	if err != nil {
		return nil, err
	}
	file, ok := pickFile(rel.Files)
	if !ok {
		return nil, aco.Errorf(aco.ENOTFOUND, "%s %s has no wheel or sdist on the package index that is not yanked", f.SDK.Distribution, version)
	}
	dir := filepath.Join(work, f.Name+"-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	archive := filepath.Join(dir, file.Filename)
	out, err := os.Create(archive)
	if err != nil {
		return nil, err
	}
	var dst io.Writer = out
	var bar *bar
	if w.Progress != nil {
		bar = w.Progress.Start(file.Filename, file.Size)
		dst = io.MultiWriter(out, bar)
	}
	err = w.Index.Download(ctx, file, dst)
	if bar != nil {
		bar.Done(err)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "src")
	if err := Unpack(archive, file.Kind, src); err != nil {
		return nil, err
	}
	root, err := packageRoot(src, f.SDK.Import)
	if err != nil {
		return nil, aco.Errorf(aco.ENOTFOUND, "%s: %v", file.Filename, err)
	}
	s, err := w.Surface.Surface(ctx, Request(f, root))
	if err != nil {
		return nil, fmt.Errorf("reading the API surface of %s: %w", file.Filename, err)
	}
	return s, nil
}

// pickFile prefers a pure-Python wheel, then any wheel (the Python sources
// are the same in each), then the sdist.
func pickFile(files []DistFile) (DistFile, bool) {
	var cands []DistFile
	for _, f := range files {
		if !f.Yanked && (f.Kind == "wheel" || f.Kind == "sdist") {
			cands = append(cands, f)
		}
	}
	score := func(f DistFile) int {
		switch {
		case f.Kind == "wheel" && strings.HasSuffix(f.Filename, "-none-any.whl"):
			return 0
		case f.Kind == "wheel":
			return 1
		}
		return 2
	}
	sort.SliceStable(cands, func(i, j int) bool { return score(cands[i]) < score(cands[j]) })
	if len(cands) == 0 {
		return DistFile{}, false
	}
	return cands[0], true
}
