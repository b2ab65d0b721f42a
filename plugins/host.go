package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/aco-dev/aco"
)

// Defaults of HostOptions.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultCallTimeout  = 2 * time.Minute
)

// HostOptions configures a Host.
type HostOptions struct {
	Dirs   []string // the search path (SearchPath)
	Config Config
	// Built-ins by name, e.g. apiwatch's "github" notifier or patchgen's
	// "openai" drafter. A built-in wins over a plugin of the same name.
	Notifiers map[string]Notifier
	Drafters  map[string]Drafter
	// StartTimeout bounds the handshake, CallTimeout each Notify or Draft.
	StartTimeout time.Duration
	CallTimeout  time.Duration
	Environ      func() []string // the plugins' environment; os.Environ when nil
}

// Host starts plugins on first use, hands out their Notifier or Drafter, and
// stops them: a plugin that crashes or times out is killed at once, the rest
// on Close. Every method is safe for concurrent use.
type Host struct {
	opts HostOptions

	mu      sync.Mutex
	running map[string]*process // by kind/name
	closed  bool
}

type process struct {
	cand   Candidate
	client *plugin.Client
	stderr *tail
	impl   any
}

// NewHost returns a host; it starts nothing until a plugin is asked for.
func NewHost(opts HostOptions) *Host {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	return &Host{opts: opts, running: map[string]*process{}}
}

// Notifier returns the built-in or plugin notifier called name.
func (h *Host) Notifier(name string) (Notifier, error) {
	if n, ok := h.opts.Notifiers[name]; ok {
		return n, nil
	}
	p, err := h.get(KindNotifier, name)
	if err != nil {
		return nil, err
	}
	return &pluginNotifier{h: h, p: p}, nil
}

// Drafter returns the built-in or plugin drafter called name.
func (h *Host) Drafter(name string) (Drafter, error) {
	if d, ok := h.opts.Drafters[name]; ok {
		return d, nil
	}
	p, err := h.get(KindDrafter, name)
	if err != nil {
		return nil, err
	}
	return &pluginDrafter{h: h, p: p}, nil
}

// Outcome is what one notifier did with a report.
type Outcome struct {
	Name     string
	Delivery Delivery
	Err      error
}

// NotifyAll sends r to every named notifier, one after the other; a notifier
// that fails (to start, crashes, hangs) does not keep the report from the
// others.
func (h *Host) NotifyAll(ctx context.Context, names []string, r Report) []Outcome {
	out := make([]Outcome, 0, len(names))
	for _, name := range names {
		o := Outcome{Name: name}
		n, err := h.Notifier(name)
		if err == nil {
			o.Delivery, err = n.Notify(ctx, r)
		}
		o.Err = err
		out = append(out, o)
	}
	return out
}

// Check starts the plugin c, confirms it serves its kind and returns the
// protocol version it speaks; then stops it. The version is also set (when
// the plugin said it) on a *PluginError for an incompatible plugin.
func (h *Host) Check(c Candidate) (int, error) {
	if c.Problem != "" {
		return 0, &PluginError{Kind: c.Kind, Name: c.Name, Path: c.Path, Reason: c.Problem}
	}
	p, err := h.start(c)
	if err != nil {
		return 0, err
	}
	v := p.client.NegotiatedVersion()
	p.client.Kill()
	return v, nil
}

// Close stops every plugin this host started and waits for the processes to
// exit. Plugins asked for afterwards are refused.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	procs := h.running
	h.running = map[string]*process{}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.client.Kill()
		}()
	}
	wg.Wait()
	return nil
}

func (h *Host) get(kind Kind, name string) (*process, error) {
	key := string(kind) + "/" + name
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, aco.Errorf(aco.EINTERNAL, "%s %q asked for after the plugin host was closed", kind, name)
	}
	if p, ok := h.running[key]; ok {
		h.mu.Unlock()
		return p, nil
	}
	h.mu.Unlock()

	c, err := h.find(kind, name)
	if err != nil {
		return nil, err
	}
	p, err := h.start(c)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if other, ok := h.running[key]; ok || h.closed {
		// Another goroutine started it too, or Close ran meanwhile.
		go p.client.Kill()
		if h.closed {
			return nil, aco.Errorf(aco.EINTERNAL, "%s %q asked for after the plugin host was closed", kind, name)
		}
		return other, nil
	}
	h.running[key] = p
	return p, nil
}

