package plugins

import (
	"context"
	"errors"
	"net/rpc"
	"time"

	"github.com/hashicorp/go-plugin"
)

// net/rpc has no context, so the caller's deadline travels as a duration
// (the two clocks are the same machine's, but a duration needs no agreement)
// and the caller stops waiting on its own when its context ends; the Host
// then kills the plugin, which is the only way to stop a call in flight.

// NotifyArgs is the request of Plugin.Notify.
type NotifyArgs struct {
	Report  Report
	Timeout time.Duration // 0: no deadline
}

// DraftArgs is the request of Plugin.Draft.
type DraftArgs struct {
	Prompt  Prompt
	Timeout time.Duration // 0: no deadline
}

// NotifierPlugin is the go-plugin glue of a Notifier; Impl is set on the
// plugin's side only.
type NotifierPlugin struct{ Impl Notifier }

func (p *NotifierPlugin) Server(*plugin.MuxBroker) (any, error) {
	return &NotifierRPCServer{Impl: p.Impl}, nil
}

func (*NotifierPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) {
	return &NotifierRPC{client: c}, nil
}

// NotifierRPC is a Notifier that calls a plugin process.
type NotifierRPC struct{ client *rpc.Client }

func (n *NotifierRPC) Notify(ctx context.Context, r Report) (Delivery, error) {
	var d Delivery
	err := call(ctx, n.client, "Plugin.Notify", &NotifyArgs{Report: r, Timeout: remaining(ctx)}, &d)
	return d, err
}

// NotifierRPCServer serves a Notifier to the host.
type NotifierRPCServer struct{ Impl Notifier }

func (s *NotifierRPCServer) Notify(args *NotifyArgs, d *Delivery) error {
	ctx, cancel := withTimeout(args.Timeout)
	defer cancel()
	out, err := s.Impl.Notify(ctx, args.Report)
	*d = out
	return err
}

// DrafterPlugin is the go-plugin glue of a Drafter; Impl is set on the
// plugin's side only.
type DrafterPlugin struct{ Impl Drafter }

func (p *DrafterPlugin) Server(*plugin.MuxBroker) (any, error) {
	return &DrafterRPCServer{Impl: p.Impl}, nil
}

func (*DrafterPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) {
	return &DrafterRPC{client: c}, nil
}

// DrafterRPC is a Drafter that calls a plugin process.
type DrafterRPC struct{ client *rpc.Client }

func (d *DrafterRPC) Draft(ctx context.Context, p Prompt) (Draft, error) {
	var out Draft
	err := call(ctx, d.client, "Plugin.Draft", &DraftArgs{Prompt: p, Timeout: remaining(ctx)}, &out)
	return out, err
}

// DrafterRPCServer serves a Drafter to the host.
type DrafterRPCServer struct{ Impl Drafter }

func (s *DrafterRPCServer) Draft(args *DraftArgs, d *Draft) error {
	ctx, cancel := withTimeout(args.Timeout)
	defer cancel()
	out, err := s.Impl.Draft(ctx, args.Prompt)
	*d = out
	return err
}

// call makes one RPC and gives up when ctx ends. The abandoned call's reply
// is dropped by net/rpc when it arrives or when the connection closes.
func call(ctx context.Context, c *rpc.Client, method string, args, reply any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := c.Go(method, args, reply, make(chan *rpc.Call, 1)).Done
	select {
	case res := <-done:
		if res.Error == nil {
			return nil
		}
		var se rpc.ServerError
		if errors.As(res.Error, &se) {
			// The plugin's own error: its text is all that crosses the wire.
			return &RemoteError{Message: string(se)}
		}
		return res.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RemoteError is an error the plugin returned (as opposed to one of the
// connection or the process).
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return e.Message }

func remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	if d := time.Until(dl); d > 0 {
		return d
	}
	// Already past: the smallest positive duration, not "no deadline".
	return time.Nanosecond
}

func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), d)
}
