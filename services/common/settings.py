"""Typed settings filled from command-line flags and environment variables.

Each service declares one frozen dataclass; every field becomes a flag
(`max_batch_size` -> `--max-batch-size`) and an environment variable
(`FACESTREAM_MAX_BATCH_SIZE`), so compose files and Kubernetes manifests use the same
names as the command line. A flag wins over the environment, which wins over the default.
The field's `help` metadata is the flag's help text.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

ENV_PREFIX = "FACESTREAM_"

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def setting(default: Any, help: str, choices: Sequence[str] | None = None) -> Any:
    """A dataclass field with help text (and optional choices) for its flag."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _converter(kind: type) -> Any:
    return _parse_bool if kind is bool else kind


def load_settings(cls: type[T], argv: Sequence[str] | None = None,
                  environ: Mapping[str, str] | None = None, prog: str | None = None) -> T:
    """Build `cls` from flags, then environment variables, then defaults, and validate it."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    parser = argparse.ArgumentParser(prog=prog, description=cls.__doc__)
    for field in dataclasses.fields(cls):
        parser.add_argument(
            flag_name(field.name), dest=field.name, default=None, metavar=field.name.upper(),
            help=f"{field.metadata.get('help', '')} (env {env_name(field.name)}, default {field.default!r})",
        )
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        raw = getattr(args, field.name)
        source = flag_name(field.name)
        if raw is None and env_name(field.name) in environ:
            raw, source = environ[env_name(field.name)], env_name(field.name)
        if raw is None:
            continue
        try:
            values[field.name] = _converter(hints[field.name])(raw)
        except ValueError as error:
            raise SettingsError(f"{source}={raw!r}: {error}") from None
        choices = field.metadata.get("choices")
        if choices and values[field.name] not in choices:
            raise SettingsError(f"{source}={raw!r}: must be one of {', '.join(choices)}")
    settings = cls(**values)
    validate = getattr(settings, "validate", None)
    if validate is not None:
        validate()
    return settings


def require(condition: bool, field_name: str, value: Any, expectation: str) -> None:
    """Raise a SettingsError naming the flag, the env variable and the bad value."""
    if not condition:
        raise SettingsError(
            f"{flag_name(field_name)} / {env_name(field_name)} = {value!r}: {expectation}"
        )