func (h *Host) find(kind Kind, name string) (Candidate, error) {
	cands, err := Discover(h.opts.Dirs)
	if err != nil {
		return Candidate{}, err
	}
	var problem *Candidate
	for i, c := range cands {
		if c.Kind != kind || c.Name != name {
			continue
		}
		if c.Problem == "" {
			return c, nil
		}
		if problem == nil {
			problem = &cands[i]
		}
	}
	if problem != nil {
		return Candidate{}, &PluginError{Kind: kind, Name: name, Path: problem.Path, Reason: problem.Problem}
	}
	var have []string
	for n := range h.builtins(kind) {
		have = append(have, n+" (built in)")
	}
	for _, c := range cands {
		if c.Kind == kind && c.Problem == "" {
			have = append(have, c.Name)
		}
	}
	sort.Strings(have)
	avail := "none"
	if len(have) > 0 {
		avail = strings.Join(have, ", ")
	}
	return Candidate{}, aco.Errorf(aco.ENOTFOUND, "no %s called %q: looked for %s%s-%s in %s; available: %s (see `aco plugins list`)",
		kind, name, Prefix, kind, name, strings.Join(h.opts.Dirs, ", "), avail)
}

func (h *Host) builtins(kind Kind) map[string]struct{} {
	names := map[string]struct{}{}
	if kind == KindNotifier {
		for n := range h.opts.Notifiers {
			names[n] = struct{}{}
		}
	} else {
		for n := range h.opts.Drafters {
			names[n] = struct{}{}
		}
	}
	return names
}

// start runs the plugin and completes the handshake.
func (h *Host) start(c Candidate) (*process, error) {
	fail := func(reason string, version int) error {
		return &PluginError{Kind: c.Kind, Name: c.Name, Path: c.Path, Reason: reason, Version: version}
	}
	config, err := h.opts.Config.section(c.Kind, c.Name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Path)
	cmd.Env = append(h.opts.Environ(), ConfigEnv+"="+string(config))
	st := &tail{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginMap,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolNetRPC},
		StartTimeout:     h.opts.StartTimeout,
		Stderr:           st,
		// What the plugin writes to os.Stderr while serving goes through
		// go-plugin's stdio sync, not its raw stderr.
		SyncStderr: st,
		// Managed, so that plugin.CleanupClients in a main also reaches
		// plugins of a host that was never closed.
		Managed: true,
		Logger:  hclog.NewNullLogger(),
	})
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		waitExited(client)
		reason, version := startFailure(err, st.String(), h.opts.StartTimeout)
		return nil, fail(reason, version)
	}
	impl, err := rpcClient.Dispense(string(c.Kind))
	if err != nil {
		client.Kill()
		return nil, fail(fmt.Sprintf("started but does not serve a %s (%v)", c.Kind, err), 0)
	}
	return &process{cand: c, client: client, stderr: st, impl: impl}, nil
}

// waitExited waits (briefly) until a plugin that failed to start has exited
// and its stderr is read to the end, so the error can quote it. go-plugin
// has already killed the process; it only offers a flag to watch.
func waitExited(c *plugin.Client) {
	for deadline := time.Now().Add(2 * time.Second); !c.Exited() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// startFailure turns go-plugin's start errors into a reason a user can act on.
func startFailure(err error, stderr string, timeout time.Duration) (string, int) {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Sprintf("did not complete the handshake within %s (it hangs on start)", timeout), 0
	case strings.Contains(msg, "incompatible API version"):
		v := 0
		if m := pluginVersionRE.FindStringSubmatch(msg); m != nil {
			v, _ = strconv.Atoi(m[1])
		}
		return fmt.Sprintf("speaks plugin protocol version %d, this aco speaks %d: rebuild the plugin against this aco's plugins package", v, ProtocolVersion), v
	case strings.Contains(stderr, "This binary is a plugin"):
		return "handshake mismatch: it expects another program's magic cookie (a go-plugin plugin, but not one built for aco)", 0
	case strings.Contains(msg, "exited before we could connect"), strings.Contains(msg, "Failed to read any lines"):
		return "crashed on start" + detail(stderr), 0
	case strings.Contains(msg, "Unrecognized remote plugin message"), strings.Contains(msg, "incompatible core API version"):
		return "handshake mismatch: it did not answer with the go-plugin handshake (" + firstLine(msg) + ")", 0
	}
	var execErr *exec.Error
	if errors.As(err, &execErr) || errors.Is(err, os.ErrPermission) {
		return "cannot be run: " + msg, 0
	}
	return "failed to start: " + firstLine(msg) + detail(stderr), 0
}

