// Command aco-launch runs a Python program as python would, with its LLM
// calls recorded: aco-launch script.py args… or aco-launch -m module args…
package main

import (
	"context"
	"os"

	"github.com/aco-dev/aco/cli/launchcmd"
)

// It links only what launching needs (not the server, the store or the
// web UI): aco-launch starts on every run of the user's program, and it
// starts the server, when none runs, with the aco binary.
func main() {
	os.Exit(launchcmd.Run(context.Background(), launchcmd.System(os.Stdout, os.Stderr), os.Args[1:]))
}
