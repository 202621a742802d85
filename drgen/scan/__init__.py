"""Security scan of rendered bundles with checkov (in its own virtualenv), reported as drgen Findings.

Importing this package is cheap: builders import ``drgen.scan.skips`` to write checkov skips.
"""
