// Package editcmd implements `aco edit RUN NODE`: overwrite a recorded
// call's input or output for the next rerun, or revert an overwrite.
package editcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/graph"
)

// Options are the flags and arguments of `aco edit`.
type Options struct {
	Run, Node     string
	Input, Output string
	SetInput      bool // --input given
	SetOutput     bool // --output given
	JSON          bool // the values are whole JSON overwrites, not texts
	RevertInput   bool
	RevertOutput  bool
	Service       func() (aco.RunService, error)
	Out           io.Writer
}

// NewCmd returns `aco edit`.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Out: f.Out, Service: f.RunService}
	cmd := &cobra.Command{
		Use:   "edit RUN NODE (--input TEXT | --output TEXT | --revert-input | --revert-output)",
		Short: "Overwrite a call's input or output; the next rerun uses it",
		Long: `Overwrite a recorded call's input or output. The next rerun of the run
(aco rerun RUN) sends the new input to the model, or returns the new output
to the program as the SDK's own response type, and recomputes what follows.

TEXT replaces the text of the last message (--input) or of the answer
(--output). With --json, TEXT is a whole overwrite instead:
{"request": {...}} for an input, {"type": ..., "data": {...}} for an output.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run, opts.Node = args[0], args[1]
			opts.SetInput = cmd.Flags().Changed("input")
			opts.SetOutput = cmd.Flags().Changed("output")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Input, "input", "", "new input text")
	fl.StringVar(&opts.Output, "output", "", "new output text")
	fl.BoolVar(&opts.JSON, "json", false, "the value is a whole JSON overwrite")
	fl.BoolVar(&opts.RevertInput, "revert-input", false, "drop the input overwrite")
	fl.BoolVar(&opts.RevertOutput, "revert-output", false, "drop the output overwrite")
	return cmd
}

// Run applies the edit.
func Run(ctx context.Context, opts *Options) error {
	var e aco.CallEdit
	var err error
	if opts.SetInput && opts.RevertInput || opts.SetOutput && opts.RevertOutput {
		return aco.Errorf(aco.EINVALID, "give a new value or a revert for each side, not both")
	}
	if opts.SetInput {
		if e.Input, err = overwrite(opts.Input, opts.JSON); err != nil {
			return err
		}
	}
	if opts.SetOutput {
		if e.Output, err = overwrite(opts.Output, opts.JSON); err != nil {
			return err
		}
	}
	if opts.RevertInput {
		e.Input = json.RawMessage("null")
	}
	if opts.RevertOutput {
		e.Output = json.RawMessage("null")
	}
	if e.Input == nil && e.Output == nil {
		return aco.Errorf(aco.EINVALID, "nothing to edit: give --input, --output, --revert-input or --revert-output")
	}
	svc, err := opts.Service()
	if err != nil {
		return err
	}
	node, err := FindNode(ctx, svc, opts.Run, opts.Node)
	if err != nil {
		return err
	}
	if err := svc.EditCall(ctx, node, e); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Out, "Edited node %s. Rerun to see the effect: aco rerun %s\n", graph.ShortID(node), opts.Run)
	return err
}

func overwrite(v string, whole bool) (json.RawMessage, error) {
	if whole {
		if !json.Valid([]byte(v)) {
			return nil, aco.Errorf(aco.EINVALID, "--json: the value is not valid JSON")
		}
		return json.RawMessage(v), nil
	}
	return json.Marshal(map[string]string{"text": v})
}

// FindNode resolves a node id or unique id prefix within a run's graph.
func FindNode(ctx context.Context, svc aco.RunService, runRef, nodeRef string) (string, error) {
	g, err := svc.Graph(ctx, runRef)
	if err != nil {
		return "", err
	}
	var found []string
	for _, n := range g.Nodes {
		if n.NodeID == nodeRef {
			return n.NodeID, nil
		}
		if strings.HasPrefix(n.NodeID, nodeRef) {
			found = append(found, n.NodeID)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", aco.Errorf(aco.ENOTFOUND, "run %s has no node %q: `aco show %s` lists its nodes", runRef, nodeRef, runRef)
	}
	return "", aco.Errorf(aco.EINVALID, "node %q is ambiguous in run %s (%s): give more characters", nodeRef, runRef, strings.Join(found, ", "))
}
