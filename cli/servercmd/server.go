// Package servercmd is `aco server start|stop|restart|status|logs|clear`:
// the life cycle of the background server, built on core/daemon.
package servercmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/client"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/daemon"
	"github.com/aco-dev/aco/core/watcher"
)

// ServeFunc runs the server in the foreground until ctx is cancelled.
type ServeFunc func(ctx context.Context, cfg config.Config) error

// exitNotRunning is `status`'s exit code when no server runs, as LSB init
// scripts give.
const exitNotRunning = 3

// startTimeout bounds `start`: longer than aco-launch's, since a person
// waits for it and the first start may create the database.
const startTimeout = 15 * time.Second

// Options is what the subcommands work with.
type Options struct {
	In          io.Reader
	Out, ErrOut io.Writer
	Config      config.Config
	Executable  func() (string, error)
	Environ     func() []string
	Now         func() time.Time
	// FollowEvery is how often `logs -f` looks for new lines.
	FollowEvery time.Duration
}

type flags struct {
	port, httpPort int
	home           string
}

// NewCmd returns `aco server`; serve is the server itself, used by the
// hidden `aco server run`.
func NewCmd(f *cmdutil.Factory, serve ServeFunc) *cobra.Command {
	var fl flags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Start, stop and inspect the aco server",
		Long: `The aco server records the runs aco-launch starts, keeps the store and
serves the web UI. aco-launch starts it when it is not running; these
commands manage it by hand.`,
	}
	cmd.PersistentFlags().IntVar(&fl.port, "port", 0, "runner protocol port (default $ACO_PORT or 5959)")
	cmd.PersistentFlags().IntVar(&fl.httpPort, "http-port", 0, "web UI port (default $ACO_HTTP_PORT or 5960)")
	cmd.PersistentFlags().StringVar(&fl.home, "home", "", "aco's home (default $ACO_HOME or ~/.cache/aco)")

	// opts resolves the configuration when a subcommand runs, after flags
	// are parsed; a flag overrides its environment variable.
	opts := func(c *cobra.Command) (*Options, error) {
		getenv := func(k string) string {
			switch {
			case k == "ACO_PORT" && c.Flags().Changed("port"):
				return strconv.Itoa(fl.port)
			case k == "ACO_HTTP_PORT" && c.Flags().Changed("http-port"):
				return strconv.Itoa(fl.httpPort)
			case k == "ACO_HOME" && fl.home != "":
				return fl.home
			}
			return f.Getenv(k)
		}
		cfg, err := config.FromEnv(getenv)
		if err != nil {
			return nil, aco.Errorf(aco.EINVALID, "%v", err)
		}
		return &Options{
			In: f.In, Out: f.Out, ErrOut: f.ErrOut, Config: cfg,
			Executable: f.Executable, Environ: f.Environ, Now: time.Now,
			FollowEvery: 250 * time.Millisecond,
		}, nil
	}
	sub := func(use, short string, run func(ctx context.Context, o *Options) error) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				o, err := opts(c)
				if err != nil {
					return err
				}
				return run(c.Context(), o)
			},
		}
	}

	var logsN int
	var follow, yes bool
	logs := sub("logs", "Print the server's log", func(ctx context.Context, o *Options) error {
		return LogsRun(ctx, o, logsN, follow)
	})
	logs.Flags().IntVarP(&logsN, "lines", "n", 0, "print only the last N lines")
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing lines as they are written")
	clear := sub("clear", "Delete every recorded run", func(ctx context.Context, o *Options) error {
		return ClearRun(ctx, o, yes)
	})
	clear.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	run := sub("run", "Run the server in the foreground", func(ctx context.Context, o *Options) error {
		return serve(ctx, o.Config)
	})
	run.Hidden = true

	cmd.AddCommand(
		sub("start", "Start the server in the background", StartRun),
		sub("stop", "Stop the server", StopRun),
		sub("restart", "Stop the server and start it again", RestartRun),
		sub("status", "Say whether the server runs, where, and for how long", StatusRun),
		logs, clear, run,
	)
	return cmd
}

