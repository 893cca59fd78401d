"""Where runtimes run: a local process (sandboxed when possible) or a Ray cluster."""
