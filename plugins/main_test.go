package plugins_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/aco-dev/aco/plugins"
)

// The test binary doubles as every misbehaving plugin: a test links it into
// a plugin directory under one of these names, and the host runs it.
var fakes = map[string]func(){
	"aco-plugin-notifier-echo": func() {
		plugins.ServeNotifier(func(config []byte) (plugins.Notifier, error) { return echo{config: config}, nil })
	},
	"aco-plugin-drafter-echo": func() {
		plugins.ServeDrafter(func(config []byte) (plugins.Drafter, error) { return echo{config: config}, nil })
	},
	"aco-plugin-notifier-misconfigured": func() {
		plugins.ServeNotifier(func([]byte) (plugins.Notifier, error) {
			return nil, errors.New("plugins.notifiers.misconfigured.url is not set")
		})
	},
	"aco-plugin-notifier-crash": func() {
		fmt.Fprintln(os.Stderr, "cannot open the outbox: permission denied")
		os.Exit(3)
	},
	"aco-plugin-notifier-hang": func() { select {} },
	"aco-plugin-notifier-future": func() {
		hs := plugins.Handshake
		hs.ProtocolVersion = plugins.ProtocolVersion + 1
		plugin.Serve(&plugin.ServeConfig{HandshakeConfig: hs, Plugins: plugin.PluginSet{"notifier": &plugins.NotifierPlugin{Impl: echo{}}}})
	},
	"aco-plugin-notifier-alien": func() {
		hs := plugins.Handshake
		hs.MagicCookieKey, hs.MagicCookieValue = "OTHER_APP_PLUGIN", "x"
		plugin.Serve(&plugin.ServeConfig{HandshakeConfig: hs, Plugins: plugin.PluginSet{"notifier": &plugins.NotifierPlugin{Impl: echo{}}}})
	},
	"aco-plugin-drafter-wrongkind": func() {
		plugins.ServeNotifier(func([]byte) (plugins.Notifier, error) { return echo{}, nil })
	},
}

func TestMain(m *testing.M) {
	if fake, ok := fakes[filepath.Base(os.Args[0])]; ok {
		fake()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// echo answers with what it was given; reports titled "fail", "hang" or
// "crash" make it do that instead.
type echo struct{ config []byte }

func (e echo) Notify(ctx context.Context, r plugins.Report) (plugins.Delivery, error) {
	switch r.Title {
	case "fail":
		return plugins.Delivery{}, errors.New("the outbox is full")
	case "hang":
		select {}
	case "crash":
		panic("notify exploded")
	case "wait":
		<-ctx.Done()
		return plugins.Delivery{}, fmt.Errorf("gave up: %w", ctx.Err())
	}
	body, _ := json.Marshal(r)
	return plugins.Delivery{Target: string(e.config), URL: string(body)}, nil
}

func (e echo) Draft(ctx context.Context, p plugins.Prompt) (plugins.Draft, error) {
	body, _ := json.Marshal(p)
	return plugins.Draft{Text: string(body), Model: string(e.config)}, nil
}

// fakeDir makes a plugin directory with the test binary linked in under
// each name.
func fakeDir(t *testing.T, names ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(self, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
