// Package patchgen drafts, verifies and writes new patch declarations with
// the help of a language model (`aco patchgen API`).
//
// The user's interpreter introspects the method (aco.introspect); a Drafter
// gets the schema's documentation, the introspection and the nearest
// declarations, and answers with one YAML declaration plus an example call.
// The draft is validated by the patches package, rendered into a temporary
// copy of the checkout, and verified by the user's interpreter (aco.verify)
// with real calls through the patched SDK against the mock LLM, which Run
// serves itself. Each failure goes back to the model, for a bounded number
// of rounds. The checkout is written only once a draft passes.
//
// The model's answer is data: YAML parsed by the patches package, an example
// passed as JSON, never executed; Python it proposes for a hook is saved for
// review and used only with AllowHooks.
package patchgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/mockllm"
	"github.com/aco-dev/aco/patches"
)

// Options configure one patchgen run.
type Options struct {
	API        string // the api id to declare, e.g. openai.completions.create
	Root       string // the checkout holding patches/ and pyshim/
	Python     string // the user's interpreter, which has the SDK
	Home       string // $ACO_HOME: transcripts go to Home/patchgen
	Model      string // the drafting model
	SDKVersion string // when set, the installed SDK must be this version
	MaxRounds  int
	Write      bool // write the checkout when a draft passes
	AllowHooks bool // let a draft bring its own hook module
	// Response is a recorded response body (JSON) for an API the mock LLM
	// does not speak; nil verifies against the mock only.
	Response json.RawMessage
	Drafter  Drafter
	Progress io.Writer        // one line per step
	Now      func() time.Time // nil: time.Now
}

// Result is what a run produced.
type Result struct {
	Passed      bool
	Declaration string   // the verified (or best) declaration, as YAML
	File        string   // the declaration file it belongs in, relative to Root
	Written     []string // files written into the checkout, relative to Root
	Transcript  string   // path of the saved transcript
	Rounds      int
}

// attempt is one round: the model's answer and what became of it.
type attempt struct {
	Round    int      `json:"round"`
	Answer   string   `json:"answer"`
	Problems []string `json:"problems,omitempty"`
	Report   *Report  `json:"report,omitempty"`
	Hook     string   `json:"hook_review,omitempty"` // where a proposed hook was saved

	draft *Draft
	file  []byte // the candidate declaration file
	score int
}

type transcript struct {
	API           string          `json:"api"`
	Model         string          `json:"model"`
	Python        string          `json:"python"`
	Started       time.Time       `json:"started"`
	Finished      time.Time       `json:"finished"`
	Passed        bool            `json:"passed"`
	Introspection json.RawMessage `json:"introspection,omitempty"`
	System        string          `json:"system"`
	Prompt        string          `json:"prompt"`
	Rounds        []*attempt      `json:"rounds"`
	Written       []string        `json:"written,omitempty"`
	Error         string          `json:"error,omitempty"`
}

var apiPattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)

