// Package markdown is a notifier that writes each apiwatch report as a
// Markdown file into a directory (a docs site, a folder in the repository).
// A report about the same SDK release replaces its file, so reruns keep one
// page per release.
package markdown

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aco-dev/aco/plugins"
)

// Config is plugins.notifiers.markdown in config.yaml.
type Config struct {
	Dir string `json:"dir"` // created when missing; relative to aco's working directory
}

// Notifier writes reports into one directory.
type Notifier struct{ dir string }

// New checks cfg and returns a notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Dir == "" {
		return nil, errors.New("plugins.notifiers.markdown.dir is not set: name the directory the reports go into")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	return &Notifier{dir: dir}, nil
}

// Open is the plugin's entry: the config section as JSON.
func Open(config []byte) (plugins.Notifier, error) {
	var cfg Config
	if err := plugins.DecodeConfig(config, &cfg); err != nil {
		return nil, err
	}
	return New(cfg)
}

func (n *Notifier) Notify(ctx context.Context, r plugins.Report) (plugins.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return plugins.Delivery{}, err
	}
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return plugins.Delivery{}, err
	}
	path := filepath.Join(n.dir, FileName(r))
	if err := writeAtomic(path, []byte(Render(r))); err != nil {
		return plugins.Delivery{}, err
	}
	return plugins.Delivery{Target: "file " + path, URL: "file://" + filepath.ToSlash(path)}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is <sdk>-<version>.md, with anything that is not safe in a file
// name (or would climb out of the directory) replaced.
func FileName(r plugins.Report) string {
	name := r.SDK
	if r.ToVersion != "" {
		name += "-" + r.ToVersion
	}
	name = strings.Trim(unsafeName.ReplaceAllString(name, "_"), "._-")
	if name == "" {
		name = "report"
	}
	return name + ".md"
}

// Render is the page: title, summary, apiwatch's findings and the links.
func Render(r plugins.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", oneLine(r.Title))
	if r.SDK != "" {
		fmt.Fprintf(&b, "`%s` %s → %s: %d breaking, %d to review, %d informational.\n\n",
			r.SDK, r.FromVersion, r.ToVersion, r.Breaking, r.Review, r.Info)
	}
	if body := strings.TrimSpace(r.Markdown); body != "" {
		b.WriteString(body + "\n\n")
	}
	if len(r.Links) > 0 {
		b.WriteString("## Links\n\n")
		for _, l := range r.Links {
			fmt.Fprintf(&b, "- [%s](%s)\n", oneLine(l.Label), l.URL)
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// writeAtomic replaces path so that a docs build never reads half a page.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".aco-report-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
