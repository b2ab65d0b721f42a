// Package apiwatchcmd is `aco apiwatch`: check the package index for SDK
// releases newer than the ones the patch declarations were verified with,
// diff the API surface the patches rely on, and file one GitHub issue per
// release (or print it with --dry-run).
package apiwatchcmd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/apiwatch/githubissues"
	"github.com/aco-dev/aco/apiwatch/pypi"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/patches"
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/pyshim"
)

// Exit codes, for CI.
const (
	ExitNothing  = 0 // nothing new, or nothing breaking (or --no-fail)
	ExitError    = 1 // the check could not be done
	ExitBreaking = 2 // a newer release breaks a declaration
)

// Options are the parsed flags and the process's dependencies.
type Options struct {
	Out, ErrOut io.Writer
	Getenv      func(string) string
	Getwd       func() (string, error)
	HTTP        *http.Client // for the index and GitHub; http.DefaultClient when nil

	Dir       string   // --dir: the aco checkout; found from Getwd when ""
	SDKs      []string // --sdk: file names or distributions; all when empty
	Index     string   // --index: the PyPI JSON API base
	Repo      string   // --repo OWNER/NAME; $GITHUB_REPOSITORY when ""
	GitHubAPI string   // --github-api; $GITHUB_API_URL when ""
	DryRun    bool
	Format    string
	NoFail    bool
	Python    string // --python; $ACO_PYTHON, else python3
	// Notifiers (--notifier, repeatable) receive each release's report:
	// "github" (built in: the GitHub issue) or plugins by name. Empty means
	// the config file's plugins.notifier, else github.
	Notifiers []string
}

