"""Domain packages: each brings its tools, tables and migrations, policy, workflows and evals."""
