"""A second reader for Spanish messages the crisis patterns let through (issue 14).

Three blind Spanish holdouts in a row showed the same thing: rules written from one set of
phrasings catch about 71% of the at-risk messages of the next set, because people say the
same thing in ways no list foresees ("me muero por cortarme otra vez", "ya no respawneo").
So, when the patterns in dialogs/safety.py found nothing in a message that reads as Spanish,
this reader scores it with a linear model over its words, word pairs and letter groups
(a logistic regression, trained on every labelled Spanish table in tests/data/), and a
message that scores high is a **concern**: the person is asked, gently and directly. The
model never makes a crisis and never silences what the patterns found; English messages
never reach it (English stays at the standard its patterns reached).

Shapes: features are hashed into 2**BITS buckets; the weights are a float32 array stored
little-endian in dialogs/data/safety_model_es.bin (the bias first), 1 MB. Scoring a
message costs one pass over its words; a long message is scored in windows of a few
sentences, so a risk said in the middle of a diary is not diluted by the rest.

Train again whenever a Spanish table changes (tests/test_safety_model.py fails until then):

    python -m dialogs.safety_model train

Training is deterministic (fixed order, no randomness outside a seeded shuffle), so the same
tables always give the same file. Pure Python; no numpy, no I/O except loading the file.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
import sys
import zlib
from array import array
from collections.abc import Sequence
from pathlib import Path

BITS = 18
SIZE = 1 << BITS
WEIGHTS_FILE = Path(__file__).parent / "data" / "safety_model_es.bin"
DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
# Every labelled Spanish table: the one written first, and the three holdouts once measured
# (a holdout is trained on only after its honest figure was taken; see docs/safety.md).
TRAINING_FILES = (
    "crisis_phrases_es.yaml",
    "safety_holdout_es.yaml",
    "safety_holdout_es_2.yaml",
    "safety_holdout_es_3.yaml",
    "safety_train_es.yaml",  # written for training, with many ordinary rows sharing risk words
    "safety_train_es_ordinary.yaml",  # what lonely, sad, self-critical people write in dialogs
)
# Probability from which a message the patterns let through is a concern. Chosen on the third
# Spanish holdout with the model trained on the other tables (docs/safety.md): at 0.9 the
# screen caught 88.5% of its at-risk messages (70.8% without the model), at 0.4 points more
# false alarms (8.2%); 0.8 caught 90.4% at 8.6%, 0.95 84.7% at 8.2%.
THRESHOLD = 0.9
# A long message is read in windows of about this many words (whole sentences).
WINDOW_WORDS = 40


# Words that are Spanish and not English (accents folded, as the screen reads them). A
# message is read by this model when it holds more of these than of the English ones.
def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_SPANISH = _set(
    "que q k ke de la el los las y en por para con mi mis ya pero porque xq es lo una un se "
    "te nada todo toda todos nadie estoy quiero kiero tengo muy mas cuando como esta este eso "
    "esto hoy vida morir muerte nunca siempre solo sola algo alguien aqui alla donde hacer "
    "mejor peor asi otra otro vez veces ganas dia dias noche manana cosas tiempo gente casa "
    "soy eres estas voy vas puedo siento creo pienso sin del al le les nos ni tu ti yo usted "
    "vos sos tenes queres bien mal ahora despues antes tambien hasta desde sobre"
)
_ENGLISH = _set(
    "the i im and to of you it is my that in this was for with have be just so me but "
    "what like dont not are at want feel can know all if about would its been do get"
)


def looks_spanish(words: Sequence[str]) -> bool:
    """True when more of `words` (as dialogs.safety.normalise gives them) are Spanish
    markers than English ones, and at least one is."""
    spanish = sum(word in _SPANISH for word in words)
    return spanish > 0 and spanish > sum(word in _ENGLISH for word in words)


def _hashed(feature: str) -> int:
    return zlib.crc32(feature.encode()) & (SIZE - 1)


@functools.lru_cache(maxsize=4096)
def _word(word: str) -> tuple[int, ...]:
    """The buckets of one word: itself and its 3- to 5-letter groups (so "matarme",
    "matandome" and a typo "matarrme" share most of theirs). Cached: words repeat, within a
    message and across messages, and these are most of a message's features."""
    padded = f"_{word}_"
    ends = range(len(padded) + 1)
    grams = {"c:" + padded[end - size : end] for size in (3, 4, 5) for end in ends[size:]}
    return tuple({_hashed("w:" + word), *map(_hashed, grams)})


def _sentence(sentence: str) -> set[int]:
    """The buckets of one sentence: its words (above), word pairs (with the sentence's
    edges) and pairs one or two words apart."""
    words = sentence.split()
    out: set[int] = set()
    for word in words:
        out.update(_word(word))
    edged = ["<s>", *words, "</s>"]
    out.update(_hashed(f"b:{a} {b}") for a, b in itertools.pairwise(edged))
    for gap in (2, 3):
        out.update(_hashed(f"s:{a} {b}") for a, b in zip(words, words[gap:], strict=False))
    return out


