"""Scenario files: YAML worlds, validated whole against the parameters their model declares.

    model: sgd                 # a world's name (models.registry)
    title: Escaping the pit    # shown in the CLI, the report and the browser
    seed: 20231107
    params: {...}              # validated by the model's Params (unknown keys are errors)
    steps: 10000
    scan:                      # optional: a grid for `optiscape scan`
      temperature: {logspace: [-3, -1, 25]}
      repeats: 4                # runs per grid point, each with its own seed
      series: false             # true: the scan's table has a row per collected step

A bad file raises `ScenarioError` with one line: the file, the key path, what was
expected and what was found. Nothing runs until the whole file is valid.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import ScenarioError
from models.params import MAX_VALUES, FieldError, Finite, Params, Values
from models.registry import UNREGISTERED, WorldEntry, world, worlds

SHIPPED = Path(str(resources.files(__name__)))
Whole = Annotated[int, Field(strict=True)]


class RangeGrid(BaseModel):
    """`range: [start, stop, step]`, stop excluded, as Python's range; three whole numbers give whole numbers (so a
    whole-number parameter can be scanned), and other numbers are stepped in decimal, as written, so that
    [0.01, 0.1, 0.01] is 0.01, 0.02, ..., 0.09 exactly, not 0.060000000000000005 and a last 0.09999999999999999."""

    model_config = ConfigDict(extra="forbid")
    range: tuple[Whole, Whole, Whole] | tuple[Finite, Finite, Finite]

    def values(self) -> list[float] | list[int]:
        start, stop, step = self.range
        if step == 0 or (stop - start) / step < 0:
            raise ValueError(f"range {list(self.range)}: expected a non-zero step towards stop")
        whole = all(isinstance(v, int) for v in self.range)
        first, last, by = self.range if whole else (Decimal(repr(float(v))) for v in self.range)
        count = math.ceil(Fraction(last - first) / Fraction(by))
        if count > MAX_VALUES:
            raise ValueError(f"range {list(self.range)}: {count:,} values, expected at most {MAX_VALUES:,}")
        return [first + i * by if whole else float(first + i * by) for i in range(count)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    seed: Annotated[int, Field(strict=True, ge=0)]
    params: dict[str, Any] = Field(default_factory=dict)
    steps: Annotated[int, Field(strict=True, ge=0)]
    scan: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    """A valid scenario: its world, validated params, seed, steps and (optional) scan grid."""

    path: Path
    model: str
    title: str
    description: str
    seed: int
    params: Params
    steps: int
    scan: dict[str, list[Any]] | None
    repeats: int
    series: bool = False  # a scan's table: one row per collected step (True) or per point and repeat

    @property
    def world(self) -> WorldEntry:
        return world(self.model)

    def build(self, rng: Any = None, **overrides: Any) -> Any:
        """The model this scenario describes (seeded from the scenario unless `rng` is given).

        Bad input ends in a `ScenarioError` (a world's own `WorldError`s among them), never another exception:
        a run that could not fit in `memory_budget_mb` or could not be computed is refused before it is built.
        """
        model_class = self.world.model_class()  # a typo in the world's WorldEntry is its own error, not the file's
        try:
            params = type(self.params).resolve(self.params, **overrides)
            params.check_run(self.steps)
            model = model_class(params, rng=self.seed if rng is None else rng)
            model.planned_steps = self.steps
            return model
        except ScenarioError as exc:  # a world's own error (a WorldError) names the file too
            raise exc.naming(self.path) from None
        except ValidationError as exc:
            key, message = _first_error(exc, ("params",), lambda loc: _fields_of(type(self.params))(loc[1:]))
            raise ScenarioError(self.path, key, message) from None
        except FieldError as exc:
            raise ScenarioError(self.path, ".".join(map(str, ("params", *exc.loc))), str(exc)) from None
        except (ValueError, ArithmeticError, MemoryError) as exc:  # input the world's checks did not foresee
            raise ScenarioError(self.path, "params", f"{type(exc).__name__}: {exc}") from None

    def resolved(self) -> dict[str, Any]:
        """The scenario with every default filled in (what a run folder records)."""
        out: dict[str, Any] = {"model": self.model, "title": self.title}
        if self.description:
            out["description"] = self.description
        out.update({"seed": self.seed, "steps": self.steps, "params": self.params.model_dump(mode="json")})
        if self.scan is not None:
            out["scan"] = {**self.scan, "repeats": self.repeats, "series": self.series}
        return out

    def grid(self) -> list[dict[str, Any]]:
        """Every point of the scan grid (the product of the per-parameter values), without repeats."""
        if not self.scan:
            return [{}]
        names = list(self.scan)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*self.scan.values())]


_TYPE_TAGS = ("[", "-", "function", "constrained")


def _clean_loc(loc: tuple[Any, ...], known_types: set[str]) -> tuple[Any, ...]:
    """Drop pydantic's union-member tags ('constrained-float', 'list[...]', 'Values') from a location."""
    out = []
    for part in loc:
        if isinstance(part, str) and (any(t in part for t in _TYPE_TAGS) or part in known_types):
            continue
        out.append(part)
    return tuple(out)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _first_error(exc: ValidationError, prefix: tuple[str, ...], fields_at: Any) -> tuple[str, str]:
    """(key path, message) for the most useful error of a pydantic ValidationError."""
    known = {"float", "int", "str", "bool", "dict", "list", "Values", "Landmark", "tuple", "none", "NoneType"}
    errors = exc.errors(include_url=False)
    # A misspelt key (which also makes its real name "missing") is the error to show; in a union,
    # prefer the member whose complaint is about the value rather than its type.
    errors.sort(key=lambda e: (e["type"] != "extra_forbidden",
                               e["type"].endswith("_type") or e["type"] in ("model_type", "none_required")))
    e = errors[0]
    loc = prefix + _clean_loc(tuple(e["loc"]), known)
    error = (e.get("ctx") or {}).get("error")
    if isinstance(error, FieldError):
        loc = loc + tuple(error.loc)
        return _key_path(loc), str(error)
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        name = loc[-1]
        allowed = fields_at(loc[:-1])
        hint = difflib.get_close_matches(str(name), allowed, n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        return _key_path(loc), f"unknown key {name!r}{guess}; expected one of {', '.join(allowed)}"
    if e["type"] == "missing":
        return _key_path(loc), "missing: this key is required"
    found = "" if e["type"] == "value_error" else f"; got {_describe(e.get('input'))}"
    if e["type"] == "literal_error" and any(other["type"] in ("float_type", "int_type") and
                                            prefix + _clean_loc(tuple(other["loc"]), known) == loc for other in errors):
        msg += " or a number"  # a union of words and numbers (price_compute: 'market' or a price)
    return _key_path(loc), f"{msg[0].lower()}{msg[1:]}{found}"


def _fields_of(model: type[BaseModel]) -> Any:
    """A function from a key path to the field names accepted there (for 'did you mean')."""

    def at(loc: tuple[Any, ...]) -> list[str]:
        cls: Any = model
        for part in loc:
            if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or part not in cls.model_fields:
                return []
            ann = cls.model_fields[part].annotation
            members = getattr(ann, "__args__", (ann,))
            candidates = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
            cls = candidates[0] if candidates else None
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return []
        shared = [name for name in cls.model_fields if name in Params.model_fields]  # every world's: named last
        return [name for name in cls.model_fields if name not in shared] + shared

    return at


def _scan_values(name: str, spec: Any, params_cls: type[Params], path: Path) -> list[Any]:
    *outer, last = name.split(".")  # "growth.increment": key increment of the parameter growth
    known = _fields_of(params_cls)(tuple(outer)) if outer else list(params_cls.model_fields)
    if last not in known:
        hint = difflib.get_close_matches(last, known, n=1)
        guess = f" (did you mean {'.'.join([*outer, hint[0]])!r}?)" if hint else ""
        raise ScenarioError(path, f"scan.{name}", f"not a parameter of this model{guess}")
    numbers = spec.get("range") if isinstance(spec, dict) else None
    if numbers is not None and not (isinstance(numbers, list) and len(numbers) == 3 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)):
        raise ScenarioError(path, f"scan.{name}.range", f"expected [start, stop, step], three numbers; got "
                                                        f"{_describe(numbers)}")
    try:
        if isinstance(spec, list):
            if not spec:
                raise ValueError("expected at least one value")
            return spec
        if isinstance(spec, dict) and "range" in spec:
            return RangeGrid.model_validate(spec).values()
        if isinstance(spec, dict):
            return Values.model_validate(spec).values()
    except ValidationError as exc:
        key, message = _first_error(exc, ("scan", name), lambda loc: ["linspace", "logspace", "range"])
        raise ScenarioError(path, key, message) from None
    except ValueError as exc:
        raise ScenarioError(path, f"scan.{name}", str(exc)) from None
    raise ScenarioError(path, f"scan.{name}",
                        f"expected a list of values, or one of linspace/logspace/range; got {_describe(spec)}")


def parse(data: Any, path: Path | str = "<scenario>") -> Scenario:
    """Validate an already-loaded YAML document as a scenario."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ScenarioError(path, "", f"expected a mapping of scenario keys (model, title, seed, params, steps), "
                                      f"got {type(data).__name__}")
    try:
        raw = _File.model_validate(data)
    except ValidationError as exc:
        key, message = _first_error(exc, (), _fields_of(_File))
        raise ScenarioError(path, key, message) from None
    known = worlds()
    if raw.model not in known:
        hint = difflib.get_close_matches(raw.model, list(known), n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ScenarioError(path, "model", f"unknown model {raw.model!r}{guess}; expected one of {sorted(known)} "
                                           f"({UNREGISTERED})")
    params_cls = known[raw.model].params_class()
    try:
        params = params_cls.model_validate(raw.params)
    except ValidationError as exc:
        key, message = _first_error(exc, ("params",), lambda loc: _fields_of(params_cls)(loc[1:]))
        raise ScenarioError(path, key, message) from None
    scan, repeats, series = None, 1, False
    if raw.scan is not None:
        scan_spec = dict(raw.scan)
        repeats = scan_spec.pop("repeats", 1)
        if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
            raise ScenarioError(path, "scan.repeats", f"expected an integer >= 1, got {_describe(repeats)}")
        series = scan_spec.pop("series", False)
        if not isinstance(series, bool):
            raise ScenarioError(path, "scan.series", f"expected true (one row per collected step) or false (one row "
                                                     f"per point and repeat), got {_describe(series)}")
        scan = {name: _scan_values(name, spec, params_cls, path) for name, spec in scan_spec.items()}
        points = math.prod(len(values) for values in scan.values()) * repeats
        if points > MAX_VALUES:
            raise ScenarioError(path, "scan", f"{points:,} runs (grid points x repeats), expected at most "
                                              f"{MAX_VALUES:,}")
        for i, point in enumerate(itertools.product(*scan.values())):
            overrides = dict(zip(scan, point, strict=True))
            try:
                params_cls.resolve(params, **overrides)
            except ValidationError as exc:
                key, message = _first_error(exc, ("scan",), lambda loc: [])
                raise ScenarioError(path, key, f"{message} (grid point {i}: {overrides})") from None
    return Scenario(path, raw.model, raw.title, raw.description, raw.seed, params, raw.steps, scan, repeats, series)


def with_data_dir(scenario: Scenario, data_dir: str | Path) -> Scenario:
    """The scenario reading its data set from `data_dir` (`--data-dir`); a one-line error if its world reads none."""
    if "data_dir" not in type(scenario.params).model_fields:
        raise ScenarioError(scenario.path, "--data-dir", f"the {scenario.model!r} world reads no data set")
    try:
        params = type(scenario.params).resolve(scenario.params, data_dir=str(data_dir))
    except ValidationError as exc:
        key, message = _first_error(exc, ("params",), lambda loc: [])
        raise ScenarioError(scenario.path, key, message) from None
    return Scenario(**{**scenario.__dict__, "params": params})


class _ScenarioLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last one silently), and
    reading plain words and numbers as YAML 1.2 does: `1e-3` is a number (YAML 1.1 needs `1.0e-3`), and only
    true and false are booleans (YAML 1.1 also reads yes, no, on and off so, which turned `ledger: off` into false)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                      list("tTfF"))
_ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                      re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                                      list("-+0123456789"))


def load(path: Path | str) -> Scenario:
    """Read and validate a scenario file; a shipped scenario may be named by its stem ('sgd_pit_escape'), also
    where a folder of that name is in the way (a run's output folder often is)."""
    if not str(path).strip():
        raise ScenarioError(Path("''"), "", "an empty name; expected a scenario YAML file, or the name of a shipped "
                                          "scenario: see `optiscape list`")
    path = Path(path)
    if not path.is_file() and not path.suffix and (not path.exists() or path.name in {p.stem for p in shipped()}):
        names = {p.stem: p for p in shipped()}
        if path.name not in names:
            hint = difflib.get_close_matches(path.name, list(names), n=1)
            guess = f"did you mean {hint[0]!r}? " if hint else ""
            raise ScenarioError(path, "", f"no such file or shipped scenario ({guess}expected a scenario YAML file, "
                                          "or the name of a shipped scenario: see `optiscape list`)")
        path = names[path.name]
    if not path.exists():
        raise ScenarioError(path, "", "file not found (expected a scenario YAML file, or the name of a shipped "
                                      "scenario: see `optiscape list`)")
    if path.is_dir():
        raise ScenarioError(path, "", "is a directory; expected a scenario YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, "", f"cannot be read as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        data = yaml.load(text, Loader=_ScenarioLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ScenarioError(path, "", f"not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ScenarioError(path, "", "not valid YAML: lists or mappings nested too deeply to read") from None
    return parse(data, path)


def heading(path: Path | str) -> tuple[str, str]:
    """A scenario file's `model` and `title` as written, without validating it (what `optiscape list` shows)."""
    # libyaml's loader when PyYAML has it: listing reads every shipped file.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)
    data = data if isinstance(data, dict) else {}
    return str(data.get("model", "?")), str(data.get("title", ""))


def shipped() -> list[Path]:
    """The scenario files that ship with optiscape and with installed plug-in worlds, sorted by name; where two
    have one name, optiscape's own (else the first world's) is the one the name runs."""
    folders = [SHIPPED] + [Path(str(resources.files(entry.scenarios))) for entry in worlds().values()
                           if entry.scenarios]
    by_name: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            by_name.setdefault(path.stem, path)
    return sorted(by_name.values(), key=lambda path: path.name)