// PluginError is a plugin that cannot be used, naming it and why. It reads
// as an *aco.Error (code unavailable) to errors.As, so the CLI prints it as is.
type PluginError struct {
	Kind    Kind
	Name    string
	Path    string
	Reason  string
	Version int // the protocol version the plugin offered, when known
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("%s plugin %q (%s): %s", e.Kind, e.Name, e.Path, e.Reason)
}

func (e *PluginError) As(target any) bool {
	if t, ok := target.(**aco.Error); ok {
		*t = &aco.Error{Code: aco.EUNAVAIL, Message: e.Error()}
		return true
	}
	return false
}

type pluginNotifier struct {
	h *Host
	p *process
}

func (n *pluginNotifier) Notify(ctx context.Context, r Report) (Delivery, error) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, n.h.opts.CallTimeout)
	defer cancel()
	d, err := n.p.impl.(Notifier).Notify(ctx, r)
	if err != nil {
		return Delivery{}, n.h.callFailed(ctx, n.p, err, began)
	}
	return d, nil
}

type pluginDrafter struct {
	h *Host
	p *process
}

func (d *pluginDrafter) Draft(ctx context.Context, pr Prompt) (Draft, error) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, d.h.opts.CallTimeout)
	defer cancel()
	out, err := d.p.impl.(Drafter).Draft(ctx, pr)
	if err != nil {
		return Draft{}, d.h.callFailed(ctx, d.p, err, began)
	}
	return out, nil
}

// callFailed names the plugin in err. A plugin's own error leaves it running;
// a timeout or a broken connection means the process is stuck or gone, so it
// is killed (and started afresh when asked for again).
func (h *Host) callFailed(ctx context.Context, p *process, err error, began time.Time) error {
	c := p.cand
	var remote *RemoteError
	if errors.As(err, &remote) {
		return aco.Errorf(aco.EUNAVAIL, "%s %q: %s", c.Kind, c.Name, remote.Message)
	}
	h.stop(p)
	reason := "crashed during the call" + detail(p.stderr.String())
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		reason = fmt.Sprintf("did not answer within %s (it hangs); aco stopped it", time.Since(began).Round(time.Millisecond))
	case ctx.Err() != nil:
		reason = "call cancelled; aco stopped the plugin"
	}
	return &PluginError{Kind: c.Kind, Name: c.Name, Path: c.Path, Reason: reason}
}

// stop kills p and forgets it, so the next use starts a fresh process.
func (h *Host) stop(p *process) {
	key := string(p.cand.Kind) + "/" + p.cand.Name
	h.mu.Lock()
	if h.running[key] == p {
		delete(h.running, key)
	}
	h.mu.Unlock()
	// Kill waits for the process and its stderr, so detail() sees the end.
	p.client.Kill()
}

// tail keeps the end of a plugin's stderr for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 16 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// detail picks what the user needs from a plugin's stderr: a Go panic's
// message, else its last few lines that are not go-plugin's own debug log.
func detail(stderr string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "panic: ") {
			return ": " + l
		}
		if strings.HasPrefix(l, "{") {
			var entry struct {
				Level   string `json:"@level"`
				Message string `json:"@message"`
			}
			if json.Unmarshal([]byte(l), &entry) == nil && entry.Message != "" {
				if entry.Level == "trace" || entry.Level == "debug" || entry.Level == "info" {
					continue
				}
				l = entry.Message
			}
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return " (it wrote nothing to stderr)"
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	s := strings.Join(lines, " | ")
	if len(s) > 500 {
		s = s[len(s)-500:]
	}
	return ": " + s
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
