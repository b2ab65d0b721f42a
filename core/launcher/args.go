package launcher

import (
	"strings"

	"github.com/aco-dev/aco"
)

// Args is aco-launch's command line, taken apart the way python takes its own.
type Args struct {
	RunName string // --run-name
	Help    bool
	Version bool
	// PyOpts are interpreter options given before the program, passed on
	// to python unchanged (split: "-uB" becomes "-u", "-B").
	PyOpts   []string
	Module   string   // -m module; "" when a script runs
	Script   string   // the script's path; "" when a module runs
	ProgArgs []string // everything after the script or module, untouched
}

// pyFlags are python's options without a value that aco-launch passes on.
const pyFlags = "bBdiOPqRsSuvx"

// Usage is aco-launch's help text.
const Usage = `usage: aco-launch [launcher options] [python options] script.py [args…]
       aco-launch [launcher options] [python options] -m module [args…]

Runs a Python program exactly as python would, while the aco server records
its LLM calls (the server is started when it is not running).

launcher options, before the program:
  --run-name NAME  name the recorded run
  -h, --help       show this help
  --version        show aco's version

python options, passed to the interpreter:
  -b -B -d -i -O -P -q -R -s -S -u -v -x, -W arg, -X opt,
  --check-hash-based-pycs mode

environment:
  ACO_PYTHON      the interpreter (default: the active virtualenv's, else python3)
  ACO_DISABLE=1   run the program plainly, recording nothing
  ACO_HOME, ACO_PORT, ACO_HTTP_PORT  where the server keeps its files and listens
`

func usageErr(format string, a ...any) error {
	return aco.Errorf(aco.EINVALID, format, a...)
}

// ParseArgs reads aco-launch's arguments. Launcher and python options come
// first; the first non-option is the script, and it and everything after it
// belong to the program, as with python. Errors are *aco.Error with code
// EINVALID: a usage error.
func ParseArgs(args []string) (Args, error) {
	var a Args
	for i := 0; i < len(args); i++ {
		arg := args[i]
		value := func(opt string) (string, error) {
			if i+1 >= len(args) {
				return "", usageErr("option %s needs an argument", opt)
			}
			i++
			return args[i], nil
		}
		switch {
		case arg == "--":
			if i+1 >= len(args) {
				return a, usageErr("no script given after --")
			}
			a.Script, a.ProgArgs = args[i+1], args[i+2:]
			return a, nil
		case arg == "--help":
			a.Help = true
			return a, nil
		case arg == "--version":
			a.Version = true
			return a, nil
		case arg == "--run-name" || strings.HasPrefix(arg, "--run-name="):
			v, ok := strings.CutPrefix(arg, "--run-name=")
			if !ok {
				var err error
				if v, err = value(arg); err != nil {
					return a, err
				}
			}
			a.RunName = v
		case arg == "--check-hash-based-pycs" || strings.HasPrefix(arg, "--check-hash-based-pycs="):
			v, ok := strings.CutPrefix(arg, "--check-hash-based-pycs=")
			if !ok {
				var err error
				if v, err = value(arg); err != nil {
					return a, err
				}
			}
			a.PyOpts = append(a.PyOpts, "--check-hash-based-pycs", v)
		case strings.HasPrefix(arg, "--"):
			return a, usageErr("unknown option %s", arg)
		case arg == "-":
			return a, usageErr("reading the program from stdin is not supported: save it to a file")
		case strings.HasPrefix(arg, "-"):
			done, err := a.shortOptions(args, &i)
			if err != nil || done {
				return a, err
			}
		default:
			a.Script, a.ProgArgs = arg, args[i+1:]
			return a, nil
		}
	}
	if a.Help || a.Version {
		return a, nil
	}
	return a, usageErr("no script given: aco-launch script.py [args…] or aco-launch -m module [args…]")
}

// shortOptions reads a cluster of short options like "-uX" "dev" at
// args[*i], advancing *i past a separate value. done is true when -h or
// -m ended the command line.
func (a *Args) shortOptions(args []string, i *int) (done bool, err error) {
	arg := args[*i]
	for j := 1; j < len(arg); j++ {
		c := arg[j]
		switch {
		case c == 'h' || c == '?':
			a.Help = true
			return true, nil
		case strings.IndexByte(pyFlags, c) >= 0:
			a.PyOpts = append(a.PyOpts, "-"+string(c))
		case c == 'W' || c == 'X' || c == 'm':
			v := arg[j+1:]
			if v == "" {
				if *i+1 >= len(args) {
					return false, usageErr("option -%c needs an argument", c)
				}
				*i++
				v = args[*i]
			}
			if c != 'm' {
				a.PyOpts = append(a.PyOpts, "-"+string(c), v)
				return false, nil
			}
			a.Module, a.ProgArgs = v, args[*i+1:]
			return true, nil
		case c == 'c':
			return false, usageErr("-c is not supported: put the code in a file and run that")
		case c == 'E' || c == 'I':
			return false, usageErr("-%c makes python ignore PYTHONPATH, which aco needs to load its shim: drop it, or run python directly", c)
		default:
			return false, usageErr("unknown option -%c", c)
		}
	}
	return false, nil
}
