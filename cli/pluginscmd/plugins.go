// Package pluginscmd is `aco plugins`: which notifier and drafter plugins
// aco finds, what they speak, and why one it cannot use is skipped.
package pluginscmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/plugins"
)

// Options are the parsed flags of `aco plugins list`.
type Options struct {
	Out          io.Writer
	Format       string // text or json
	StartTimeout time.Duration
	Home         string // $ACO_HOME
	ExeDir       string // the aco binary's directory ("" leaves it out)
	Environ      func() []string
}

// NewCmd builds `aco plugins` and its subcommand list; runF replaces
// ListRun in tests of the flags.
func NewCmd(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Out: f.Out, Environ: f.Environ}
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Show the notifier and drafter plugins aco finds",
		Long: `Plugins are executables named aco-plugin-<kind>-<name>, kind notifier (where
aco apiwatch reports go) or drafter (which model aco patchgen asks). aco looks
for them, first match wins, in

  plugins.dir of $ACO_HOME/config.yaml
  $ACO_HOME/plugins
  the directory of the aco binary (where the shipped plugins are built)

and passes each its own section of config.yaml as JSON in $ACO_PLUGIN_CONFIG:

  plugins:
    dir: ~/aco-plugins
    notifier: [webhook, markdown]     # used when --notifier is not given
    drafter: anthropic                # used when --drafter is not given
    notifiers:
      webhook:  {url: https://hooks.example.org/aco, secret: s3cret}
      markdown: {dir: docs/apiwatch}
      email:    {host: smtp.example.org, port: 587, username: bot, password_env: SMTP_PASSWORD,
                 from: aco@example.org, to: [maintainers@example.org]}
    drafters:
      anthropic: {model: claude-sonnet-4-5}   # key from ANTHROPIC_API_KEY`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the plugins found, their kind and protocol version, and why any is skipped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Format != "text" && opts.Format != "json" {
				return aco.Errorf(aco.EINVALID, "--format %q: use text or json", opts.Format)
			}
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			opts.Home = cfg.Home
			if exe, err := f.Executable(); err == nil {
				// Through a symlink in PATH to the build directory, where
				// the shipped plugins are.
				if real, err := filepath.EvalSymlinks(exe); err == nil {
					exe = real
				}
				opts.ExeDir = filepath.Dir(exe)
			}
			if runF != nil {
				return runF(opts)
			}
			return ListRun(opts)
		},
	}
	list.Flags().StringVar(&opts.Format, "format", "text", "text or json")
	list.Flags().DurationVar(&opts.StartTimeout, "start-timeout", plugins.DefaultStartTimeout, "how long a plugin may take to answer the handshake")
	cmd.AddCommand(list)
	return cmd
}

// Entry is one row of the listing.
type Entry struct {
	Kind     plugins.Kind `json:"kind"`
	Name     string       `json:"name"`
	Path     string       `json:"path"`
	Protocol int          `json:"protocol,omitempty"` // 0 when the plugin did not say
	OK       bool         `json:"ok"`
	Skipped  string       `json:"skipped,omitempty"` // why it cannot be used
}

// ListRun discovers the plugins, starts each (in parallel) to check its
// handshake, and prints the result.
func ListRun(opts *Options) error {
	cfg, err := plugins.LoadConfig(plugins.ConfigPath(opts.Home))
	if err != nil {
		return err
	}
	dirs := plugins.SearchPath(opts.Home, cfg, opts.ExeDir)
	cands, err := plugins.Discover(dirs)
	if err != nil {
		return err
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	host := plugins.NewHost(plugins.HostOptions{Dirs: dirs, Config: cfg, StartTimeout: opts.StartTimeout, Environ: environ})
	defer host.Close()
	entries := make([]Entry, len(cands))
	var wg sync.WaitGroup
	for i, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := Entry{Kind: c.Kind, Name: c.Name, Path: c.Path}
			v, err := host.Check(c)
			e.Protocol = v
			if pe, ok := err.(*plugins.PluginError); ok {
				e.Skipped = pe.Reason
				e.Protocol = pe.Version
			} else if err != nil {
				e.Skipped = err.Error()
			}
			e.OK = err == nil
			entries[i] = e
		}()
	}
	wg.Wait()

	if opts.Format == "json" {
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Dirs    []string `json:"dirs"`
			Plugins []Entry  `json:"plugins"`
		}{dirs, entries})
	}
	fmt.Fprintf(opts.Out, "searched: %s\n", strings.Join(dirs, ", "))
	if len(entries) == 0 {
		fmt.Fprintf(opts.Out, "no plugins found (executables named %s<kind>-<name>)\n", plugins.Prefix)
		return nil
	}
	tw := tabwriter.NewWriter(opts.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tPROTOCOL\tSTATUS\tPATH")
	for _, e := range entries {
		proto, status := "-", "ok"
		if e.Protocol != 0 {
			proto = fmt.Sprint(e.Protocol)
		}
		if !e.OK {
			status = "skipped: " + e.Skipped
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Kind, e.Name, proto, status, e.Path)
	}
	return tw.Flush()
}