// StartRun starts the server unless it runs, then prints the web UI's address.
func StartRun(ctx context.Context, o *Options) error {
	st, err := daemon.Status(o.Config)
	if err != nil {
		return err
	}
	if st.Running && st.RunnerUp && st.HTTPUp {
		fmt.Fprintf(o.Out, "aco server already running (pid %d)\n", st.PID)
		printAddress(o, st.HTTPPort)
		return nil
	}
	exe, err := o.Executable()
	if err != nil {
		return fmt.Errorf("cannot find the aco binary to start the server: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	pid, err := daemon.Start(ctx, o.Config, exe, o.Environ())
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "aco server started (pid %d)\n", pid)
	printAddress(o, o.Config.HTTPPort)
	return nil
}

// printAddress prints the web UI's address with the token that opens it.
func printAddress(o *Options, httpPort int) {
	if httpPort == 0 {
		httpPort = o.Config.HTTPPort
	}
	fmt.Fprintln(o.Out, uiAddress(o.Config, httpPort))
}

func uiAddress(cfg config.Config, httpPort int) string {
	addr := fmt.Sprintf("http://127.0.0.1:%d/", httpPort)
	if tok, err := os.ReadFile(cfg.TokenPath()); err == nil && strings.TrimSpace(string(tok)) != "" {
		addr += "?token=" + strings.TrimSpace(string(tok))
	}
	return addr
}

// StopRun stops the server; a server that is not running is not an error.
func StopRun(ctx context.Context, o *Options) error {
	info, err := daemon.Stop(ctx, o.Config)
	if errors.Is(err, daemon.ErrNotRunning) {
		fmt.Fprintln(o.Out, "aco server is not running")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "aco server stopped (pid %d)\n", info.PID)
	return nil
}

// RestartRun stops the server if it runs and starts it.
func RestartRun(ctx context.Context, o *Options) error {
	info, err := daemon.Stop(ctx, o.Config)
	switch {
	case err == nil:
		fmt.Fprintf(o.Out, "aco server stopped (pid %d)\n", info.PID)
	case !errors.Is(err, daemon.ErrNotRunning):
		return err
	}
	return StartRun(ctx, o)
}

// StatusRun prints where the server runs; it exits 3 when none runs and 1
// when one runs but does not answer.
func StatusRun(ctx context.Context, o *Options) error {
	st, err := daemon.Status(o.Config)
	if err != nil {
		return err
	}
	if !st.Running {
		fmt.Fprintf(o.Out, "aco server is not running (home %s)\n", o.Config.Home)
		return &cmdutil.ExitError{Code: exitNotRunning}
	}
	answering := func(up bool) string {
		if up {
			return "answering"
		}
		return "NOT answering"
	}
	fmt.Fprintf(o.Out, "aco server running (pid %d, version %s)\n", st.PID, st.Version)
	fmt.Fprintf(o.Out, "  runner:  127.0.0.1:%d %s\n", st.Port, answering(st.RunnerUp))
	fmt.Fprintf(o.Out, "  web UI:  %s %s\n", uiAddress(o.Config, st.HTTPPort), answering(st.HTTPUp))
	if !st.StartedAt.IsZero() {
		fmt.Fprintf(o.Out, "  uptime:  %s\n", o.Now().Sub(st.StartedAt).Round(time.Second))
	}
	fmt.Fprintf(o.Out, "  store:   %s\n", o.Config.DBPath())
	fmt.Fprintf(o.Out, "  log:     %s\n", o.Config.LogPath())
	if !st.RunnerUp || !st.HTTPUp {
		return &cmdutil.ExitError{Code: 1}
	}
	if c, err := client.New(o.Config); err == nil {
		if info, err := c.Status(ctx); err == nil && info.Watcher != nil {
			writeWatcher(o.Out, info.Watcher)
		}
	}
	return nil
}

// writeWatcher prints what the file watcher keeps fresh and what failed.
func writeWatcher(out io.Writer, w *watcher.Status) {
	if len(w.Roots) == 0 {
		fmt.Fprintf(out, "  watched: nothing yet (project roots are watched once a program runs)\n")
		return
	}
	fmt.Fprintf(out, "  watched: %d directories, %d files refreshed\n", w.WatchedDirs, w.Refreshed)
	for _, r := range w.Roots {
		fmt.Fprintf(out, "    %s  (%s)\n", r.Path, strings.Join(r.Interpreters, ", "))
	}
	for _, k := range w.Workers {
		state := "stopped"
		if k.Alive {
			state = "running"
		}
		fmt.Fprintf(out, "  rewrite worker %s: pid %d %s, %d refreshed, %d queued, %d restarts\n",
			k.Interpreter, k.PID, state, k.Refreshed, k.Queued, k.Restarts)
	}
	if len(w.Errors) > 0 {
		fmt.Fprintf(out, "  last rewrite errors:\n")
		for i, e := range w.Errors {
			if i == 5 {
				fmt.Fprintf(out, "    … and %d more (aco server logs)\n", len(w.Errors)-i)
				break
			}
			fmt.Fprintf(out, "    %s %s: %s\n", e.Time.Local().Format("15:04:05"), e.Path, e.Message)
		}
	}
}

// ClearRun deletes every recorded run: through the running server, which
// owns the store, or by removing the database when no server runs.
func ClearRun(ctx context.Context, o *Options, yes bool) error {
	if !yes {
		fmt.Fprintf(o.ErrOut, "Delete every recorded run in %s? [y/N] ", o.Config.Home)
		line, _ := bufio.NewReader(o.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(o.ErrOut, "nothing deleted")
			return &cmdutil.ExitError{Code: 1}
		}
	}
	st, err := daemon.Status(o.Config)
	if err != nil {
		return err
	}
	if st.Running {
		cfg := o.Config
		if st.HTTPPort != 0 {
			cfg.HTTPPort = st.HTTPPort
		}
		c, err := client.New(cfg)
		if err != nil {
			return err
		}
		if err := c.Clear(ctx); err != nil {
			return err
		}
		fmt.Fprintln(o.Out, "deleted every recorded run")
		return nil
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(o.Config.DBPath() + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot delete the store: %w", err)
		}
	}
	fmt.Fprintf(o.Out, "deleted every recorded run (removed %s)\n", o.Config.DBPath())
	return nil
}

// LogsRun prints the server's log, the last n lines when n > 0, and with
// follow keeps printing what is appended until ctx ends.
func LogsRun(ctx context.Context, o *Options, n int, follow bool) error {
	path := o.Config.LogPath()
	b, err := os.ReadFile(path)
	if err != nil && !(errors.Is(err, os.ErrNotExist) && follow) {
		if errors.Is(err, os.ErrNotExist) {
			return aco.Errorf(aco.ENOTFOUND, "no server log at %s yet: the server has not run with this ACO_HOME", path)
		}
		return err
	}
	if _, err := o.Out.Write(lastLines(b, n)); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	return followFile(ctx, o, path, int64(len(b)))
}

// followFile prints what is appended to path after offset until ctx ends.
// A file that shrank was truncated or replaced: it is read from its start.
func followFile(ctx context.Context, o *Options, path string, offset int64) error {
	t := time.NewTicker(o.FollowEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		f, err := os.Open(path)
		if err != nil {
			continue // not created yet, or being replaced
		}
		if fi, err := f.Stat(); err == nil && fi.Size() < offset {
			offset = 0
		}
		n, err := io.Copy(o.Out, io.NewSectionReader(f, offset, 1<<62))
		offset += n
		f.Close()
		if err != nil {
			return err
		}
	}
}

// lastLines returns the last n lines of b, all of b when n <= 0.
func lastLines(b []byte, n int) []byte {
	if n <= 0 {
		return b
	}
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}
