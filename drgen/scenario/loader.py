"""Load a scenario: a preset by name, or a YAML file that may start from a preset and override fields.

Every problem becomes a ScenarioError with one line naming the field and what to do.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
from pathlib import Path
from typing import Any

import yaml

if typing.TYPE_CHECKING:
    from _typeshed import DataclassInstance

from drgen.errors import ScenarioError
from drgen.scenario.model import Scenario
from drgen.scenario.presets import PRESETS
from drgen.scenario.validate import validate, validate_suffix

_Built = typing.TypeVar("_Built", bound="DataclassInstance")

DEFAULT_SUFFIX = "dev"
SUFFIX_ENV = "ENVIRONMENT_SUFFIX"


def preset(name: str) -> Scenario:
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ScenarioError(f"unknown preset '{name}'; choose one of: {known} (see `drgen scenarios`)") from None


def resolve_suffix(scenario: Scenario, cli_suffix: str | None) -> Scenario:
    """--suffix, else $ENVIRONMENT_SUFFIX, else the scenario's own, else 'dev'."""
    if cli_suffix is not None:
        suffix = cli_suffix  # given explicitly: an empty one is an error, not a fallback
    else:
        suffix = os.environ.get(SUFFIX_ENV) or scenario.suffix or DEFAULT_SUFFIX
    validate_suffix(suffix)
    return dataclasses.replace(scenario, suffix=suffix)


def load(name: str | None = None, config: Path | None = None, suffix: str | None = None) -> Scenario:
    """The one entry point: a validated scenario with its suffix resolved."""
    if config is not None:
        scenario = load_yaml(config)
    else:
        scenario = preset(name or "")
    scenario = resolve_suffix(scenario, suffix)
    validate(scenario)
    return scenario


def definition(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data (enums as their values), which ``from_definition`` turns back into it: the
    manifest carries it, so a bundle rendered from a scenario file is operated without that file."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(scenario), default=lambda value: value.value))
    return data


def from_definition(data: Any, where: str) -> Scenario:
    """The scenario ``definition`` wrote, validated again (a hand-edited manifest is refused, not trusted)."""
    scenario = build(Scenario, data, where=where)
    validate(scenario)
    return scenario


def load_yaml(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the scenario file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}: broken YAML{where}: {problem}; fix the file and rerun") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario file must be a mapping of fields, not {type(data).__name__}")
    base_name = data.pop("base", None)
    if base_name is not None:
        base = dataclasses.asdict(preset(str(base_name)))
        if "name" in data and "prefix" not in data and data["name"] != base["name"]:
            # A variant is another deployment: its stacks and resources must not take the base's names.
            data = {**data, "prefix": data["name"]}
        merged = _merge(base, data)
    else:
        merged = data
    return build(Scenario, merged, where=str(path))


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that repeats a key (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (line {line}); keep one", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; everything else (lists, scalars) is replaced whole."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and key != "tags":
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def build(cls: type[_Built], data: Any, where: str) -> _Built:
    """Build dataclass ``cls`` from plain data, naming the dotted field on any mismatch."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ScenarioError(f"{where}: unknown key '{unknown[0]}'; known keys here: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(hints[name], value, f"{where}.{name}" if where else name)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ScenarioError(f"{where}: missing required key '{missing[0]}'")
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where)
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value):
            return value
        return build(typing.cast(type, hint), value, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(m.value for m in hint)
            raise ScenarioError(f"{where}: '{value}' is not one of {choices}") from None
    if origin is tuple:
        if where.endswith(".tags") or where == "tags":
            return _tags(value, where)
        if not isinstance(value, (list, tuple)):
            raise ScenarioError(f"{where}: expected a list, got {type(value).__name__}")
        item = args[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected text, got {value!r}")
        return value
    raise ScenarioError(f"{where}: unsupported value {value!r}")  # pragma: no cover - model types are closed


def _tags(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        pairs = [tuple(p) for p in value]
    else:
        raise ScenarioError(f"{where}: tags must be a mapping of key: value")
    for key, val in pairs:
        if not isinstance(key, str) or not isinstance(val, (str, int, float)) or isinstance(val, bool):
            raise ScenarioError(f"{where}: tag {key!r} must map text to text")
    return tuple((k, str(v)) for k, v in pairs)
