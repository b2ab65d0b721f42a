// Package client talks to a running aco server's HTTP API. It implements
// aco.RunService, the same interface the server serves, so the CLI behaves
// as the web UI does.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/server"
)

// Client is an HTTP client of one server.
type Client struct {
	BaseURL string // http://127.0.0.1:5960
	Token   string
	HTTP    *http.Client
}

var _ aco.RunService = (*Client)(nil)

// New returns a client of the server cfg describes, with the token read from
// $ACO_HOME/token.
func New(cfg config.Config) (*Client, error) {
	tok, err := os.ReadFile(cfg.TokenPath())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, aco.Errorf(aco.EUNAVAIL, "no aco server has run with ACO_HOME=%s: start one with `aco server start`", cfg.Home)
		}
		return nil, err
	}
	return &Client{
		BaseURL: "http://" + cfg.HTTPAddr(),
		Token:   strings.TrimSpace(string(tok)),
		HTTP:    &http.Client{Timeout: 30 * time.Second},
	}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return aco.Errorf(aco.EUNAVAIL, "aco server at %s is not reachable (%v): start it with `aco server start`", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.NewDecoder(resp.Body).Decode(&eb) == nil && eb.Error.Message != "" {
			return &aco.Error{Code: eb.Error.Code, Message: eb.Error.Message}
		}
		return aco.Errorf(aco.EINTERNAL, "%s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) ListRuns(ctx context.Context) ([]aco.Run, error) {
	var runs []aco.Run
	err := c.do(ctx, http.MethodGet, "/api/runs", nil, &runs)
	return runs, err
}

func (c *Client) ResolveRun(ctx context.Context, ref string) (string, error) {
	g, err := c.Graph(ctx, ref)
	if err != nil {
		return "", err
	}
	return g.Run.ID, nil
}

// Graph accepts any run reference the server resolves (id, prefix, "last").
func (c *Client) Graph(ctx context.Context, ref string) (*aco.Graph, error) {
	var g aco.Graph
	if err := c.do(ctx, http.MethodGet, "/api/runs/"+url.PathEscape(ref), nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

func (c *Client) GetCall(ctx context.Context, nodeID string) (*aco.Call, error) {
	var call aco.Call
	if err := c.do(ctx, http.MethodGet, "/api/nodes/"+url.PathEscape(nodeID), nil, &call); err != nil {
		return nil, err
	}
	return &call, nil
}

func (c *Client) UpdateRun(ctx context.Context, runID string, u aco.RunUpdate) error {
	return c.do(ctx, http.MethodPatch, "/api/runs/"+url.PathEscape(runID), u, nil)
}

func (c *Client) EditCall(ctx context.Context, nodeID string, e aco.CallEdit) error {
	return c.do(ctx, http.MethodPost, "/api/nodes/"+url.PathEscape(nodeID)+"/edit", e, nil)
}

func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	return c.do(ctx, http.MethodDelete, "/api/runs/"+url.PathEscape(runID), nil, nil)
}

func (c *Client) Clear(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/api/clear", nil, nil)
}

// Status is the running server's own account of itself.
func (c *Client) Status(ctx context.Context) (*server.Status, error) {
	var st server.Status
	if err := c.do(ctx, http.MethodGet, "/api/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
