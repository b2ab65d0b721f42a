// Package cmdutil holds what every subcommand of the aco CLI is built from:
// the I/O streams, the environment and the configuration. Subcommands live in
// their own packages (cli/servercmd, cli/launchcmd, ...), each with a
// NewCmd(f *Factory) *cobra.Command that parses flags into an options struct
// and a plain run function that tests call directly.
package cmdutil

import (
	"io"
	"os"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/client"
	"github.com/aco-dev/aco/core/config"
)

// Factory carries the process's dependencies into subcommands.
type Factory struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	Getenv func(string) string
	// Environ is the process environment as KEY=VALUE pairs.
	Environ func() []string
	// Executable is the path of the running aco binary (to start the daemon).
	Executable func() (string, error)
}

// Config resolves aco's configuration from the factory's environment.
func (f *Factory) Config() (config.Config, error) { return config.FromEnv(f.Getenv) }

// System returns a Factory for the real process.
func System(stdin io.Reader, stdout, stderr io.Writer) *Factory {
	return &Factory{
		In:         stdin,
		Out:        stdout,
		ErrOut:     stderr,
		Getenv:     os.Getenv,
		Environ:    os.Environ,
		Executable: os.Executable,
	}
}

// ExitError makes a command exit with Code without printing anything more
// (the command printed its own message).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "exit" }

// RunService returns the client of the running server's API.
func (f *Factory) RunService() (aco.RunService, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}