// Run drafts, verifies and (with Write) writes a declaration for opts.API.
// Every error is an *aco.Error naming the fix; nothing is written unless a
// draft passed verification.
func Run(ctx context.Context, opts Options) (*Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.MaxRounds < 1 {
		opts.MaxRounds = 1
	}
	if opts.Model == "" {
		opts.Model = DefaultModel
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "patchgen: "+format+"\n", args...)
		}
	}
	if !apiPattern.MatchString(opts.API) {
		return nil, aco.Errorf(aco.EINVALID, "%q is not an api id: give the import name and the method's path on the client, lower case, e.g. openai.completions.create", opts.API)
	}
	files, err := patches.LoadRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, m := range f.Methods {
			if m.API == opts.API {
				return nil, aco.Errorf(aco.ECONFLICT, "%s is already declared in %s; edit it there", opts.API, f.Path)
			}
		}
	}

	tmp, err := os.MkdirTemp("", "aco-patchgen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := makeScratch(opts.Root, tmp); err != nil {
		return nil, err
	}
	py := python{exe: opts.Python, shimDir: filepath.Join(tmp, "pyshim"), home: filepath.Join(tmp, "home")}

	progress("introspecting %s with %s", opts.API, opts.Python)
	in, err := py.introspect(ctx, opts.API)
	if err != nil {
		return nil, err
	}
	progress("%s %s: target %s, async twin %s", in.Distribution, in.Version, in.Target, orNone(in.AsyncTarget))
	if opts.SDKVersion != "" && opts.SDKVersion != in.Version {
		return nil, aco.Errorf(aco.EINVALID, "%s %s is installed in %s, not %s: install it there (pip install %s==%s) or leave out --sdk-version", in.Distribution, in.Version, opts.Python, opts.SDKVersion, in.Distribution, opts.SDKVersion)
	}

	// The declaration file the method belongs in: the SDK's, or a new one.
	var existing *patches.File
	for _, f := range files {
		if f.SDK.Import == in.Import {
			existing = f
		}
	}
	fileRel := filepath.ToSlash(filepath.Join(patches.Dir, strings.ReplaceAll(in.Import, ".", "_")+".yaml"))
	var original []byte
	if existing != nil {
		fileRel = existing.Path
		if original, err = os.ReadFile(filepath.Join(opts.Root, filepath.FromSlash(fileRel))); err != nil {
			return nil, err
		}
	}

	mock, err := startMock()
	if err != nil {
		return nil, err
	}
	defer mock.stop()

	system, user, err := buildPrompt(opts.Root, files, existing, in)
	if err != nil {
		return nil, err
	}
	tr := &transcript{API: opts.API, Model: opts.Model, Python: opts.Python, Started: now(), Introspection: in.raw, System: system, Prompt: user}
	res := &Result{File: fileRel}
	stamp := now().UTC().Format("20060102T150405")
	reviewDir := filepath.Join(opts.Home, "patchgen")
	save := func(runErr error) {
		tr.Finished = now()
		if runErr != nil {
			tr.Error = aco.ErrorMessage(runErr)
			if aco.ErrorCode(runErr) == aco.EINTERNAL {
				tr.Error = runErr.Error()
			}
		}
		path := filepath.Join(reviewDir, stamp+"-"+opts.API+".json")
		data, err := json.MarshalIndent(tr, "", "  ")
		if err == nil {
			err = os.MkdirAll(reviewDir, 0o700)
		}
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			progress("cannot save the transcript: %v", err)
			return
		}
		res.Transcript = path
		progress("transcript saved to %s", path)
	}

	messages := []Message{{Role: "user", Content: user}}
	var best, passed *attempt
	for round := 1; round <= opts.MaxRounds && passed == nil; round++ {
		res.Rounds = round
		progress("round %d/%d: asking %s for a declaration", round, opts.MaxRounds, opts.Model)
		answer, err := opts.Drafter.Draft(ctx, Prompt{Model: opts.Model, System: system, Messages: messages, MaxTokens: 4096})
		if err != nil {
			if aco.ErrorCode(err) == aco.EINTERNAL && ctx.Err() == nil {
				err = aco.Errorf(aco.EUNAVAIL, "the drafting model failed: %v", err)
			}
			save(err)
			return res, err
		}
		messages = append(messages, Message{Role: "assistant", Content: answer})
		a := &attempt{Round: round, Answer: answer, score: -1}
		tr.Rounds = append(tr.Rounds, a)
		if err := evaluate(ctx, &opts, a, in, tmp, py, mock.url, fileRel, original, reviewDir, stamp, progress); err != nil {
			save(err)
			return res, err
		}
		if best == nil || a.score > best.score {
			best = a
		}
		if len(a.Problems) == 0 {
			passed = a
			break
		}
		progress("round %d: %d problem(s): %s", round, len(a.Problems), a.Problems[0])
		messages = append(messages, Message{Role: "user", Content: feedback(a)})
	}

	if passed == nil {
		if best != nil && best.draft != nil {
			res.Declaration = best.draft.MethodYAML
		}
		err := aco.Errorf(aco.EINVALID, "no draft of %s passed verification in %d round(s); nothing written.%s", opts.API, opts.MaxRounds, bestSummary(best))
		save(err)
		return res, err
	}
	res.Passed = true
	res.Declaration = passed.draft.MethodYAML
	tr.Passed = true
	progress("round %d: verified (%d checks passed)", passed.Round, passed.Report.Passed())
	if opts.Write {
		written, err := writeCheckout(opts, passed, fileRel, original, in)
		res.Written = written
		tr.Written = written
		if err != nil {
			save(err)
			return res, err
		}
		progress("wrote %s", strings.Join(written, ", "))
	}
	save(nil)
	return res, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// makeScratch lays out a throw-away checkout in tmp: the declarations and
