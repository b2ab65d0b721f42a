# This file runs in the program's own __main__ namespace, which the runner
# resets before the program starts: keep it to this one call.
import aco.runner.main

aco.runner.main.main()
