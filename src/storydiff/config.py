"""User configuration of boilerplate stripping: `.storydiff.toml` or `[tool.storydiff]` in pyproject.toml.

Searched upward from the directory that holds the corpus: the first directory with a
`.storydiff.toml`, or with a `pyproject.toml` that has a `[tool.storydiff]` table, wins. The
file names the rule pack to start from, rules to disable and rules to add:

    pack = "news"
    disable = ["byline"]

    [[rules]]
    name = "planet-footer"
    description = "The Daily Planet's footer."
    pattern = '^The Daily Planet, Metropolis$'
    hints = ["^the daily planet"]

    [repeated-lines]
    min-documents = 5

Every problem is one line naming the file, the rule and what is wrong (a ConfigError).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .boilerplate import PACKS, REPEATED_LINE, Rule, UserRule
from .errors import ConfigError
from .safe_paths import open_regular_file
from .settings import (
    DEFAULT_REPEATED_MAX_DOCUMENT_SHARE,
    DEFAULT_REPEATED_MIN_DOCUMENTS,
    DEFAULT_REPEATED_MIN_SHARE,
    DEFAULT_REPEATED_MIN_WORDS,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAMES = (".storydiff.toml", "pyproject.toml")
_RULE_KEYS = {
    "name": str,
    "description": str,
    "pattern": str,
    "hints": list,
    "first_line_only": bool,
    "last_line_only": bool,
    "min_words": int,
    "max_words": int,
    "takes_title_above": bool,
    "block_max_words": int,
    "end": str,
    "block_max_lines": int,
}
# `corpus` is where `storydiff check` looks (configured_corpus); the rules ignore it.
_TOP_KEYS = ("pack", "disable", "rules", "repeated_lines", "corpus")
_REPEATED_KEYS = {"min_words": int, "min_documents": int, "min_share": float, "max_document_share": float}


@dataclass(frozen=True)
class RulesConfig:
    """What a configuration file says about stripping (the defaults when there is none)."""

    source: str | None = None  # the file, as found
    pack: str = "news"
    rules: tuple[Rule, ...] = ()
    disable: tuple[str, ...] = ()
    repeated_min_words: int = DEFAULT_REPEATED_MIN_WORDS
    repeated_min_documents: int = DEFAULT_REPEATED_MIN_DOCUMENTS
    repeated_min_share: float = DEFAULT_REPEATED_MIN_SHARE
    repeated_max_document_share: float = DEFAULT_REPEATED_MAX_DOCUMENT_SHARE

    def resolve(self, pack: str | None = None) -> tuple[Rule, ...]:
        """The rules to strip with: the pack's (less the disabled ones), each user rule
        replacing the pack's rule of the same name or added after them."""
        chosen = pack or self.pack
        if chosen not in PACKS:
            raise ConfigError(f"unknown rule pack {chosen!r}; choose one of: {', '.join(sorted(PACKS))}")
        user = {rule.name: rule for rule in self.rules}
        resolved = [user.pop(rule.name, rule) for rule in PACKS[chosen]]
        resolved.extend(rule for rule in self.rules if rule.name in user)
        return tuple(rule for rule in resolved if rule.name not in self.disable)

    @property
    def repeated_lines(self) -> bool:
        return REPEATED_LINE not in self.disable