// the shim, where candidates are rendered and verified.
func makeScratch(root, tmp string) error {
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte("module scratch\n"), 0o644); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(root, patches.Dir), filepath.Join(tmp, patches.Dir)); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(root, "pyshim", "aco"), filepath.Join(tmp, "pyshim", "aco")); err != nil {
		return aco.Errorf(aco.ENOTFOUND, "cannot copy the shim from %s: %v", filepath.Join(root, "pyshim", "aco"), err)
	}
	return os.MkdirAll(filepath.Join(tmp, "home"), 0o700)
}

// evaluate parses, validates, renders and verifies one answer, filling
// a.Problems (empty when it passed). Its error is for what no new draft
// can fix.
func evaluate(ctx context.Context, opts *Options, a *attempt, in *Introspection, tmp string, py python, mockURL, fileRel string, original []byte, reviewDir, stamp string, progress func(string, ...any)) error {
	d, err := parseDraft(a.Answer)
	if err != nil {
		a.Problems = []string{err.Error()}
		return nil
	}
	a.draft = d
	a.score = 0
	if api := field(d.Method, "api"); api != opts.API {
		a.Problems = append(a.Problems, fmt.Sprintf("method.api is %q; it must be %q", api, opts.API))
		return nil
	}
	hookDir := filepath.Join(tmp, filepath.FromSlash(patches.HooksDir))
	// A hook module the draft brings: for review only, unless allowed.
	if hook := field(d.Method, "hook"); hook != "" {
		module, _, _ := strings.Cut(hook, ":")
		hookFile := filepath.Join(hookDir, module+".py")
		_, statErr := os.Stat(filepath.Join(opts.Root, filepath.FromSlash(patches.HooksDir), module+".py"))
		exists := statErr == nil
		if d.HookSource != "" {
			review := filepath.Join(reviewDir, fmt.Sprintf("%s-%s-round%d-hook-%s.py", stamp, opts.API, a.Round, module))
			if err := os.MkdirAll(reviewDir, 0o700); err == nil {
				if err := os.WriteFile(review, []byte(d.HookSource), 0o600); err == nil {
					a.Hook = review
				}
			}
			switch {
			case exists:
				a.Problems = append(a.Problems, fmt.Sprintf("hook module %s already exists in %s; name a new module or use its existing hook without hook_source", module, patches.HooksDir))
				return nil
			case !opts.AllowHooks:
				progress("round %d: the draft proposes hook %s; saved for review at %s, not enabled (pass --allow-hooks)", a.Round, hook, a.Hook)
				dropField(d.Method, "hook")
				d.HookSource = ""
				d.MethodYAML = encodeItem(d.Method)
			default:
				if err := os.WriteFile(hookFile, []byte(d.HookSource), 0o644); err != nil {
					return err
				}
			}
		}
	}
	var file []byte
	if original != nil {
		if file, err = appendMethod(original, d.MethodYAML); err != nil {
			return aco.Errorf(aco.EINVALID, "cannot add a method to %s: %v", fileRel, err)
		}
	} else {
		file = newFile(in, d.MethodYAML)
	}
	a.file = file
	full := filepath.Join(tmp, filepath.FromSlash(fileRel))
	if err := os.WriteFile(full, file, 0o644); err != nil {
		return err
	}
	defer cleanHooks(hookDir, opts.Root)
	if _, err := patches.Write(tmp); err != nil {
		a.Problems = append(a.Problems, "the declaration does not validate:\n"+aco.ErrorMessage(err))
		return nil
	}
	a.score = 1
	progress("round %d: valid; verifying with real calls against the mock LLM", a.Round)
	spec := map[string]any{
		"api":                in.API,
		"import":             in.Import,
		"client":             in.Client,
		"target":             in.Target,
		"base_url":           mockURL,
		"example":            d.Example,
		"stream_param":       in.StreamParam,
		"expect_output_text": expectsText(in),
	}
	if opts.Response != nil {
		spec["response"] = opts.Response
	}
	var rep Report
	if err := py.run(ctx, "aco.verify", spec, &rep); err != nil {
		return err
	}
	a.Report = &rep
	if rep.Fatal {
		return aco.Errorf(aco.EUNAVAIL, "cannot verify %s: %s", opts.API, rep.Error)
	}
	a.score = 2 + rep.Passed()
	for _, c := range rep.Checks {
		if !c.OK {
			a.Problems = append(a.Problems, c.Name+": "+c.Detail)
		}
	}
	if len(rep.Checks) == 0 {
		a.Problems = append(a.Problems, "the verifier made no check")
	}
	return nil
}

