"""Loading a profile: the generated base layer, then HL7 UK, CareFlow and Trust layers on top.

Layer files are TOML patches in one vocabulary (see docs/profiles.md). Loading checks every
entry and names the file and the entry when something is wrong, so a Trust can edit its overlay
without reading code.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from eprlink.errors import ErrorCode
from eprlink.profiles.errors import ProfileError
from eprlink.profiles.model import (
    CodeTable,
    ComponentDef,
    Condition,
    DatatypeDef,
    EventDef,
    FieldDef,
    MessageStructure,
    Profile,
    Rule,
    RuleKind,
    SegmentDef,
    Severity,
    Usage,
)
from eprlink.profiles.notation import parse_structure

__all__ = ["BASE", "DEFAULT_LAYERS", "layer_path", "load_profile"]

BASE = "hl7v2.4"
DEFAULT_LAYERS: tuple[str, ...] = ("hl7uk", "careflow")

_FIELD_KEYS = {"name", "datatype", "usage", "max_repetitions", "max_length", "table", "note"}


def layer_path(name: str | Path, suffix: str = ".toml") -> Path:
    """A packaged layer by name (``hl7uk``, ``plugins/medically_fit_v2``) or a file path."""
    if isinstance(name, Path) or (str(name).endswith((".toml", ".json")) and Path(name).exists()):
        return Path(name)
    packaged = resources.files("eprlink.profiles").joinpath("data", f"{name}{suffix}")
    return Path(str(packaged))


class _Builder:
    """Mutable state while layers are applied; frozen into a Profile at the end."""

    def __init__(self) -> None:
        self.name = ""
        self.version = ""
        self.segments: dict[str, SegmentDef] = {}
        self.datatypes: dict[str, DatatypeDef] = {}
        self.tables: dict[str, CodeTable] = {}
        self.structures: dict[str, MessageStructure] = {}
        self.events: dict[tuple[str, str], EventDef] = {}
        self.rules: list[Rule] = []
        self.layers: list[str] = []
        self.settings: dict[str, Any] = {}

    def freeze(self) -> Profile:
        return Profile(
            name=self.name,
            version=self.version,
            segments=dict(self.segments),
            datatypes=dict(self.datatypes),
            tables=dict(self.tables),
            structures=dict(self.structures),
            events=dict(self.events),
            rules=tuple(self.rules),
            layers=tuple(self.layers),
            settings=self.settings,
        )


def _fail(source: str, entry: str, what: str) -> ProfileError:
    return ProfileError(f"{source}: {entry}: {what}")


def _get(  # noqa: PLR0917 - called in one shape everywhere: (data, key, kind, source, entry)
    data: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    source: str,
    entry: str,
    default: Any = ...,
) -> Any:
    if key not in data:
        if default is ...:
            raise _fail(source, entry, f"missing {key!r}")
        return default
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        kinds = (kind,) if isinstance(kind, type) else kind
        expected = " or ".join(k.__name__ for k in kinds)
        raise _fail(source, entry, f"{key!r} must be {expected}, found {type(value).__name__}")
    return value


def _usage(value: Any, source: str, entry: str) -> Usage:
    try:
        return Usage(value)
    except ValueError:
        allowed = ", ".join(u.value for u in Usage)
        raise _fail(source, entry, f"usage {value!r} is not one of {allowed}") from None


def _component(data: Mapping[str, Any], source: str, entry: str) -> ComponentDef:
    return ComponentDef(
        position=_get(data, "position", int, source, entry),
        name=_get(data, "name", str, source, entry),
        datatype=_get(data, "datatype", str, source, entry),
        usage=_usage(data.get("usage", "O"), source, entry),
        max_length=_get(data, "max_length", (int, type(None)), source, entry, None),
        table=_get(data, "table", (str, type(None)), source, entry, None),
    )


def _field(data: Mapping[str, Any], source: str, entry: str) -> FieldDef:
    unknown = set(data) - _FIELD_KEYS - {"position"}
    if unknown:
        raise _fail(source, entry, f"unknown keys {sorted(unknown)}")
    repetitions = data.get("max_repetitions", 1)
    if repetitions is not None and (
        not isinstance(repetitions, int) or isinstance(repetitions, bool) or repetitions < -1
    ):
        raise _fail(
            source, entry, "max_repetitions must be a positive integer, 0 or -1 (unbounded)"
        )
    return FieldDef(
        position=_get(data, "position", int, source, entry),
        name=_get(data, "name", str, source, entry),
        datatype=_get(data, "datatype", str, source, entry),
        usage=_usage(data.get("usage", "O"), source, entry),
        max_repetitions=None if repetitions in (0, -1) else repetitions,
        max_length=_get(data, "max_length", (int, type(None)), source, entry, None),
        table=_get(data, "table", (str, type(None)), source, entry, None),
        note=_get(data, "note", str, source, entry, ""),
    )


def _condition(data: Mapping[str, Any], source: str, entry: str) -> Condition:
    return Condition(
        path=_get(data, "path", str, source, entry),
        values=tuple(_get(data, "values", list, source, entry, [])),
        present=_get(data, "present", (bool, type(None)), source, entry, None),
    )


def _rule(data: Mapping[str, Any], source: str, entry: str) -> Rule:
    try:
        kind = RuleKind(_get(data, "kind", str, source, entry))
    except ValueError:
        allowed = ", ".join(k.value for k in RuleKind)
        raise _fail(source, entry, f"kind must be one of {allowed}") from None
    when = data.get("when")
    code = data.get("code")
    try:
        error_code = None if code is None else ErrorCode(code)
    except ValueError:
        raise _fail(source, entry, f"code {code!r} is not in HL7 table 0357") from None
    try:
        severity = Severity(data.get("severity", "E"))
    except ValueError:
        raise _fail(source, entry, "severity must be E, W or I") from None
    return Rule(
        kind=kind,
        path=_get(data, "path", str, source, entry),
        values=tuple(str(v) for v in _get(data, "values", list, source, entry, [])),
        when=None if when is None else _condition(when, source, entry + ".when"),
        severity=severity,
        code=error_code,
        text=_get(data, "text", str, source, entry, ""),
        source=_get(data, "source", str, source, entry, ""),
        id=_get(data, "id", str, source, entry, ""),
    )


def _merge_rules(
    existing: Sequence[Rule], specs: Sequence[Any], source: str, entry: str
) -> list[Rule]:
    """Append rules; a rule whose ``id`` matches an earlier one replaces it in place, and
    ``enabled = false`` removes it, so a Trust overlay can soften or drop a layer's rule."""
    rules = list(existing)
    for i, spec in enumerate(specs):
        where = f"{entry}[{i}]"
        if not isinstance(spec, Mapping):
            raise _fail(source, where, "a rule must be a table")
        enabled = spec.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _fail(source, where, "'enabled' must be true or false")
        rule_id = spec.get("id", "")
        position = next((n for n, r in enumerate(rules) if rule_id and r.id == rule_id), None)
        if not enabled:
            if position is None:
                raise _fail(source, where, f"no earlier rule with id {rule_id!r} to disable")
            del rules[position]
            continue
        rule = _rule(spec, source, where)
        if position is None:
            rules.append(rule)
        else:
            rules[position] = rule
    return rules


