package apiwatch_test

import (
	"testing"

	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/patches"
)

const diffDecl = `schema: 1
sdk: {distribution: acme-llm, import: acme_llm, versions: ">=1", verified: "1.0.0",
      changelog: "https://example.com/c", releases: "https://example.com/r"}
methods:
  - api: acme.create
    kind: llm
    target: acme_llm.C.create
    response_type: acme_llm.R
    model: request.model
    input_text: request.messages
    set_input: request.messages
    output_text: response.choices[*].text
`

func str(s string) *string { return &s }

func params(ps ...apiwatch.Param) []apiwatch.Param { return ps }

func kw(name, def string) apiwatch.Param {
	p := apiwatch.Param{Name: name, Kind: "keyword_only"}
	if def != "" {
		p.HasDefault, p.Default = true, str(def)
	}
	return p
}

func pos(name string) apiwatch.Param {
	return apiwatch.Param{Name: name, Kind: "positional_or_keyword"}
}

func surface(t apiwatch.TargetSurface, typ apiwatch.TypeSurface) *apiwatch.Surface {
	return &apiwatch.Surface{
		Targets: map[string]apiwatch.TargetSurface{"acme_llm.C.create": t},
		Types:   map[string]apiwatch.TypeSurface{"acme_llm.R": typ},
	}
}

func TestDiff(t *testing.T) {
	file, err := patches.Parse("patches/acme.yaml", []byte(diffDecl))
	if err != nil {
		t.Fatal(err)
	}
	okType := apiwatch.TypeSurface{Found: true, Paths: []apiwatch.FieldPath{{Path: []string{"choices", "text"}, Status: "ok", At: 2}}}
	base := apiwatch.TargetSurface{Found: true, Kind: "method", Returns: "R",
		Params: params(pos("self"), kw("model", ""), kw("messages", ""), kw("temperature", "NOT_GIVEN"), kw("top_p", "NOT_GIVEN"))}
	with := func(f func(*apiwatch.TargetSurface)) apiwatch.TargetSurface {
		c := base
		c.Params = append([]apiwatch.Param(nil), base.Params...)
		f(&c)
		return c
	}
	const tgt, typ = "acme_llm.C.create", "acme_llm.R"
	reorderOld := apiwatch.TargetSurface{Found: true, Kind: "method", Returns: "R", Params: params(pos("self"), pos("a"), pos("b"))}
	for _, tc := range []struct {
		name     string
		old, new *apiwatch.Surface // old defaults to base
		want     []want
	}{
		{"unchanged", nil, surface(base, okType), nil},
		{"moved", nil, surface(apiwatch.TargetSurface{MovedTo: []string{"acme_llm.chat.C.create"}}, okType), []want{
			{apiwatch.Breaking, "target-moved", "acme.create", tgt, "the target is gone; the same class and method are now at `acme_llm.chat.C.create`"}}},
		{"kind and required", nil, surface(with(func(s *apiwatch.TargetSurface) {
			s.Params[1].Kind = "positional_or_keyword"
			s.Params = append(s.Params, kw("user", ""))
		}), okType), []want{
			{apiwatch.Breaking, "param-required-added", "acme.create", tgt, "new required parameter `user`"},
			{apiwatch.Breaking, "param-kind-changed", "acme.create", tgt, "parameter `model` changed from keyword-only to positional-or-keyword (read by `request.model`)"},
		}},
		{"positional order", surface(reorderOld, okType),
			surface(apiwatch.TargetSurface{Found: true, Kind: "method", Returns: "R", Params: params(pos("self"), pos("b"), pos("a"))}, okType), []want{
				{apiwatch.Breaking, "param-order-changed", "acme.create", tgt, "positional parameters reordered from (self, a, b) to (self, b, a)"}}},
		{"defaults swapped together", nil, surface(with(func(s *apiwatch.TargetSurface) {
			s.Params[3].Default, s.Params[4].Default = str("omit"), str("omit")
		}), okType), []want{
			{apiwatch.Breaking, "param-default-changed", "acme.create", tgt, "defaults of 2 parameters (`temperature`, `top_p`) changed from `NOT_GIVEN` to `omit`"}}},
		{"default removed, annotation of a read parameter", nil, surface(with(func(s *apiwatch.TargetSurface) {
			s.Params[3].HasDefault, s.Params[3].Default = false, nil
			s.Params[2].Annotation = "Iterable[Message]"
			s.IsAsync = true
		}), okType), []want{
			{apiwatch.Breaking, "target-async-changed", "acme.create", tgt, "the target changed from sync to async"},
			{apiwatch.Breaking, "param-now-required", "acme.create", tgt, "parameter `temperature` is required now (its default `NOT_GIVEN` was removed)"},
			{apiwatch.Review, "param-type-changed", "acme.create", tgt, "type of `messages` changed from `` to `Iterable[Message]` (read by `request.messages`)"},
		}},
		{"response field gone", nil, surface(base, apiwatch.TypeSurface{Found: true, Paths: []apiwatch.FieldPath{{Path: []string{"choices", "text"}, Status: "missing", At: 1}}}), []want{
			{apiwatch.Breaking, "response-field-removed", "acme.create", typ, "response field `choices.text` is gone (read by `response.choices[*].text`)"}}},
		{"response type gone", nil, surface(base, apiwatch.TypeSurface{}), []want{
			{apiwatch.Breaking, "response-type-removed", "acme.create", typ, "the response type recorded calls are rebuilt with is gone"}}},
		{"not a def any more", nil, surface(apiwatch.TargetSurface{Found: true, Kind: "attribute"}, okType), []want{
			{apiwatch.Review, "target-not-def", "acme.create", tgt, "the target is no longer a def but a attribute; aco cannot read its signature"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old
			if old == nil {
				old = surface(base, okType)
			}
			checkFindings(t, apiwatch.Diff(file, old, tc.new), tc.want)
		})
	}
}
