"""Crisis screening: runs on every free-text message before any dialog sees it."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import yaml

PATTERNS_FILE = Path(__file__).parent / "data" / "crisis_patterns.yaml"
_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_REPEATS = re.compile(r"([a-z])\1{2,}")


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    data = yaml.safe_load(PATTERNS_FILE.read_text("utf-8"))
    negations = re.compile("|".join(f"(?:{p})" for p in data["negations"]))
    crisis = re.compile("|".join(f"(?:{p})" for p in data["crisis"]))
    return negations, crisis


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_QUOTES))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_REPEATS.sub(r"\1", plain).split())


def is_crisis(text: str) -> bool:
    """True when the message may speak of suicide, self-harm or a goodbye."""
    negations, crisis = _patterns()
    cleaned = negations.sub(" ", normalise(text))
    return crisis.search(cleaned) is not None
