// Command aco-plugin-drafter-anthropic is aco's anthropic drafter plugin; aco runs it, people
// do not (see `aco plugins list`).
package main

import (
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/drafter/anthropic"
)

func main() { plugins.ServeDrafter(anthropic.Open) }
