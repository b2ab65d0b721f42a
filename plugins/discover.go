package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Prefix starts the file name of every plugin: aco-plugin-<kind>-<name>.
const Prefix = "aco-plugin-"

// Candidate is a plugin executable found on the search path. Problem is set
// when it cannot be used without even starting it (not executable, unknown
// kind, shadowed by an earlier one of the same name).
type Candidate struct {
	Kind    Kind
	Name    string
	Path    string
	Problem string
}

// Discover lists the plugins in dirs, in search order, then by kind and
// name. Missing directories are passed over: most people have none.
func Discover(dirs []string) ([]Candidate, error) {
	var out []Candidate
	first := map[string]string{} // kind/name -> path of the one that wins
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the plugin directory %s: %w", dir, err)
		}
		var found []Candidate
		for _, e := range entries {
			c, ok := parseName(e.Name())
			if !ok {
				continue
			}
			c.Path = filepath.Join(dir, e.Name())
			switch {
			case c.Problem != "":
			case !executable(c.Path):
				c.Problem = "not executable (chmod +x it, or it is not a regular file)"
			default:
				key := string(c.Kind) + "/" + c.Name
				if p, dup := first[key]; dup {
					c.Problem = "shadowed by " + p
				} else {
					first[key] = c.Path
				}
			}
			found = append(found, c)
		}
		sort.SliceStable(found, func(i, j int) bool {
			if found[i].Kind != found[j].Kind {
				return found[i].Kind < found[j].Kind
			}
			return found[i].Name < found[j].Name
		})
		out = append(out, found...)
	}
	return out, nil
}

// parseName reads aco-plugin-<kind>-<name>; ok is false for files that are
// not plugins at all (other files share the directory, e.g. bin/aco).
func parseName(file string) (c Candidate, ok bool) {
	rest, ok := strings.CutPrefix(file, Prefix)
	if !ok {
		return c, false
	}
	kind, name, _ := strings.Cut(rest, "-")
	c.Kind, c.Name = Kind(kind), name
	known := false
	for _, k := range Kinds {
		known = known || k == c.Kind
	}
	switch {
	case !known:
		c.Problem = fmt.Sprintf("unknown kind %q: the name must be %s<kind>-<name> with kind %s", kind, Prefix, kindList())
	case name == "":
		c.Problem = fmt.Sprintf("no name: the file must be called %s%s-<name>", Prefix, kind)
	}
	return c, true
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, " or ")
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
