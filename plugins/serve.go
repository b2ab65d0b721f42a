package plugins

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-plugin"
)

// ConfigEnv names the environment variable that carries a plugin's own
// section of config.yaml (plugins.notifiers.<name> or plugins.drafters.<name>)
// as a JSON object, "{}" when there is none.
const ConfigEnv = "ACO_PLUGIN_CONFIG"

// ServeNotifier runs a notifier plugin until aco disconnects. open builds the
// notifier from the plugin's configuration (JSON). When open fails the plugin
// still serves, so `aco plugins list` can show it, and every Notify returns
// the configuration error.
func ServeNotifier(open func(config []byte) (Notifier, error)) {
	n, err := open(pluginConfig())
	if err != nil {
		n = brokenNotifier{err}
	}
	serve(KindNotifier, &NotifierPlugin{Impl: n})
}

// ServeDrafter runs a drafter plugin until aco disconnects; see ServeNotifier.
func ServeDrafter(open func(config []byte) (Drafter, error)) {
	d, err := open(pluginConfig())
	if err != nil {
		d = brokenDrafter{err}
	}
	serve(KindDrafter, &DrafterPlugin{Impl: d})
}

func serve(kind Kind, p plugin.Plugin) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{string(kind): p},
	})
}

func pluginConfig() []byte {
	if c := os.Getenv(ConfigEnv); c != "" {
		return []byte(c)
	}
	return []byte("{}")
}

type brokenNotifier struct{ err error }

func (b brokenNotifier) Notify(context.Context, Report) (Delivery, error) {
	return Delivery{}, fmt.Errorf("configuration: %w", b.err)
}

type brokenDrafter struct{ err error }

func (b brokenDrafter) Draft(context.Context, Prompt) (Draft, error) {
	return Draft{}, fmt.Errorf("configuration: %w", b.err)
}
