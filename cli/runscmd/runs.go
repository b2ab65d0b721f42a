// Package runscmd implements `aco runs`: the recorded runs, newest first,
// subruns indented under their parent.
package runscmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/graph"
)

// Options are the flags of `aco runs`.
type Options struct {
	Format  string
	Service func() (aco.RunService, error)
	Out     io.Writer
}

// NewCmd returns `aco runs`. runF replaces the behaviour in flag tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Out: f.Out, Service: f.RunService}
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recorded runs, newest first, subruns under their parent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table or json")
	return cmd
}

// Run lists the runs.
func Run(ctx context.Context, opts *Options) error {
	if opts.Format != "table" && opts.Format != "json" {
		return aco.Errorf(aco.EINVALID, "unknown format %q: use table or json", opts.Format)
	}
	svc, err := opts.Service()
	if err != nil {
		return err
	}
	runs, err := svc.ListRuns(ctx)
	if err != nil {
		return err
	}
	if opts.Format == "json" {
		if runs == nil {
			runs = []aco.Run{}
		}
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(runs)
	}
	return writeTable(opts.Out, runs)
}

func writeTable(out io.Writer, runs []aco.Run) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(out, "No runs recorded yet: run a program with `aco-launch script.py`.")
		return err
	}
	children := map[string][]aco.Run{}
	ids := map[string]bool{}
	for _, r := range runs {
		ids[r.ID] = true
	}
	var roots []aco.Run
	for _, r := range runs {
		if r.ParentID != "" && ids[r.ParentID] {
			children[r.ParentID] = append(children[r.ParentID], r)
		} else {
			roots = append(roots, r)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCALLS\tSTARTED\tNAME")
	var write func(r aco.Run, depth int)
	write = func(r aco.Run, depth int) {
		indent := ""
		for i := 0; i < depth; i++ {
			indent += "  "
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t%s\t%s\n", indent, graph.ShortID(r.ID), r.Status, r.Calls,
			r.CreatedAt.Local().Format("2006-01-02 15:04:05"), r.Name)
		// Subruns read best in the order they started.
		kids := children[r.ID]
		for i := len(kids) - 1; i >= 0; i-- {
			write(kids[i], depth+1)
		}
	}
	for _, r := range roots {
		write(r, 0)
	}
	return tw.Flush()
}
