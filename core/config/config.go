// Package config resolves where aco keeps its files and which ports it uses,
// from flags first, then the environment, then defaults. The names are a
// contract (DESIGN.md): ACO_HOME, ACO_PORT, ACO_HTTP_PORT, ACO_PYTHON, ACO_DISABLE.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

const (
	DefaultPort     = 5959
	DefaultHTTPPort = 5960
)

// Config is where aco lives on this machine.
type Config struct {
	Home     string // $ACO_HOME, default ~/.cache/aco
	Port     int    // runner protocol, $ACO_PORT
	HTTPPort int    // web UI and API, $ACO_HTTP_PORT
}

// FromEnv reads the configuration from getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{Home: getenv("ACO_HOME"), Port: DefaultPort, HTTPPort: DefaultHTTPPort}
	if c.Home == "" {
		base := getenv("XDG_CACHE_HOME")
		if base == "" {
			home := getenv("HOME")
			if home == "" {
				h, err := os.UserHomeDir()
				if err != nil {
					return c, fmt.Errorf("cannot find a home for aco's files: set ACO_HOME")
				}
				home = h
			}
			base = filepath.Join(home, ".cache")
		}
		c.Home = filepath.Join(base, "aco")
	}
	var err error
	if c.Port, err = port(getenv, "ACO_PORT", DefaultPort); err != nil {
		return c, err
	}
	if c.HTTPPort, err = port(getenv, "ACO_HTTP_PORT", DefaultHTTPPort); err != nil {
		return c, err
	}
	return c, nil
}

func port(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number: set it to 1-65535 or unset it", name, v)
	}
	return p, nil
}

// DBPath is the SQLite store.
func (c Config) DBPath() string { return filepath.Join(c.Home, "aco.db") }

// PIDPath holds the server's process id while it runs.
func (c Config) PIDPath() string { return filepath.Join(c.Home, "server.pid") }

// LogPath is the server's log.
func (c Config) LogPath() string { return filepath.Join(c.Home, "server.log") }

// TokenPath holds the random token every HTTP API request must carry.
func (c Config) TokenPath() string { return filepath.Join(c.Home, "token") }

// ShimDir is where the embedded Python shim of this aco version is unpacked.
func (c Config) ShimDir(version string) string {
	return filepath.Join(c.Home, "shim", version)
}

// RunnerAddr is the runner protocol's loopback address.
func (c Config) RunnerAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.Port) }

// HTTPAddr is the web UI's loopback address.
func (c Config) HTTPAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.HTTPPort) }
