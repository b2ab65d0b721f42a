"""An empty program: what aco-launch adds to any run."""
