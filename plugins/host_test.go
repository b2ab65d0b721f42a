package plugins_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

func newHost(t *testing.T, opts plugins.HostOptions) *plugins.Host {
	t.Helper()
	h := plugins.NewHost(opts)
	t.Cleanup(func() { h.Close() })
	return h
}

// Everything crosses the wire: every field of a report and of a prompt, the
// plugin's own config section, and the plugin's own errors by message.
func TestRoundTrip(t *testing.T) {
	dir := fakeDir(t, "aco-plugin-notifier-echo", "aco-plugin-drafter-echo")
	h := newHost(t, plugins.HostOptions{
		Dirs: []string{dir},
		Config: plugins.Config{
			Notifiers: map[string]map[string]any{"echo": {"url": "https://example.org/hook", "retries": 3}},
		},
	})
	ctx := context.Background()

	n, err := h.Notifier("echo")
	if err != nil {
		t.Fatal(err)
	}
	want := pluginstest.SampleReport()
	d, err := n.Notify(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	var got plugins.Report
	if err := json.Unmarshal([]byte(d.URL), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the plugin received\n%+v\nwant\n%+v", got, want)
	}
	if d.Target != `{"retries":3,"url":"https://example.org/hook"}` {
		t.Errorf("the plugin's config = %s", d.Target)
	}

	_, err = n.Notify(ctx, plugins.Report{Title: "fail"})
	if err == nil || err.Error() != `notifier "echo": the outbox is full` {
		t.Errorf("plugin error = %v", err)
	}
	// A plugin's own error leaves it running.
	if _, err := n.Notify(ctx, want); err != nil {
		t.Errorf("after a plugin error: %v", err)
	}

	dr, err := h.Drafter("echo")
	if err != nil {
		t.Fatal(err)
	}
	prompt := plugins.Prompt{Model: "m", System: "sys", Messages: []plugins.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}}, MaxTokens: 9}
	draft, err := dr.Draft(ctx, prompt)
	if err != nil {
		t.Fatal(err)
	}
	var gotPrompt plugins.Prompt
	if err := json.Unmarshal([]byte(draft.Text), &gotPrompt); err != nil || !reflect.DeepEqual(gotPrompt, prompt) {
		t.Errorf("the plugin received %s (%v), want %+v", draft.Text, err, prompt)
	}
	if draft.Model != "{}" {
		t.Errorf("a plugin without a config section got %q, want {}", draft.Model)
	}
}

// The caller's deadline reaches the plugin, which can stop on its own.
func TestDeadlineReachesPlugin(t *testing.T) {
	h := newHost(t, plugins.HostOptions{Dirs: []string{fakeDir(t, "aco-plugin-notifier-echo")}, CallTimeout: 500 * time.Millisecond})
	n, err := h.Notifier("echo")
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Notify(context.Background(), plugins.Report{Title: "wait"})
	if err == nil || !strings.Contains(err.Error(), "echo") {
		t.Fatalf("err = %v, want one naming the plugin", err)
	}
}

func TestBuiltinsWin(t *testing.T) {
	builtin := builtinNotifier{}
	h := newHost(t, plugins.HostOptions{
		Dirs:      []string{fakeDir(t, "aco-plugin-notifier-echo")},
		Notifiers: map[string]plugins.Notifier{"echo": builtin, "github": builtin},
	})
	n, err := h.Notifier("echo")
	if err != nil {
		t.Fatal(err)
	}
	if n != plugins.Notifier(builtin) {
		t.Errorf("got %T, want the built-in", n)
	}
	_, err = h.Notifier("slack")
	if err == nil || aco.ErrorCode(err) != aco.ENOTFOUND ||
		!strings.Contains(err.Error(), "aco-plugin-notifier-slack") || !strings.Contains(err.Error(), "echo (built in), github (built in)") {
		t.Errorf("unknown notifier: %v", err)
	}
}

type builtinNotifier struct{}

func (builtinNotifier) Notify(context.Context, plugins.Report) (plugins.Delivery, error) {
	return plugins.Delivery{Target: "built in"}, nil
}

// Plugins that cannot be used fail with an error naming the plugin and why,
// and leave no process behind.
func TestBrokenPlugins(t *testing.T) {
	dir := fakeDir(t, "aco-plugin-notifier-crash", "aco-plugin-notifier-hang", "aco-plugin-notifier-future",
		"aco-plugin-notifier-alien", "aco-plugin-drafter-wrongkind")
	if err := os.WriteFile(filepath.Join(dir, "aco-plugin-notifier-noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, plugins.HostOptions{Dirs: []string{dir}, StartTimeout: 2 * time.Second})
	for _, tc := range []struct {
		kind    plugins.Kind
		name    string
		want    string
		version int
	}{
		{plugins.KindNotifier, "crash", "crashed on start: cannot open the outbox: permission denied", 0},
		{plugins.KindNotifier, "hang", "did not complete the handshake within 2s", 0},
		{plugins.KindNotifier, "future", "speaks plugin protocol version 2, this aco speaks 1", 2},
		{plugins.KindNotifier, "alien", "handshake mismatch: it expects another program's magic cookie", 0},
		{plugins.KindNotifier, "noexec", "not executable", 0},
		{plugins.KindDrafter, "wrongkind", "started but does not serve a drafter", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.kind == plugins.KindNotifier {
				_, err = h.Notifier(tc.name)
			} else {
				_, err = h.Drafter(tc.name)
			}
			var pe *plugins.PluginError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want a *PluginError", err, err)
			}
			wantPrefix := string(tc.kind) + ` plugin "` + tc.name + `" (` + filepath.Join(dir, "aco-plugin-"+string(tc.kind)+"-"+tc.name) + "): "
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q\nwant %q…%q", err, wantPrefix, tc.want)
			}
			if pe.Version != tc.version {
				t.Errorf("version = %d, want %d", pe.Version, tc.version)
			}
			if aco.ErrorCode(err) != aco.EUNAVAIL || aco.ErrorMessage(err) != err.Error() {
				t.Errorf("the CLI would print %q (%s)", aco.ErrorMessage(err), aco.ErrorCode(err))
			}
			if pids := children(t); len(pids) != 0 {
				t.Errorf("plugin processes left running: %v", pids)
			}
		})
	}
}

