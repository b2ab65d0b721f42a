package patches

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata/*/expected and the repo's generated files)")

// TestRenderGolden renders each testdata/<case>/input/*.yaml and compares
// every output file with testdata/<case>/expected/<path>.
func TestRenderGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", c.Name())
			files, err := Load(os.DirFS(dir), "input")
			if err != nil {
				t.Fatal(err)
			}
			got, err := Render(files)
			if err != nil {
				t.Fatal(err)
			}
			expDir := filepath.Join(dir, "expected")
			if *update {
				if err := os.RemoveAll(expDir); err != nil {
					t.Fatal(err)
				}
				for p, b := range got {
					full := filepath.Join(expDir, filepath.FromSlash(p))
					if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(full, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[string][]byte{}
			err = filepath.WalkDir(expDir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(expDir, p)
				b, err := os.ReadFile(p)
				want[filepath.ToSlash(rel)] = b
				return err
			})
			if err != nil {
				t.Fatalf("%v (run go test ./patches -update to create the golden files)", err)
			}
			for _, p := range sortedKeys(got, want) {
				switch {
				case want[p] == nil:
					t.Errorf("rendered %s, which has no golden file", p)
				case got[p] == nil:
					t.Errorf("golden file %s was not rendered", p)
				case !bytes.Equal(got[p], want[p]):
					t.Errorf("%s differs from its golden file (go test ./patches -update):\n%s", p, unifiedDiff("want", "got", string(want[p]), string(got[p])))
				}
			}
		})
	}
}

func sortedKeys(ms ...map[string][]byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestGeneratedUpToDate fails when the committed files under
// pyshim/aco/patches/_generated/ are not what patches/*.yaml renders to.
func TestGeneratedUpToDate(t *testing.T) {
	if *update {
		if _, err := Write(".."); err != nil {
			t.Fatal(err)
		}
	}
	if err := Check(".."); err != nil {
		d, _ := Diff("..")
		t.Fatalf("%v\n%s", err, d)
	}
}
