"""RTO and RPO budget of a rendered bundle: every term read from the templates, compared with the objectives."""

from drgen.budget.report import BUDGET_FILE, budget_for_bundle, budget_json, format_text

__all__ = ["BUDGET_FILE", "budget_for_bundle", "budget_json", "format_text"]