def windows(normalised: str) -> list[set[int]]:
    """The buckets of each window of whole sentences (about WINDOW_WORDS words each, one
    sentence shared with the next window); one window for a short message."""
    sentences = [s for s in normalised.split(" . ") if s.strip()]
    if sum(len(s.split()) for s in sentences) <= WINDOW_WORDS:
        return [set().union(*map(_sentence, sentences))] if sentences else []
    per = [(len(s.split()), _sentence(s)) for s in sentences]
    out: list[set[int]] = []
    start = 0
    while start < len(per):
        end, size = start, 0
        while end < len(per) and (end == start or size + per[end][0] <= WINDOW_WORDS):
            size += per[end][0]
            end += 1
        out.append(set().union(*(b for _n, b in per[start:end])))
        if end >= len(per):
            break
        start = max(start + 1, end - 1)
    return out


def _probability(weights: array[float], bias: float, buckets: set[int]) -> float:
    scale = 1.0 / math.sqrt(len(buckets)) if buckets else 0.0
    z = bias + scale * sum(weights[b] for b in buckets)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


class Model:
    """Weights (SIZE floats) and a bias; `probability` of a normalised text, 0..1."""

    def __init__(self, weights: array[float], bias: float) -> None:
        if len(weights) != SIZE:
            raise ValueError(f"expected {SIZE} weights, got {len(weights)}")
        self.weights, self.bias = weights, bias

    def probability(self, normalised: str) -> float:
        """The highest probability of any window of the text (0.0 for an empty one)."""
        found = windows(normalised)
        return max((_probability(self.weights, self.bias, b) for b in found), default=0.0)

    def to_bytes(self) -> bytes:
        """The bias then the weights, float32 little-endian: the stored file's bytes."""
        out = array("f", [self.bias])
        out.extend(self.weights)
        if sys.byteorder != "little":
            out.byteswap()
        return out.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """The model in `data` (as to_bytes writes it). Raises ValueError on a wrong size."""
        values = array("f")
        values.frombytes(data)
        if sys.byteorder != "little":
            values.byteswap()
        return cls(values[1:], values[0])


_MODEL: Model | None = None


def model() -> Model:
    """The stored model, read once (about 2 ms; 1 MB held)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = Model.from_bytes(WEIGHTS_FILE.read_bytes())
    return _MODEL


def flags(normalised: str) -> bool:
    """True when a normalised message reads as Spanish and the model scores it at or above
    THRESHOLD: ask the person (a concern)."""
    words = normalised.split()
    return looks_spanish(words) and model().probability(normalised) >= THRESHOLD


# --- training ----------------------------------------------------------------------------


def train(rows: Sequence[tuple[str, bool]], epochs: int = 30, l2: float = 1e-4) -> Model:
    """A logistic regression on (normalised text, at risk) pairs: AdaGrad, learning rate 0.5,
    L2 `l2`, `epochs` passes in an order shuffled with a fixed seed. Deterministic."""
    weights = array("d", bytes(8 * SIZE))
    squares = array("d", [1e-8]) * SIZE
    bias, bias_square = 0.0, 1e-8
    data = []
    for text, risky in rows:
        # A labelled row is one thought, however long: trained on whole.
        found: set[int] = set().union(*map(_sentence, text.split(" . ")))
        if found:
            data.append((sorted(found), 1.0 / math.sqrt(len(found)), float(risky)))
    order = random.Random(0)
    for _epoch in range(epochs):
        order.shuffle(data)
        for buckets, scale, target in data:
            z = bias + scale * sum(weights[b] for b in buckets)
            error = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))) - target
            for b in buckets:
                step = error * scale + l2 * weights[b]
                squares[b] += step * step
                weights[b] -= 0.5 * step / math.sqrt(squares[b])
            bias_square += error * error
            bias -= 0.5 * error / math.sqrt(bias_square)
    return Model(array("f", weights), bias)


def training_rows(files: Sequence[str] = TRAINING_FILES) -> list[tuple[str, bool]]:
    """(normalised text, at risk) for every row of the labelled Spanish tables."""
    from dialogs.safety import normalise  # the screen imports this module
    from dialogs.yaml_data import load_yaml

    rows = []
    for name in files:
        for item in load_yaml((DATA_DIR / name).read_text("utf-8"))["phrases"]:
            rows.append((normalise(str(item["text"])), item["level"] != "none"))
    return rows


def data_digest(files: Sequence[str] = TRAINING_FILES) -> str:
    """sha256 of the training tables, in order (the test compares it with the stored one)."""
    digest = hashlib.sha256()
    for name in files:
        digest.update((DATA_DIR / name).read_bytes())
    return digest.hexdigest()


def main(argv: Sequence[str]) -> int:
    """`train`: train on the Spanish tables, write the weights and the tables' digest."""
    if list(argv) != ["train"]:
        print("usage: python -m dialogs.safety_model train", file=sys.stderr)
        return 2
    rows = training_rows()
    print(f"training on {len(rows)} rows from {len(TRAINING_FILES)} tables...", flush=True)
    WEIGHTS_FILE.write_bytes(train(rows).to_bytes())
    WEIGHTS_FILE.with_suffix(".sha256").write_text(data_digest() + "\n")
    print(f"wrote {WEIGHTS_FILE.name} and its data digest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