// A plugin that hangs or crashes in a call is killed, named in the error,
// and started afresh the next time.
func TestCallFailures(t *testing.T) {
	h := newHost(t, plugins.HostOptions{Dirs: []string{fakeDir(t, "aco-plugin-notifier-echo")}, CallTimeout: 300 * time.Millisecond})
	for _, tc := range []struct{ title, want string }{
		{"hang", `notifier plugin "echo" (`},
		{"crash", "crashed during the call: panic: notify exploded"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			n, err := h.Notifier("echo")
			if err != nil {
				t.Fatal(err)
			}
			before := children(t)
			if len(before) != 1 {
				t.Fatalf("plugin processes = %v, want one", before)
			}
			_, err = n.Notify(context.Background(), plugins.Report{Title: tc.title})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if tc.title == "hang" && !strings.Contains(err.Error(), "did not answer within") {
				t.Errorf("err = %v, want it to say the plugin hangs", err)
			}
			if pids := children(t); len(pids) != 0 {
				t.Errorf("after the failed call plugin processes %v are left (before: %v)", pids, before)
			}
			n, err = h.Notifier("echo")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.Notify(context.Background(), plugins.Report{Title: "ok"}); err != nil {
				t.Errorf("the restarted plugin: %v", err)
			}
		})
	}
}

// One bad notifier does not keep the report from the others.
func TestNotifyAllContinues(t *testing.T) {
	dir := fakeDir(t, "aco-plugin-notifier-echo", "aco-plugin-notifier-crash", "aco-plugin-notifier-misconfigured")
	h := newHost(t, plugins.HostOptions{Dirs: []string{dir}, Notifiers: map[string]plugins.Notifier{"github": builtinNotifier{}}})
	out := h.NotifyAll(context.Background(), []string{"crash", "echo", "nosuch", "misconfigured", "github"}, plugins.Report{Title: "x"})
	if len(out) != 5 {
		t.Fatalf("outcomes = %+v", out)
	}
	for i, want := range []string{"crashed on start", "", "no notifier called \"nosuch\"", "configuration: plugins.notifiers.misconfigured.url is not set", ""} {
		o := out[i]
		switch {
		case want == "" && o.Err != nil:
			t.Errorf("%s: %v", o.Name, o.Err)
		case want == "" && o.Delivery.Target == "":
			t.Errorf("%s delivered nowhere: %+v", o.Name, o)
		case want != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), want)):
			t.Errorf("%s: err = %v, want %q", o.Name, o.Err, want)
		}
	}
}

// Close stops every plugin the host started, and the processes are gone
// when it returns.
func TestCloseLeavesNoProcesses(t *testing.T) {
	h := plugins.NewHost(plugins.HostOptions{Dirs: []string{fakeDir(t, "aco-plugin-notifier-echo", "aco-plugin-drafter-echo")}})
	if _, err := h.Notifier("echo"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Drafter("echo"); err != nil {
		t.Fatal(err)
	}
	pids := children(t)
	if len(pids) != 2 {
		t.Fatalf("plugin processes = %v, want two", pids)
	}
	h.Close()
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("plugin process %d still exists after Close", pid)
		}
	}
	if _, err := h.Notifier("echo"); err == nil {
		t.Error("a closed host started a plugin")
	}
}

func TestCheck(t *testing.T) {
	dir := fakeDir(t, "aco-plugin-notifier-echo", "aco-plugin-notifier-future")
	h := newHost(t, plugins.HostOptions{Dirs: []string{dir}})
	cands, err := plugins.Discover([]string{dir})
	if err != nil || len(cands) != 2 {
		t.Fatalf("Discover = %+v, %v", cands, err)
	}
	if v, err := h.Check(cands[0]); v != plugins.ProtocolVersion || err != nil {
		t.Errorf("Check(echo) = %d, %v", v, err)
	}
	if v, err := h.Check(cands[1]); v != 0 || err == nil {
		t.Errorf("Check(future) = %d, %v", v, err)
	}
	if pids := children(t); len(pids) != 0 {
		t.Errorf("Check left plugin processes %v", pids)
	}
}

// children lists the live child processes of the test (the plugins).
func children(t *testing.T) []int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counting child processes reads /proc")
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			pids = append(pids, pid)
		}
	}
	return pids
}
