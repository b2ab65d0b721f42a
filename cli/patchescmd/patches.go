// Package patchescmd is `aco patches`: list the declared SDK patches, render
// them into the Python shim, and check or diff the rendered files.
package patchescmd

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/patches"
)

// Options are the parsed flags of every `aco patches` subcommand.
type Options struct {
	Out    io.Writer
	ErrOut io.Writer
	Dir    string                 // --dir: the checkout; found from Getwd when empty
	Getwd  func() (string, error) // the directory the root is searched from
}

// NewCmd builds `aco patches` and its subcommands.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	return newCmd(&Options{Out: f.Out, ErrOut: f.ErrOut, Getwd: os.Getwd})
}

func newCmd(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patches",
		Short: "List, render and check the SDK patch declarations (patches/*.yaml)",
		Long: "The SDK methods aco records are declared in patches/*.yaml and rendered into\n" +
			"pyshim/aco/patches/_generated/. Edit the YAML, then run `aco patches render`.",
	}
	cmd.PersistentFlags().StringVar(&opts.Dir, "dir", "", "the aco checkout (default: found by walking up from the current directory)")
	sub := []struct {
		use, short string
		run        func(*Options) error
	}{
		{"list", "List the declared methods", listRun},
		{"render", "Render the declarations into pyshim/aco/patches/_generated/", renderRun},
		{"check", "Fail when the generated files differ from the declarations", checkRun},
		{"diff", "Show how the generated files differ from the declarations", diffRun},
	}
	for _, s := range sub {
		run := s.run
		cmd.AddCommand(&cobra.Command{
			Use:   s.use,
			Short: s.short,
			Args:  cobra.NoArgs,
			RunE:  func(*cobra.Command, []string) error { return run(opts) },
		})
	}
	return cmd
}

func (o *Options) root() (string, error) {
	if o.Dir != "" {
		return patches.FindRoot(o.Dir)
	}
	wd, err := o.Getwd()
	if err != nil {
		return "", err
	}
	return patches.FindRoot(wd)
}

// fail prints err's user-facing message and makes the command exit 1.
func (o *Options) fail(err error) error {
	fmt.Fprintln(o.ErrOut, "aco patches:", aco.ErrorMessage(err))
	if aco.ErrorCode(err) == aco.EINTERNAL {
		fmt.Fprintln(o.ErrOut, err)
	}
	return &cmdutil.ExitError{Code: 1}
}

func listRun(o *Options) error {
	root, err := o.root()
	if err != nil {
		return o.fail(err)
	}
	files, err := patches.LoadRoot(root)
	if err != nil {
		return o.fail(err)
	}
	w := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "API\tKIND\tSDK\tTARGET\tASYNC TARGET")
	for _, f := range files {
		sdk := fmt.Sprintf("%s %s (verified %s)", f.SDK.Distribution, f.SDK.Versions, f.SDK.Verified)
		for _, m := range f.Methods {
			async := m.AsyncTarget
			if async == "" {
				async = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.API, m.Kind, sdk, m.Target, async)
		}
	}
	return w.Flush()
}

func renderRun(o *Options) error {
	root, err := o.root()
	if err != nil {
		return o.fail(err)
	}
	changed, err := patches.Write(root)
	for _, p := range changed {
		fmt.Fprintln(o.Out, "wrote", p)
	}
	if err != nil {
		return o.fail(err)
	}
	if len(changed) == 0 {
		fmt.Fprintln(o.Out, "generated files are up to date")
	}
	return nil
}

func checkRun(o *Options) error {
	root, err := o.root()
	if err != nil {
		return o.fail(err)
	}
	if err := patches.Check(root); err != nil {
		return o.fail(err)
	}
	fmt.Fprintln(o.Out, "generated files are up to date")
	return nil
}

func diffRun(o *Options) error {
	root, err := o.root()
	if err != nil {
		return o.fail(err)
	}
	d, err := patches.Diff(root)
	if err != nil {
		return o.fail(err)
	}
	if d == "" {
		return nil
	}
	io.WriteString(o.Out, d)
	// Like `git diff --exit-code`, so scripts can tell.
	return &cmdutil.ExitError{Code: 1}
}