// cleanHooks removes hook modules a draft put into the scratch shim, so the
// next round starts from the checkout's own hooks.
func cleanHooks(scratch, root string) {
	entries, _ := os.ReadDir(scratch)
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(patches.HooksDir), e.Name())); errors.Is(err, os.ErrNotExist) {
			os.Remove(filepath.Join(scratch, e.Name()))
		}
	}
}

// expectsText says whether a response should carry text: embeddings carry
// vectors only.
func expectsText(in *Introspection) bool {
	for _, t := range in.ReturnTypes {
		if strings.Contains(strings.ToLower(t.Type), "embed") {
			return false
		}
	}
	return true
}

func feedback(a *attempt) string {
	var b strings.Builder
	b.WriteString("Your draft did not pass. Problems, exactly as found:\n")
	for _, p := range a.Problems {
		fmt.Fprintf(&b, "- %s\n", p)
	}
	if a.Report != nil {
		if len(a.Report.Extracted) > 0 {
			ex, _ := json.Marshal(a.Report.Extracted)
			fmt.Fprintf(&b, "\nWhat the declaration extracted from the recorded call: %s\n", ex)
		}
		if len(a.Report.Logs) > 0 {
			b.WriteString("\nThe shim's log during verification:\n")
			for _, l := range a.Report.Logs {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	b.WriteString("\nAnswer again with the whole corrected YAML document (method, example).")
	return b.String()
}

func bestSummary(best *attempt) string {
	if best == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, " The best draft (round %d) failed:", best.Round)
	for _, p := range best.Problems {
		fmt.Fprintf(&b, "\n  - %s", p)
	}
	if best.draft != nil {
		fmt.Fprintf(&b, "\nIt was:\n%s", best.draft.MethodYAML)
	}
	return b.String()
}

// writeCheckout writes the verified declaration (and a hook module the run
// allowed) into the checkout and renders it. The file is composed again
// from what is on disk now, and restored if the checkout then fails to load.
func writeCheckout(opts Options, a *attempt, fileRel string, original []byte, in *Introspection) ([]string, error) {
	full := filepath.Join(opts.Root, filepath.FromSlash(fileRel))
	current, err := os.ReadFile(full)
	var file []byte
	switch {
	case err == nil:
		if file, err = appendMethod(current, a.draft.MethodYAML); err != nil {
			return nil, err
		}
	case errors.Is(err, os.ErrNotExist) && original == nil:
		file = newFile(in, a.draft.MethodYAML)
	default:
		return nil, fmt.Errorf("%s changed while patchgen ran: %v", fileRel, err)
	}
	var written []string
	restore := func() {
		if current != nil {
			os.WriteFile(full, current, 0o644)
		} else {
			os.Remove(full)
		}
	}
	if hook := field(a.draft.Method, "hook"); hook != "" && a.draft.HookSource != "" && opts.AllowHooks {
		module, _, _ := strings.Cut(hook, ":")
		rel := patches.HooksDir + "/" + module + ".py"
		hf := filepath.Join(opts.Root, filepath.FromSlash(rel))
		f, err := os.OpenFile(hf, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, aco.Errorf(aco.ECONFLICT, "cannot write the hook %s: %v", rel, err)
		}
		_, err = f.WriteString(a.draft.HookSource)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		written = append(written, rel)
		prev := restore
		restore = func() { prev(); os.Remove(hf) }
	}
	if err := os.WriteFile(full, file, 0o644); err != nil {
		return written, err
	}
	written = append(written, fileRel)
	changed, err := patches.Write(opts.Root)
	if err != nil {
		restore()
		return nil, err
	}
	return append(written, changed...), nil
}

// mockServer is the mock LLM, served in this process for the verifier.
type mockServer struct {
	url    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startMock() (*mockServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, aco.Errorf(aco.EUNAVAIL, "cannot start the mock LLM: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &mockServer{url: "http://" + ln.Addr().String(), cancel: cancel}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		mockllm.New(mockllm.Options{}).Serve(ctx, ln)
	}()
	return m, nil
}

func (m *mockServer) stop() {
	m.cancel()
	m.wg.Wait()
}