def _apply(builder: _Builder, data: Mapping[str, Any], source: str) -> None:
    layer = data.get("layer", {})
    builder.layers.append(str(layer.get("name", Path(source).stem)))
    if "name" in layer and not builder.name:
        builder.name = str(layer["name"])
    if "version" in layer:
        builder.version = str(layer["version"])
    for name, spec in data.get("datatypes", {}).items():
        entry = f"datatypes.{name}"
        components = tuple(
            _component(c, source, f"{entry}.components[{i}]")
            for i, c in enumerate(spec.get("components", []))
        )
        builder.datatypes[name] = DatatypeDef(name, components, str(spec.get("description", "")))
    for sid, spec in data.get("segments", {}).items():
        entry = f"segments.{sid}"
        fields = tuple(
            _field(f, source, f"{entry}.fields[{i}]") for i, f in enumerate(spec.get("fields", []))
        )
        builder.segments[sid] = SegmentDef(sid, str(spec.get("name", sid)), fields)
    for i, patch in enumerate(data.get("field_patches", [])):
        entry = f"field_patches[{i}]"
        sid = _get(patch, "segment", str, source, entry)
        position = _get(patch, "position", int, source, entry)
        segment = builder.segments.get(sid)
        if segment is None:
            raise _fail(source, entry, f"no segment {sid} to patch")
        changes = {k: v for k, v in patch.items() if k in _FIELD_KEYS}
        unknown = set(patch) - _FIELD_KEYS - {"segment", "position"}
        if unknown:
            raise _fail(source, entry, f"unknown keys {sorted(unknown)}")
        if "usage" in changes:
            changes["usage"] = _usage(changes["usage"], source, entry)
        if changes.get("max_repetitions") in (0, -1):
            changes["max_repetitions"] = None
        existing = segment.field(position)
        if existing is None:
            new = _field({"position": position, **patch_defaults(changes)}, source, entry)
            fields = tuple(sorted((*segment.fields, new), key=lambda f: f.position))
        else:
            fields = tuple(
                replace(f, **changes) if f.position == position else f for f in segment.fields
            )
        builder.segments[sid] = replace(segment, fields=fields)
    for tid, spec in data.get("tables", {}).items():
        entry = f"tables.{tid}"
        codes = {str(k): str(v) for k, v in _get(spec, "codes", dict, source, entry, {}).items()}
        mode = spec.get("mode", "replace")
        if mode not in ("replace", "extend"):
            raise _fail(source, entry, "mode must be 'replace' or 'extend'")
        old = builder.tables.get(tid)
        if mode == "extend" and old is not None:
            codes = {**old.codes, **codes}
        builder.tables[tid] = CodeTable(
            id=tid,
            name=str(spec.get("name", old.name if old else tid)),
            codes=codes,
            extensible=bool(spec.get("extensible", old.extensible if old else False)),
            source=str(spec.get("source", old.source if old else "")),
        )
    for sid, notation in data.get("structures", {}).items():
        if not isinstance(notation, str):
            raise _fail(source, f"structures.{sid}", "must be a structure notation string")
        try:
            nodes = parse_structure(notation)
        except ProfileError as exc:
            raise _fail(source, f"structures.{sid}", str(exc)) from None
        builder.structures[sid] = MessageStructure(sid, nodes, notation)
    for i, spec in enumerate(data.get("events", [])):
        entry = f"events[{i}]"
        key = (_get(spec, "type", str, source, entry), _get(spec, "trigger", str, source, entry))
        old_event = builder.events.get(key)
        structure = spec.get("structure", old_event.structure if old_event else None)
        if not isinstance(structure, str):
            raise _fail(source, entry, f"{key[0]}^{key[1]} needs a 'structure'")
        kept = () if old_event is None or spec.get("replace_rules", False) else old_event.rules
        rules = _merge_rules(kept, spec.get("rules", []), source, f"{entry}.rules")
        builder.events[key] = EventDef(
            message_type=key[0],
            trigger=key[1],
            structure=structure,
            description=str(spec.get("description", old_event.description if old_event else "")),
            rules=tuple(rules),
        )
    builder.rules = _merge_rules(builder.rules, data.get("rules", []), source, "rules")
    _merge(builder.settings, data.get("settings", {}))
    if "trust" in data:
        builder.settings["trust"] = dict(data["trust"])


