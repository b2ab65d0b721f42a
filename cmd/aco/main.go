// Command aco records, inspects and reruns the LLM calls of Python agents.
package main

import (
	"context"
	"os"

	"github.com/aco-dev/aco/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
