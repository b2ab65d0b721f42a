// Package showcmd implements `aco show RUN`: one run's dataflow graph as
// text, JSON, Graphviz DOT or Mermaid.
package showcmd

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/graph"
)

// Options are the flags and argument of `aco show`.
type Options struct {
	Run     string
	Format  string
	Service func() (aco.RunService, error)
	Out     io.Writer
}

// NewCmd returns `aco show`.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Out: f.Out, Service: f.RunService}
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run's dataflow graph (RUN: an id, a prefix of one, or last)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: "+strings.Join(graph.Formats, ", "))
	return cmd
}

// Run prints the graph.
func Run(ctx context.Context, opts *Options) error {
	svc, err := opts.Service()
	if err != nil {
		return err
	}
	g, err := svc.Graph(ctx, opts.Run)
	if err != nil {
		return err
	}
	return graph.Render(opts.Out, g, opts.Format)
}
