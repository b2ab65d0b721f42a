package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/aco-dev/aco"
)

// Config is the `plugins:` section of $ACO_HOME/config.yaml:
//
//	plugins:
//	  dir: ~/aco-plugins          # searched before $ACO_HOME/plugins
//	  notifier: [webhook, email]  # used when --notifier is not given (a name or a list)
//	  drafter: anthropic          # used when --drafter is not given
//	  notifiers:
//	    webhook: {url: https://example.org/hook, secret: s3cret}
//	  drafters:
//	    anthropic: {model: claude-sonnet-4-5}
//
// Each plugin receives its own section (notifiers.<name> or drafters.<name>)
// as JSON in $ACO_PLUGIN_CONFIG.
type Config struct {
	Dir       string                    `yaml:"dir"`
	Notifier  Names                     `yaml:"notifier"`
	Drafter   string                    `yaml:"drafter"`
	Notifiers map[string]map[string]any `yaml:"notifiers"`
	Drafters  map[string]map[string]any `yaml:"drafters"`
}

// Names is a list of plugin names that may be written as one name.
type Names []string

func (n *Names) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind == yaml.ScalarNode {
		*n = Names{v.Value}
		return nil
	}
	var list []string
	if err := v.Decode(&list); err != nil {
		return err
	}
	*n = list
	return nil
}

// ConfigPath is aco's configuration file under home ($ACO_HOME).
func ConfigPath(home string) string { return filepath.Join(home, "config.yaml") }

// LoadConfig reads the plugins section of the configuration file at path. A
// missing file is an empty configuration. A relative or ~ dir is resolved
// against the file's directory or the user's home.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, aco.Errorf(aco.EINVALID, "cannot read %s: %v", path, err)
	}
	var file struct {
		Plugins Config `yaml:"plugins"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return Config{}, aco.Errorf(aco.EINVALID, "%s: %v (see `aco plugins --help` for the format)", path, err)
	}
	c := file.Plugins
	if c.Dir != "" {
		c.Dir = resolveDir(c.Dir, filepath.Dir(path))
	}
	return c, nil
}

func resolveDir(dir, base string) string {
	if dir == "~" || len(dir) > 1 && dir[:2] == "~/" {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, dir[1:])
		}
	}
	if !filepath.IsAbs(dir) {
		return filepath.Join(base, dir)
	}
	return dir
}

// section returns the JSON a plugin gets as its configuration.
func (c Config) section(kind Kind, name string) ([]byte, error) {
	var s map[string]any
	switch kind {
	case KindNotifier:
		s = c.Notifiers[name]
	case KindDrafter:
		s = c.Drafters[name]
	}
	if s == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, aco.Errorf(aco.EINVALID, "the configuration of %s %q cannot be passed on as JSON: %v", kind, name, err)
	}
	return b, nil
}

// SearchPath lists the directories plugins are looked for in, first match
// wins: the configured dir, $ACO_HOME/plugins, then the directory of the aco
// binary itself (exeDir, "" to leave it out), where the shipped plugins are
// built.
func SearchPath(home string, c Config, exeDir string) []string {
	var dirs []string
	for _, d := range []string{c.Dir, filepath.Join(home, "plugins"), exeDir} {
		if d == "" {
			continue
		}
		dup := false
		for _, seen := range dirs {
			dup = dup || filepath.Clean(seen) == filepath.Clean(d)
		}
		if !dup {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// DecodeConfig decodes a plugin's JSON configuration into v and rejects
// unknown keys, so a misspelt setting is an error rather than a silent
// default. Plugins call it from their open function.
func DecodeConfig(config []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("bad configuration in config.yaml: %v", err)
	}
	return nil
}
