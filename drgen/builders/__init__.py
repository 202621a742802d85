"""One builder module per AWS concern; each adds resources to a StackContext's template."""
