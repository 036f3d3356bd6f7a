"""The JSON Schema of `.escape-bot.toml`, and its errors as one line naming the key. Pure.

The schema is what `parse_config` validates the parsed TOML against before building the records,
and what docs/escape-bot.schema.json publishes for editors (tests/test_config.py checks they are
the same). Each node may carry `errorMessage` (the ajv-errors / VS Code convention: a template, or
one per JSON Schema keyword) with `{type}` (the kind of value found) and `{value}` (its repr).
What a schema cannot say (a glob's syntax, a refused GOFLAGS entry, a name used twice) is checked
by bot/config.py after this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.gc.model import Cause, Kind

SCHEMA_ID = "https://escape-bot.invalid/escape-bot.schema.json"

_BOOL = {"type": "boolean", "errorMessage": "expected true or false, got {type}"}
_STRING = {"type": "string", "errorMessage": "expected a string, got {type}"}


def _strings(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "type": "array",
        "items": _STRING,
        "errorMessage": {"type": "expected a list of strings, got {type}"},
        **extra,
    }


def _bool(description: str) -> dict[str, Any]:
    return {"description": description, **_BOOL}


def _choice(description: str, values: Sequence[str], message: str) -> dict[str, Any]:
    return {
        "description": description,
        "type": "string",
        "enum": list(values),
        "errorMessage": {"type": "expected a string, got {type}", "enum": message + ", got {value}"},
    }


def _table(description: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        **extra,
        "properties": properties,
        "errorMessage": {"type": "expected a table, got {type}"},
    }


def _tables(key: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "array",
        "items": item,
        **extra,
        "errorMessage": {"type": f"expected an array of tables ([[{key}]]), got {{type}}"},
    }


_MAX_NEW = {
    "description": 'How many new escapes may pass: a whole number, or "never".',
    "anyOf": [{"type": "integer", "minimum": 0}, {"const": "never"}],
    "errorMessage": 'expected a whole number ≥ 0 or "never", got {value}',
}
_CAUSES = [c.value for c in Cause]
_CAUSE = {
    "description": "An escape cause (docs/causes.md).",
    "type": "string",
    "enum": _CAUSES,
    "errorMessage": {
        "type": "expected a string, got {type}",
        "enum": f"unknown cause {{value}} (one of: {', '.join(_CAUSES)})",
    },
}
_KINDS = [k.value for k in Kind]
_BUILD_NAME = {
    "description": "The configuration's name (reports, check runs): letters, digits, '.', '_', '-'.",
    "type": "string",
    "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
    "errorMessage": {
        "type": "expected a string, got {type}",
        "pattern": "{value} must be 1-64 letters, digits, '.', '_' or '-'",
    },
}
_BUILD_CONFIG = _table(
    "One build configuration, collected and reported on its own.",
    {
        "name": _BUILD_NAME,
        "tags": _strings("Build tags."),
        "goos": {"description": "Target GOOS.", **_STRING},
        "goarch": {"description": "Target GOARCH.", **_STRING},
    },
)
_BUILDS_MESSAGE = "at least one [[{key}]] table, or none at all for the default"
_BUILD_SETTINGS = _table(
    "Which modules are built, and in what Go environment.",
    {
        "modules": _strings(
            "Module globs (directories or module paths); a leading '!' leaves modules out.",
            minItems=1,
            errorMessage={
                "type": "expected a list of strings, got {type}",
                "minItems": 'at least one glob (["**"]: every module)',
            },
        ),
        "on-failure": _choice(
            "A module that does not build: report it, or fail the run.",
            ("report", "fail"),
            'expected "report" or "fail"',
        ),
        "toolchain": _choice(
            "GOTOOLCHAIN: the installed go (local) or the one go.mod asks for (auto).",
            ("local", "auto"),
            'expected "local" or "auto"',
        ),
        "goflags": _strings("GOFLAGS entries, one flag per entry (some are refused)."),
        "cgo": _bool("CGO_ENABLED (default: Go's own)."),
        "configuration": {
            "description": "Build configurations, each reported on its own.",
            **_tables(
                "build.configuration",
                _BUILD_CONFIG,
                minItems=1,
            ),
        },
    },
)
_BUDGET = _table(
    "How many new escapes a package glob and/or cause may add.",
    {
        "package": {"description": "Package glob.", **_STRING},
        "cause": _CAUSE,
        "max-new": _MAX_NEW,
    },
    required=["max-new"],
    anyOf=[{"required": ["package"]}, {"required": ["cause"]}],
)
_BUDGET["errorMessage"] = {
    "type": "expected a table, got {type}",
    "required": 'required (a whole number or "never")',
    "anyOf": "needs a package glob, a cause, or both",
}
_GATE = _table(
    "What fails the gate.",
    {
        "fail-on": _choice("Fail on new escapes, or never.", ("new", "never"), 'expected "new" or "never"'),
        "kinds": {
            "description": "The kinds of record the gate counts.",
            "type": "array",
            "items": {
                "type": "string",
                "enum": _KINDS,
                "errorMessage": {
                    "type": "expected a string, got {type}",
                    "enum": f"unknown kind {{value}} (one of: {', '.join(_KINDS)})",
                },
            },
            "errorMessage": {"type": "expected a list of kinds, got {type}"},
        },
        "max-new": _MAX_NEW,
        "budget": {"description": "Budgets by package glob and/or cause.", **_tables("gate.budget", _BUDGET)},
        "constants": _bool("Count constants boxed into interfaces (they allocate nothing)."),
        "generated": _bool("Gate files with a `// Code generated ... DO NOT EDIT.` header."),
        "pr-suppressions": _bool("--mode publish: count //escape-bot:allow comments the PR adds."),
        "hot-only": {
            "description": "Only new escapes in functions with at least this share of CPU samples block.",
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "errorMessage": "expected a share of CPU samples from 0 to 1 (0.01: 1 %), got {value}",
        },
    },
)
_ALLOW = _table(
    "A new escape shown as allowed, never gated.",
    {
        "package": {"description": "Package glob.", **_STRING},
        "function": {"description": "Function glob.", **_STRING},
        "expression": {"description": "The escaping expression, as the compiler prints it.", **_STRING},
        "cause": _CAUSE,
        "reason": {
            "description": "Why the escape is allowed (shown in the report).",
            "type": "string",
            "pattern": "\\S",
            "errorMessage": {
                "type": "expected a string, got {type}",
                "pattern": "must say why the escape is allowed",
            },
        },
    },
    required=["package", "function", "reason"],
)
_ALLOW["errorMessage"] = {"type": "expected a table, got {type}", "required": "required"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "escape-bot configuration (.escape-bot.toml)",
    **_table(
        "escape-bot's configuration file (docs/configuration.md).",
        {
            "include": _strings("Only escapes in files these globs match are reported."),
            "exclude": _strings("Escapes in files these globs match are not reported."),
            "include-tests": _bool("Also collect escapes in _test.go files."),
            "build": {
                "description": "[build]: build settings; [[build]]: build configurations.",
                "type": ["object", "array"],
                "if": {"type": "object"},
                "then": _BUILD_SETTINGS,
                "else": _tables("build", _BUILD_CONFIG, minItems=1),
                "errorMessage": {"type": "expected a table or an array of tables, got {type}"},
            },
            "gate": _GATE,
            "allow": {"description": "The allow-list.", **_tables("allow", _ALLOW)},
            "accept": _table(
                "The label that accepts a failing gate.",
                {"label": {"description": "The label; empty: acceptance off.", **_STRING}},
            ),
            "comment": _table(
                "The sticky pull-request comment.",
                {
                    "when": _choice(
                        "When the comment is posted.",
                        ("always", "changes", "failure", "never"),
                        "expected always, changes, failure or never",
                    ),
                    "outdated": _choice(
                        "What becomes of an outdated comment.",
                        ("edit", "minimize-and-repost"),
                        "expected edit or minimize-and-repost",
                    ),
                },
            ),
            "rank": _table(
                "Profiles that rank new escapes by how hot they are.",
                {
                    "profiles": _strings("CPU or memory profiles, relative to the repository root."),
                    "pgo": _bool("With no profiles: the repository's default.pgo files."),
                },
            ),
        },
    ),
}


def _key(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _kind_of(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip


def first_error(data: dict[str, Any]) -> str | None:
    """The first way `data` breaks the schema, as `key: message` (None when it does not)."""
    import jsonschema  # only when there is a file to check: `--help` and defaults skip the import

    for error in _validator(jsonschema)(SCHEMA).iter_errors(data):
        return _message(error)
    return None


def _validator(jsonschema: Any) -> Any:
    """Draft 2020-12 where an integer is an `int` (TOML's `1.0` is a float, as before)."""
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)


def _message(error: Any) -> str:
    path = list(error.absolute_path)
    keyword = error.validator
    if keyword == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = next(k for k in error.instance if k not in allowed)
        return f"{_key([*path, extra])}: unknown key (allowed: {', '.join(allowed)})"
    template = error.schema.get("errorMessage")
    if isinstance(template, dict):
        template = template.get(keyword)
    if keyword == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        path = [*path, missing]
    if keyword == "minItems" and template is None:  # [[build]] and [[build.configuration]]
        template = _BUILDS_MESSAGE.replace("{key}", _key(p for p in path if isinstance(p, str)))
    text = (template or error.message).replace("{type}", _kind_of(error.instance))
    return f"{_key(path)}: {text.replace('{value}', repr(error.instance))}"
