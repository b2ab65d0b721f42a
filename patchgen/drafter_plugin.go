package patchgen

import (
	"context"

	"github.com/aco-dev/aco/plugins"
)

// AsPluginDrafter makes a patchgen drafter (the go-openai one) a
// plugins.Drafter, the built-in "openai" of a plugins.Host.
func AsPluginDrafter(d Drafter) plugins.Drafter { return pluginDrafter{d} }

type pluginDrafter struct{ d Drafter }

func (p pluginDrafter) Draft(ctx context.Context, pr plugins.Prompt) (plugins.Draft, error) {
	in := Prompt{Model: pr.Model, System: pr.System, MaxTokens: pr.MaxTokens}
	if in.Model == "" {
		in.Model = DefaultModel
	}
	for _, m := range pr.Messages {
		in.Messages = append(in.Messages, Message{Role: m.Role, Content: m.Content})
	}
	text, err := p.d.Draft(ctx, in)
	if err != nil {
		return plugins.Draft{}, err
	}
	return plugins.Draft{Text: text, Model: in.Model}, nil
}

// FromPluginDrafter lets patchgen draft with any plugins.Drafter, e.g. a
// plugin chosen with --drafter.
func FromPluginDrafter(d plugins.Drafter) Drafter { return fromPlugin{d} }

type fromPlugin struct{ d plugins.Drafter }

func (f fromPlugin) Draft(ctx context.Context, p Prompt) (string, error) {
	pr := plugins.Prompt{Model: p.Model, System: p.System, MaxTokens: p.MaxTokens}
	for _, m := range p.Messages {
		pr.Messages = append(pr.Messages, plugins.Message{Role: m.Role, Content: m.Content})
	}
	out, err := f.d.Draft(ctx, pr)
	return out.Text, err
}
