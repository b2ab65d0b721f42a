// Package plugins is the contract between aco and its out-of-process
// extensions (hashicorp/go-plugin over net/rpc): the handshake, the plugin
// kinds, the interfaces a plugin implements, the plain structs that cross the
// wire and the RPC adapters. A plugin's main is a few lines around
// ServeNotifier or ServeDrafter; aco finds plugins with Discover and runs them
// with a Host.
//
// The wire structs belong to this package on purpose: apiwatch and patchgen
// convert their own types to them at the boundary, so a plugin built against
// one version of aco keeps working when those packages change their insides.
package plugins

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the version of this contract. Bump it whenever a wire
// struct or a method changes incompatibly: aco then refuses older plugins
// with a message naming both versions instead of decoding garbage.
const ProtocolVersion = 1

// Handshake is what aco and a plugin must agree on before they talk. The
// cookie is not a secret; it only stops a plugin binary run by hand (or by
// another go-plugin host) from serving anything.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ACO_PLUGIN_COOKIE",
	MagicCookieValue: "7b0c5e1f-aco-plugins-d3a9",
}

// Kind is what a plugin does; it is part of the executable's name
// (aco-plugin-<kind>-<name>) and the key it is served under.
type Kind string

const (
	KindNotifier Kind = "notifier"
	KindDrafter  Kind = "drafter"
)

// Kinds lists every kind aco knows, in the order `aco plugins list` shows them.
var Kinds = []Kind{KindNotifier, KindDrafter}

// PluginMap is the set of kinds a host can dispense. A plugin serves only its
// own kind (see ServeNotifier, ServeDrafter).
var PluginMap = map[string]plugin.Plugin{
	string(KindNotifier): &NotifierPlugin{},
	string(KindDrafter):  &DrafterPlugin{},
}

// Notifier receives an apiwatch report and says where it went.
type Notifier interface {
	Notify(ctx context.Context, r Report) (Delivery, error)
}

// Drafter turns a patchgen prompt bundle into a draft (the model's answer).
type Drafter interface {
	Draft(ctx context.Context, p Prompt) (Draft, error)
}

// Report is one apiwatch finding set: the changes one SDK release makes to
// the surfaces aco's patches rely on.
type Report struct {
	Title       string          // e.g. "openai 3.52.0: 2 breaking changes for our patches"
	Markdown    string          // the human body: findings table, affected declarations
	JSON        json.RawMessage // apiwatch's machine report, passed through untouched
	SDK         string          // distribution name, e.g. "openai"
	FromVersion string          // the version the declarations were verified with
	ToVersion   string          // the release the findings are about
	Breaking    int             // findings that break a patch
	Review      int             // findings a maintainer should look at
	Info        int             // merely new surface
	Links       []Link          // release notes, compare view, changelog entry
}

// Link is a labelled URL of a report.
type Link struct {
	Label string
	URL   string
}

// Delivery says where a report went, for the user to follow.
type Delivery struct {
	Target string // human description: "issue #12 in aco-dev/aco", "mail to a@b.org"
	URL    string // where to look, when there is such a place ("" otherwise)
}

// Prompt is what patchgen asks a model: plain data, no SDK types.
type Prompt struct {
	Model     string // "" lets the drafter choose its default
	System    string
	Messages  []Message
	MaxTokens int // 0 lets the drafter choose
}

// Message is one turn of a conversation.
type Message struct {
	Role    string // "user" or "assistant"
	Content string
}

// Draft is a model's answer to a Prompt.
type Draft struct {
	Text  string
	Model string // the model that actually answered
}