// NewCmd builds `aco apiwatch`. runF replaces the run function in tests of
// the flags; nil runs it.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Out: f.Out, ErrOut: f.ErrOut, Getenv: f.Getenv, Getwd: os.Getwd}
	cmd := &cobra.Command{
		Use:   "apiwatch [--sdk NAME] [--index URL] [--repo OWNER/NAME] [--dry-run] [--format text|json|markdown]",
		Short: "Find SDK releases that change what the patches rely on, and file GitHub issues",
		Long: `For each SDK declared in patches/*.yaml, ask the package index for releases
newer than the verified version, download them and the verified one, read
the API surface of every patched target (Python's ast; nothing is installed
or imported), diff, and open or update one GitHub issue per release.

The token comes from GITHUB_TOKEN and the repository from --repo or
GITHUB_REPOSITORY; --dry-run prints the issues instead.

Exit status: 0 nothing new or nothing breaking, 1 error, 2 breaking
findings (0 with --no-fail).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.Format {
			case "text", "json", "markdown":
			default:
				return fmt.Errorf("--format %q: expected text, json or markdown", opts.Format)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Dir, "dir", "", "the aco checkout (default: found by walking up from the current directory)")
	fl.StringSliceVar(&opts.SDKs, "sdk", nil, "check only this SDK (declaration file name or distribution); repeatable")
	fl.StringVar(&opts.Index, "index", pypi.DefaultBaseURL, "base URL of the package index's JSON API (a PyPI mirror's …/pypi)")
	fl.StringVar(&opts.Repo, "repo", "", "the GitHub repository for issues, OWNER/NAME (default $GITHUB_REPOSITORY)")
	fl.StringVar(&opts.GitHubAPI, "github-api", "", "GitHub API URL, for GitHub Enterprise (default $GITHUB_API_URL or api.github.com)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the issues instead of filing them (no token needed)")
	fl.StringArrayVar(&opts.Notifiers, "notifier", nil, "where reports go: github, or a notifier plugin (aco plugins list); repeatable")
	fl.StringVar(&opts.Format, "format", "text", "output: text, json or markdown")
	fl.BoolVar(&opts.NoFail, "no-fail", false, "exit 0 even when a release breaks a declaration (the issue is the signal)")
	fl.StringVar(&opts.Python, "python", "", "the Python that reads the sources, 3.9+ (default $ACO_PYTHON, else python3)")
	return cmd
}

// fail prints err for the user and exits 1.
func (o *Options) fail(err error) error {
	fmt.Fprintln(o.ErrOut, "aco apiwatch:", aco.ErrorMessage(err))
	if aco.ErrorCode(err) == aco.EINTERNAL {
		fmt.Fprintln(o.ErrOut, err)
	}
	return &cmdutil.ExitError{Code: ExitError}
}

// Run checks, reports and files issues.
func Run(ctx context.Context, o *Options) error {
	files, err := o.declarations()
	if err != nil {
		return o.fail(err)
	}
	names, err := o.notifierNames()
	if err != nil {
		return o.fail(err)
	}
	onlyGitHub := len(names) == 1 && names[0] == "github"
	var tracker apiwatch.Tracker
	if !o.DryRun && slices.Contains(names, "github") {
		if tracker, err = o.tracker(); err != nil {
			return o.fail(err)
		}
	}
	reader, err := o.reader()
	if err != nil {
		return o.fail(err)
	}
	w := &apiwatch.Watcher{
		Index:    &pypi.Client{BaseURL: o.Index, HTTP: o.HTTP},
		Surface:  reader,
		Progress: &apiwatch.Progress{W: o.ErrOut, Terminal: isTerminal(o.ErrOut)},
	}
	if onlyGitHub {
		w.Tracker = tracker
	}
	rep, err := w.Run(ctx, files)
	if err != nil {
		return o.fail(err)
	}
	notifyFailed := false
	if !onlyGitHub && !o.DryRun {
		notifyFailed = o.notify(ctx, names, tracker, rep)
	}
	if o.DryRun {
		for i := range rep.Releases {
			r := &rep.Releases[i]
			if len(r.Findings) > 0 {
				is := apiwatch.IssueFor(r)
				r.Issue = &apiwatch.IssueRef{Action: "dry-run", Title: is.Title, Labels: is.Labels, Body: is.Body}
			}
		}
	}
	switch o.Format {
	case "json":
		err = apiwatch.WriteJSON(o.Out, rep)
	case "markdown":
		err = apiwatch.WriteMarkdown(o.Out, rep)
	default:
		err = apiwatch.WriteText(o.Out, rep)
	}
	if err != nil {
		return o.fail(err)
	}
	if o.DryRun && o.Format != "json" {
		for _, r := range rep.Releases {
			if r.Issue != nil {
				fmt.Fprintf(o.Out, "\n--- issue (dry run, not filed) ---\ntitle: %s\nlabels: %s\n\n%s", r.Issue.Title, strings.Join(r.Issue.Labels, ", "), r.Issue.Body)
			}
		}
	}
	for _, s := range rep.SDKs {
		if s.Error != "" {
			fmt.Fprintf(o.ErrOut, "aco apiwatch: %s: %s\n", s.SDK, s.Error)
		}
	}
	switch {
	case rep.Failed() || notifyFailed:
		return &cmdutil.ExitError{Code: ExitError}
	case rep.Breaking() > 0 && !o.NoFail:
		return &cmdutil.ExitError{Code: ExitBreaking}
	}
	return nil
}

// notifierNames is --notifier, else the config file's choice, else github.
func (o *Options) notifierNames() ([]string, error) {
	if len(o.Notifiers) > 0 {
		return o.Notifiers, nil
	}
	cfg, err := config.FromEnv(o.Getenv)
	if err != nil {
		return nil, err
	}
	pc, err := plugins.LoadConfig(plugins.ConfigPath(cfg.Home))
	if err != nil {
		return nil, err
	}
	if len(pc.Notifier) > 0 {
		return pc.Notifier, nil
	}
	return []string{"github"}, nil
}

// notify sends each release with findings to every named notifier, the
// built-in GitHub issue and plugins alike; one that fails does not keep the
// report from the others. It reports whether any failed.
func (o *Options) notify(ctx context.Context, names []string, tracker apiwatch.Tracker, rep *apiwatch.Report) bool {
	cfg, err := config.FromEnv(o.Getenv)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "aco apiwatch: %v\n", err)
		return true
	}
	pc, err := plugins.LoadConfig(plugins.ConfigPath(cfg.Home))
	if err != nil {
		fmt.Fprintf(o.ErrOut, "aco apiwatch: %v\n", err)
		return true
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(exe)
	}
	builtins := map[string]plugins.Notifier{}
	if tracker != nil {
		builtins["github"] = apiwatch.IssueNotifier{Tracker: tracker}
	}
	host := plugins.NewHost(plugins.HostOptions{Dirs: plugins.SearchPath(cfg.Home, pc, exeDir), Config: pc, Notifiers: builtins})
	defer host.Close()
	failed := false
	for i := range rep.Releases {
		r := &rep.Releases[i]
		if len(r.Findings) == 0 {
			continue
		}
		report, err := apiwatch.NotifierReport(r)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "aco apiwatch: %v\n", err)
			failed = true
			continue
		}
		for _, out := range host.NotifyAll(ctx, names, report) {
			if out.Err != nil {
				failed = true
				fmt.Fprintf(o.ErrOut, "aco apiwatch: notifier %s: %s\n", out.Name, aco.ErrorMessage(out.Err))
				continue
			}
			fmt.Fprintf(o.ErrOut, "%s %s: sent to %s %s\n", report.SDK, report.ToVersion, out.Name, out.Delivery.Target)
		}
	}
	return failed
}

func (o *Options) declarations() ([]*patches.File, error) {
	start := o.Dir
	if start == "" {
		wd, err := o.Getwd()
		if err != nil {
			return nil, err
		}
		start = wd
	}
	root, err := patches.FindRoot(start)
	if err != nil {
		return nil, err
	}
	files, err := patches.LoadRoot(root)
	if err != nil {
		return nil, err
	}
	if len(o.SDKs) == 0 {
		return files, nil
	}
	var out []*patches.File
	var known []string
	for _, name := range o.SDKs {
		found := false
		for _, f := range files {
			if f.Name == name || f.SDK.Distribution == name {
				out = append(out, f)
				found = true
			}
		}
		if !found {
			for _, f := range files {
				known = append(known, f.Name)
			}
			return nil, aco.Errorf(aco.EINVALID, "--sdk %q is not declared in patches/ (declared: %s)", name, strings.Join(known, ", "))
		}
	}
	return out, nil
}

func (o *Options) tracker() (apiwatch.Tracker, error) {
	token := o.Getenv("GITHUB_TOKEN")
	if token == "" {
		return nil, aco.Errorf(aco.EINVALID, "GITHUB_TOKEN is not set: export a token that may write issues, or pass --dry-run")
	}
	repo := o.Repo
	if repo == "" {
		repo = o.Getenv("GITHUB_REPOSITORY")
	}
	if repo == "" {
		return nil, aco.Errorf(aco.EINVALID, "no repository for the issues: pass --repo OWNER/NAME or set GITHUB_REPOSITORY")
	}
	client := github.NewClient(o.HTTP).WithAuthToken(token)
	api := o.GitHubAPI
	if api == "" {
		api = o.Getenv("GITHUB_API_URL")
	}
	if api != "" && strings.TrimRight(api, "/") != "https://api.github.com" {
		var err error
		if client, err = client.WithEnterpriseURLs(api, api); err != nil {
			return nil, aco.Errorf(aco.EINVALID, "--github-api %q: %v", api, err)
		}
	}
	return githubissues.New(client, repo)
}

// reader runs the shim's apisurface.py, unpacked with the rest of the shim
// under $ACO_HOME, with the chosen Python.
func (o *Options) reader() (*apiwatch.PythonReader, error) {
	cfg, err := config.FromEnv(o.Getenv)
	if err != nil {
		return nil, err
	}
	dir, err := pyshim.Unpack(cfg.ShimDir(pyshim.Version()))
	if err != nil {
		return nil, fmt.Errorf("unpacking the Python shim: %w", err)
	}
	py := o.Python
	if py == "" {
		py = o.Getenv("ACO_PYTHON")
	}
	if py == "" {
		py = "python3"
	}
	return &apiwatch.PythonReader{Python: py, Script: filepath.Join(dir, "aco", "apisurface.py")}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
