// Package mockllmcmd implements `aco mockllm`: the deterministic LLM server
// for demos, tests and benchmarks.
package mockllmcmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/mockllm"
)

// Options are the flags of `aco mockllm`.
type Options struct {
	Port       int
	Latency    time.Duration
	ChunkDelay time.Duration
	Out        io.Writer
}

// NewCmd returns `aco mockllm`.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Out: f.Out}
	cmd := &cobra.Command{
		Use:   "mockllm",
		Short: "Serve a deterministic mock LLM (OpenAI, Anthropic, Google, Together) on loopback",
		Long: `Serve a deterministic LLM on 127.0.0.1 that speaks the providers' real wire
formats, streaming included, so the real SDKs run against it unmodified:

  openai        OPENAI_BASE_URL=http://127.0.0.1:PORT/v1
  anthropic     ANTHROPIC_BASE_URL=http://127.0.0.1:PORT
  google-genai  genai.Client(api_key="x", http_options={"base_url": "http://127.0.0.1:PORT"})
  together      TOGETHER_BASE_URL=http://127.0.0.1:PORT

Any API key is accepted. It answers simple arithmetic ("Output the number 42"
→ 42, "Add 1 to 42" → 43) and otherwise echoes the last user message. It runs
until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Port, "port", 8000, "port to listen on (0 picks a free one)")
	cmd.Flags().DurationVar(&opts.Latency, "latency", 0, "wait this long before each response (time to first token)")
	cmd.Flags().DurationVar(&opts.ChunkDelay, "chunk-delay", 0, "wait this long between streamed chunks")
	return cmd
}

// Run serves until ctx is cancelled or the process is interrupted.
func Run(ctx context.Context, opts *Options) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", opts.Port))
	if err != nil {
		return aco.Errorf(aco.EUNAVAIL, "mock LLM server cannot listen on 127.0.0.1:%d: %v (choose another --port)", opts.Port, err)
	}
	fmt.Fprintf(opts.Out, "mock LLM server on http://%s (OpenAI base URL http://%s/v1)\n", ln.Addr(), ln.Addr())
	srv := mockllm.New(mockllm.Options{Latency: opts.Latency, ChunkDelay: opts.ChunkDelay})
	return srv.Serve(ctx, ln)
}
