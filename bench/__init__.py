"""sandwich-bench: the harness."""
