package watcher

import (
	"os"
	"path/filepath"
	"strings"
)

// skipNames are directories that hold no user code worth rewriting
// (virtualenvs, installed packages, caches) and can hold many thousands of
// subdirectories that would exhaust the inotify budget. Hidden directories
// (.git, .venv, .tox, .mypy_cache, an editor's or a tool's state) are
// skipped as a rule: should one hold user code, its bytecode is still
// rewritten at import, just not ahead of time.
var skipNames = map[string]bool{
	"venv": true, "node_modules": true, "__pycache__": true,
	"site-packages": true, "dist-packages": true,
}

// skipDir reports whether the directory at path, named name, is left alone.
// A virtualenv may have any name; its pyvenv.cfg gives it away.
func skipDir(path, name string) bool {
	if skipNames[name] || strings.HasPrefix(name, ".") {
		return true
	}
	_, err := os.Lstat(filepath.Join(path, "pyvenv.cfg"))
	return err == nil
}

// isSource reports whether a file named name is Python source to refresh.
// Emacs' lock files (.#name.py) are symlinks to nowhere, not source.
func isSource(name string) bool {
	return strings.HasSuffix(name, ".py") && !strings.HasPrefix(name, ".#")
}

// within reports whether path is dir or lies under it.
func within(dir, path string) bool {
	if path == dir {
		return true
	}
	if dir == string(filepath.Separator) {
		return strings.HasPrefix(path, dir)
	}
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}

// reaches reports whether a recursive watch of root covers dir: dir is root
// or under it, and no directory on the way down (dir included) is skipped.
func reaches(root, dir string) bool {
	if !within(root, dir) {
		return false
	}
	for d := dir; d != root; d = filepath.Dir(d) {
		if skipDir(d, filepath.Base(d)) {
			return false
		}
	}
	return true
}
