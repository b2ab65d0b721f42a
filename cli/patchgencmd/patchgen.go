// Package patchgencmd implements `aco patchgen`: a language model drafts a
// patch declaration for an SDK method, aco verifies it with real calls and
// writes it only when it works.
package patchgencmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/launcher"
	"github.com/aco-dev/aco/patches"
	"github.com/aco-dev/aco/patchgen"
	"github.com/aco-dev/aco/plugins"
)

// Options are the arguments and flags of `aco patchgen`.
type Options struct {
	API          string
	SDKVersion   string
	Model        string
	Write        bool
	AllowHooks   bool
	MaxRounds    int
	Dir          string // the checkout; found from the working directory when empty
	ResponseFile string
	// DrafterName (--drafter) picks who drafts: "openai" (built in, any
	// OpenAI-compatible endpoint) or a drafter plugin; empty means the
	// config file's plugins.drafter, else openai.
	DrafterName string

	Getenv  func(string) string
	Getwd   func() (string, error)
	Out     io.Writer
	ErrOut  io.Writer
	Drafter patchgen.Drafter // nil: the go-openai drafter from the environment
}

// NewCmd returns `aco patchgen`; runF replaces Run in tests of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Getenv: f.Getenv, Getwd: os.Getwd, Out: f.Out, ErrOut: f.ErrOut}
	cmd := &cobra.Command{
		Use:   "patchgen API",
		Short: "Draft, verify and write the patch declaration of an SDK method with an LLM",
		Long: `Draft the patch declaration of an SDK method (an api id such as
openai.completions.create: the import name, then the method's path on the
client) with a language model, verify it with real calls through the patched
SDK against the mock LLM, feed failures back for up to --max-rounds, and with
--write add it to patches/<sdk>.yaml and render it. Nothing is written unless
a draft passes.

The SDK is introspected with the user's interpreter ($ACO_PYTHON, else the
active virtualenv's, else python3). The model is any OpenAI-compatible chat
endpoint: OPENAI_API_KEY, OPENAI_BASE_URL. The transcript of every run is
saved under $ACO_HOME/patchgen/. A hook the model proposes (Python) is saved
there for review and is only used with --allow-hooks.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.API = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.SDKVersion, "sdk-version", "", "fail unless this version of the SDK is the one installed")
	cmd.Flags().StringVar(&opts.Model, "model", patchgen.DefaultModel, "the model that drafts")
	cmd.Flags().BoolVar(&opts.Write, "write", false, "write the verified declaration into patches/ and render it")
	cmd.Flags().BoolVar(&opts.AllowHooks, "allow-hooks", false, "let a draft add a Python hook module (else it is saved for review only)")
	cmd.Flags().IntVar(&opts.MaxRounds, "max-rounds", 4, "drafts to try before giving up")
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "the aco checkout (default: found by walking up from the current directory)")
	cmd.Flags().StringVar(&opts.DrafterName, "drafter", "", "who drafts: openai, or a drafter plugin (aco plugins list)")
	cmd.Flags().StringVar(&opts.ResponseFile, "response", "", "a recorded response body (JSON) to verify against when the mock LLM does not speak this API")
	return cmd
}

// Run does the work of `aco patchgen`.
func Run(ctx context.Context, opts *Options) error {
	if opts.MaxRounds < 1 {
		return aco.Errorf(aco.EINVALID, "--max-rounds must be at least 1")
	}
	start := opts.Dir
	if start == "" {
		wd, err := opts.Getwd()
		if err != nil {
			return err
		}
		start = wd
	}
	root, err := patches.FindRoot(start)
	if err != nil {
		return err
	}
	var response json.RawMessage
	if opts.ResponseFile != "" {
		data, err := os.ReadFile(opts.ResponseFile)
		if err != nil {
			return aco.Errorf(aco.ENOTFOUND, "cannot read --response: %v", err)
		}
		if !json.Valid(data) {
			return aco.Errorf(aco.EINVALID, "--response %s is not JSON: give a recorded response body", opts.ResponseFile)
		}
		response = data
	}
	py, err := launcher.FindInterpreter(opts.Getenv, exec.LookPath)
	if err != nil {
		return err
	}
	cfg, err := (&cmdutil.Factory{Getenv: opts.Getenv}).Config()
	if err != nil {
		return err
	}
	drafter := opts.Drafter
	if drafter == nil {
		d, closeHost, err := chooseDrafter(cfg, opts.DrafterName, opts.Getenv)
		if err != nil {
			return err
		}
		defer closeHost()
		drafter = d
	}
	res, err := patchgen.Run(ctx, patchgen.Options{
		API:        opts.API,
		Root:       root,
		Python:     py,
		Home:       cfg.Home,
		Model:      opts.Model,
		SDKVersion: opts.SDKVersion,
		MaxRounds:  opts.MaxRounds,
		Write:      opts.Write,
		AllowHooks: opts.AllowHooks,
		Response:   response,
		Drafter:    drafter,
		Progress:   opts.ErrOut,
	})
	if err != nil {
		return err
	}
	if len(res.Written) == 0 {
		fmt.Fprintf(opts.Out, "# verified declaration for %s (run again with --write to add it)\n%s", res.File, res.Declaration)
		return nil
	}
	fmt.Fprintf(opts.Out, "added %s to %s\n", opts.API, res.File)
	return nil
}

// chooseDrafter returns the drafter named by --drafter or the config file:
// the built-in go-openai one, or a plugin started through a host that the
// returned function stops.
func chooseDrafter(cfg config.Config, name string, getenv func(string) string) (patchgen.Drafter, func(), error) {
	pc, err := plugins.LoadConfig(plugins.ConfigPath(cfg.Home))
	if err != nil {
		return nil, nil, err
	}
	if name == "" {
		name = pc.Drafter
	}
	if name == "" || name == "openai" {
		d, err := patchgen.NewOpenAIDrafter(getenv)
		return d, func() {}, err
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(exe)
	}
	host := plugins.NewHost(plugins.HostOptions{Dirs: plugins.SearchPath(cfg.Home, pc, exeDir), Config: pc})
	d, err := host.Drafter(name)
	if err != nil {
		host.Close()
		return nil, nil, err
	}
	return patchgen.FromPluginDrafter(d), func() { host.Close() }, nil
}
