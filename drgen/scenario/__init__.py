"""The scenario model, the presets and the loader."""

from drgen.scenario.loader import load, preset
from drgen.scenario.model import Role, Scenario
from drgen.scenario.presets import PRESETS

__all__ = ["PRESETS", "Role", "Scenario", "load", "preset"]