def patch_defaults(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A field added by a patch needs at least a name and a datatype."""
    return {"name": "", "datatype": "ST", **changes}


def _merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _read(path: Path) -> Mapping[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a table at the top level")
    return data


def _check(builder: _Builder, source: str) -> None:
    """Cross-references must resolve: structures name known segments, events known structures."""
    for event in builder.events.values():
        if event.structure not in builder.structures:
            raise ProfileError(
                f"{source}: event {event.message_type}^{event.trigger} names unknown structure "
                f"{event.structure}"
            )
    for structure in builder.structures.values():
        stack = list(structure.nodes)
        while stack:
            node = stack.pop()
            if node.is_group:
                stack.extend(node.children)
            elif node.name not in builder.segments:
                raise ProfileError(
                    f"{source}: structure {structure.id} uses undefined segment {node.name}"
                )


def load_profile(
    layers: Sequence[str | Path] = DEFAULT_LAYERS,
    *,
    base: str | Path = BASE,
    trust: str | Path | None = None,
) -> Profile:
    """The base layer with ``layers`` applied in order, then a Trust overlay if given.

    A Trust file may name CareFlow plug-ins (``[trust.plugins] medically_fit = "v2"``); the
    packaged layer ``plugins/<name>_<version>`` is applied before the Trust file itself.
    """
    builder = _Builder()
    base_path = layer_path(base, ".json")
    _apply(builder, _read(base_path), str(base_path))
    for layer in layers:
        path = layer_path(layer)
        _apply(builder, _read(path), str(path))
    source = "layers"
    if trust is not None:
        trust_path = Path(trust)
        data = _read(trust_path)
        plugins = data.get("trust", {}).get("plugins", {})
        if not isinstance(plugins, Mapping):
            raise ProfileError(f"{trust_path}: trust.plugins must be a table of name = version")
        for plugin, version in plugins.items():
            path = layer_path(f"plugins/{plugin}_{version}")
            if not path.exists():
                raise ProfileError(
                    f"{trust_path}: trust.plugins.{plugin}: no packaged layer for version "
                    f"{version!r} ({path.name})"
                )
            _apply(builder, _read(path), str(path))
        _apply(builder, data, str(trust_path))
        source = str(trust_path)
    _check(builder, source)
    return builder.freeze()
