"""Lint rendered drgen bundles with cfn-lint and drgen's own DR rules; report as text, JSON or SARIF.

Importing this package is cheap: cfn-lint is loaded only when something is linted.
"""

from drgen.lint.findings import FORMATS, Finding, format_findings
from drgen.lint.runner import RULES_DIR, lint_bundle, lint_bundles, lint_template

__all__ = ["FORMATS", "RULES_DIR", "Finding", "format_findings", "lint_bundle", "lint_bundles", "lint_template"]
