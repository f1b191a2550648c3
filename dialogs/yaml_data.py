"""YAML data files (dialogs, patterns, words, helplines) read with libyaml when PyYAML has it.

PyYAML's wheels ship libyaml; its loader reads the same documents several times faster
than the pure-Python one, which took a few hundred milliseconds of every start (issue 15).
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The document in `text` as plain data (dicts, lists, str, int, float, bool, None),
    as yaml.safe_load gives it. Raises yaml.YAMLError for malformed YAML."""
    return yaml.load(text, Loader=_LOADER)
