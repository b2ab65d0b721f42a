// Command aco-plugin-notifier-email is aco's email notifier plugin; aco runs it, people
// do not (see `aco plugins list`).
package main

import (
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/notifier/email"
)

func main() { plugins.ServeNotifier(email.Open) }
