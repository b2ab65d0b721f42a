// Command aco-launch runs a Python program as python would, with its LLM
// calls recorded: aco-launch script.py args… or aco-launch -m module args…
package main

import (
	"context"
	"os"

	"github.com/aco-dev/aco/cli"
)

func main() {
	os.Exit(cli.Launch(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
