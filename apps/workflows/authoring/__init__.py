"""What the workflow page knows about code without running it: the flow
graph and reference docs (parsed with tree-sitter's JavaScript grammar), the
editor's completion data and its compile diagnostics."""
