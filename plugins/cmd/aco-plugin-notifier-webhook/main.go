// Command aco-plugin-notifier-webhook is aco's webhook notifier plugin; aco runs it, people
// do not (see `aco plugins list`).
package main

import (
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/notifier/webhook"
)

func main() { plugins.ServeNotifier(webhook.Open) }