def find_config(paths: Sequence[str]) -> str | None:
    """The configuration file for a corpus given as `paths`, searched upward from the
    directory that holds them all; None if there is none. URLs are not searched from (name
    the file with --config)."""
    local = [path for path in paths if "://" not in path]  # URLs (s3://...) have no directory to search
    if not local:
        return None
    directories = [path if os.path.isdir(path) else os.path.dirname(path) or "." for path in local]
    try:
        directory = os.path.commonpath([os.path.abspath(item) for item in directories])
    except ValueError:  # paths on different drives
        directory = os.path.abspath(directories[0])
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and (name != "pyproject.toml" or _has_tool_table(candidate)):
                return _display(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _display(path: str) -> str:
    """A found path as the user would type it: relative below the current directory."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _has_tool_table(path: str) -> bool:
    """Whether a pyproject.toml configures storydiff. One that cannot be read is somebody else's
    business unless it names storydiff: a broken project file above the corpus is not ours."""
    try:
        document = _read_toml(path)
    except ConfigError:
        try:
            with open_regular_file(path) as handle:
                if b"storydiff" not in handle.read():
                    return False
        except OSError:
            return False
        raise
    tool = document.get("tool")
    return isinstance(tool, dict) and "storydiff" in tool


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open_regular_file(path) as handle:
            document: dict[str, Any] = tomllib.load(handle)
            return document
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 (byte {error.start + 1}); TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def configured_corpus(directory: str = ".") -> str | None:
    """`corpus` from [tool.storydiff] in `directory`'s pyproject.toml (where `storydiff check`
    looks), relative to that file, if set."""
    path = os.path.join(directory, "pyproject.toml")
    if not os.path.isfile(path):
        return None
    try:
        with open_regular_file(path) as handle:
            if b"storydiff" not in handle.read():  # a project file that is not ours, broken or not
                return None
    except OSError:
        return None
    table = _read_toml(path).get("tool", {}).get("storydiff", {})
    value = table.get("corpus") if isinstance(table, dict) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: [tool.storydiff] corpus must be a path string, got {value!r}")
    return os.path.normpath(os.path.join(directory, value))


def load_config(path: str) -> RulesConfig:
    """Read and check a configuration file (`.storydiff.toml`, or pyproject.toml's table)."""
    document = _read_toml(path)
    if os.path.basename(path) == "pyproject.toml":
        table = document.get("tool", {}).get("storydiff", {})
        where = f"{path}: [tool.storydiff]"
    else:
        table, where = document, path
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    table = _kebab_to_snake(table, where, _TOP_KEYS, "setting")

    pack = table.get("pack", "news")
    if not isinstance(pack, str):
        raise ConfigError(f"{where}: 'pack' must be a string, got {pack!r}")
    if pack not in PACKS:
        raise ConfigError(f"{where}: unknown rule pack {pack!r}; choose one of: {', '.join(sorted(PACKS))}")

    rules = tuple(_rule(path, item, number) for number, item in enumerate(_list(table, "rules", where), 1))
    names = [rule.name for rule in rules]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{path}: rule {name!r}: defined twice")

    disable = _list(table, "disable", where)
    known = {rule.name for pack_rules in PACKS.values() for rule in pack_rules} | set(names) | {REPEATED_LINE}
    for name in disable:
        if not isinstance(name, str):
            raise ConfigError(f"{where}: 'disable' must list rule names, got {name!r}")
        if name not in known:
            raise ConfigError(
                f"{path}: rule {name!r}: cannot disable an unknown rule (see `storydiff rules` for the names)"
            )

    repeated = table.get("repeated_lines", {})
    if not isinstance(repeated, dict):
        raise ConfigError(f"{where}: 'repeated-lines' must be a table, got {repeated!r}")
    repeated = _kebab_to_snake(repeated, f"{where}: [repeated-lines]", tuple(_REPEATED_KEYS), "setting")
    for key, expected in _REPEATED_KEYS.items():
        if key in repeated:
            _check_type(repeated[key], expected, f"{where}: repeated-lines: '{_kebab(key)}'")
    min_words = repeated.get("min_words", DEFAULT_REPEATED_MIN_WORDS)
    min_documents = repeated.get("min_documents", DEFAULT_REPEATED_MIN_DOCUMENTS)
    min_share = float(repeated.get("min_share", DEFAULT_REPEATED_MIN_SHARE))
    max_document_share = float(repeated.get("max_document_share", DEFAULT_REPEATED_MAX_DOCUMENT_SHARE))
    if min_words < 1 or min_documents < 2 or not 0.0 <= min_share <= 1.0:
        raise ConfigError(
            f"{where}: repeated-lines: need min-words >= 1, min-documents >= 2 and min-share "
            f"between 0 and 1, got {min_words}, {min_documents} and {min_share}"
        )
    if not 0.0 < max_document_share <= 1.0:
        raise ConfigError(
            f"{where}: repeated-lines: max-document-share must be above 0 and at most 1, "
            f"got {max_document_share}"
        )
    return RulesConfig(
        source=path,
        pack=pack,
        rules=rules,
        disable=tuple(disable),
        repeated_min_words=min_words,
        repeated_min_documents=min_documents,
        repeated_min_share=min_share,
        repeated_max_document_share=max_document_share,
    )


def _rule(path: str, item: object, number: int) -> Rule:
    if not isinstance(item, dict):
        raise ConfigError(f"{path}: rule #{number} must be a table ([[rules]]), got {item!r}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: rule #{number} has no 'name'")
    where = f"{path}: rule {name!r}"
    values = _kebab_to_snake(item, where, tuple(_RULE_KEYS), "key")
    for key in ("description", "pattern"):
        if key not in values:
            raise ConfigError(f"{where}: missing '{key}'")
    for key, value in values.items():
        _check_type(value, _RULE_KEYS[key], f"{where}: '{_kebab(key)}'")
    if "\n" in values["description"]:
        raise ConfigError(f"{where}: 'description' must be one line")
    hints = values.get("hints", [])
    for hint in hints:
        if not isinstance(hint, str):
            raise ConfigError(f"{where}: 'hints' must list strings, got {hint!r}")
    values["hints"] = tuple(hints)
    try:
        return UserRule(**values)
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def _check_type(value: object, expected: type, where: str) -> None:
    names = {str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "a list"}
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise ConfigError(f"{where} must be {names[expected]}, got {value!r}")


def _list(table: dict[str, Any], key: str, where: str) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: '{_kebab(key)}' must be a list, got {value!r}")
    return value


def _kebab(key: str) -> str:
    return key.replace("_", "-")


def _kebab_to_snake(table: dict[str, Any], where: str, known: Sequence[str], what: str) -> dict[str, Any]:
    """The table with keys as Python names ("min-words" and "min_words" both accepted)."""
    converted: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            expected = ", ".join(_kebab(item) for item in known)
            raise ConfigError(f"{where}: unknown {what} {key!r} (expected one of: {expected})")
        converted[name] = value
    return converted
