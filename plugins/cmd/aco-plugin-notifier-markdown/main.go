// Command aco-plugin-notifier-markdown is aco's markdown notifier plugin; aco runs it, people
// do not (see `aco plugins list`).
package main

import (
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/notifier/markdown"
)

func main() { plugins.ServeNotifier(markdown.Open) }
