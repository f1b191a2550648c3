"""A second reader for Spanish messages, beside the crisis patterns (issue 14).

Three blind Spanish holdouts in a row showed the same thing: rules written from one set of
phrasings catch about 71% of the at-risk messages of the next set, because people say the
same thing in ways no list foresees ("me muero por cortarme otra vez", "ya no respawneo"),
and the patterns' false alarms come from words they cannot weigh in context. So a message
that reads as Spanish is also scored by two linear models over its words, word pairs and
letter groups (logistic regressions trained on every labelled Spanish table in tests/data/):
`risk` (at risk or not) and `crisis` (a crisis or not). dialogs/safety.py applies them in
four rules (docs/safety.md "The Spanish second reader"):

1. the patterns found nothing (and no negation or idiom of theirs) and `risk` >= THRESHOLD:
   a **concern** (the person is asked);
2. only the other languages' lines found something (they predate the Spanish patterns and
   know no Spanish negation or idiom) and `risk` < OTHER_LINES: **none**;
3. the patterns found something in a short message (at most WINDOW_WORDS words) and `risk`
   < VETO: one level lower (a crisis becomes a concern, asked; a concern becomes none);
4. the verdict is a concern and `crisis` >= CRISIS_THRESHOLD: a **crisis** (help first).

Rules 2 and 3 apply only to a message with no word of another language in it.
English and the neighbouring languages never reach the models; English stays at the
standard its patterns reached.

Shapes: features are hashed into 2**BITS buckets; each model is a float32 array stored
little-endian (the bias first, then SIZE weights), 1 MB each, in dialogs/data/. Scoring a
message costs one pass over its words (word features are cached); a long message is scored
in windows of a few sentences, so a risk said in the middle of a diary is not diluted.

Train again whenever a Spanish table changes (tests/test_safety_model.py fails until then):

    python -m dialogs.safety_model train

Training is deterministic (a shuffle with a fixed seed), so the same tables always give the
same files. Pure Python; no numpy, no I/O except loading the files on first use.
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
from dataclasses import dataclass
from pathlib import Path

BITS = 18
SIZE = 1 << BITS
WEIGHTS_FILE = Path(__file__).parent / "data" / "safety_model_es.bin"  # the risk model
CRISIS_FILE = Path(__file__).parent / "data" / "safety_model_es_crisis.bin"
DIGEST_FILE = Path(__file__).parent / "data" / "safety_model_es.sha256"
DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
# Every labelled Spanish table: the one written first, the holdouts once measured (a holdout
# is trained on only after its honest figure was taken; see docs/safety.md), and two tables
# written for training.
TRAINING_FILES = (
    "crisis_phrases_es.yaml",
    "safety_holdout_es.yaml",
    "safety_holdout_es_2.yaml",
    "safety_holdout_es_3.yaml",
    "safety_holdout_es_4.yaml",
    "safety_holdout_es_5.yaml",
    "safety_train_es.yaml",  # written for training, with many ordinary rows sharing risk words
    "safety_train_es_ordinary.yaml",  # what lonely, sad, self-critical people write in dialogs
    "safety_train_es_coping.yaml",  # the kind words, plans and reasons typed into a kit or plan
)
# Thresholds, chosen on the third and fourth Spanish holdouts with the models trained
# without them (the figures are in docs/safety.md). THRESHOLD: from which a message the
# patterns let through is a concern (on the third holdout, 0.9 caught 88.5% of at-risk
# messages, 70.8% without the models, at 0.4 points more false alarms). VETO: under which a
# pattern's verdict on a short message is lowered one level (0.02 took ordinary messages
# raising a crisis from 5.6% to 3.4% on the fourth holdout, losing no at-risk message).
# CRISIS_THRESHOLD: from which a concern is a crisis (0.7 took crises read as crises from
# 68.6% to 77.1% on the fourth holdout, from 75.2% to 86.7% on the third). OTHER_LINES:
# under which the other languages' lines alone are not believed (0.1 took false alarms
# from 8.2% to 6.9% on the fourth holdout and from 6.5% to 5.6% on the third, for 0.5
# points of recall on the third; 0.3 did no better on either).
THRESHOLD = 0.9
VETO = 0.02
CRISIS_THRESHOLD = 0.7
OTHER_LINES = 0.1
# A long message is read in windows of about this many words (whole sentences).
WINDOW_WORDS = 40


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that are Spanish and not English (accents folded, as the screen reads them). A
# message is read by the models when it holds more of these than of _OTHERS.
_SPANISH = _set(
    "que q k ke de la el los las y en por para con mi mis ya pero porque xq es lo una un se "
    "te nada todo toda todos nadie estoy quiero kiero tengo muy mas cuando como esta este eso "
    "esto hoy vida morir muerte nunca siempre solo sola algo alguien aqui alla donde hacer "
    "mejor peor asi otra otro vez veces ganas dia dias noche manana cosas tiempo gente casa "
    "soy eres estas voy vas puedo siento creo pienso sin del al le les nos ni tu ti yo usted "
    "vos sos tenes queres bien mal ahora despues antes tambien hasta desde sobre"
)
# English, and the neighbours whose words Spanish shares most (Portuguese, Italian, French):
# a message in those is read by their own patterns, not as Spanish. Only words Spanish does
# not also use ("me", "les", "os", "ja", "che", "na" are Spanish too).
_OTHERS = _set(
    "the i im and to of you it is my that in this was for with have be just so but what "
    "like dont not are at want feel can know all if about would its been do get ive id "
    "ill myself gonna going tonight kill die dead life will end ready really since em "
    "pra ele ela seu sua tenho fazer dele dela nao quero eu voce minha meu uma com mais "
    "muito estou vou tudo ninguem isso agora non voglio sono della per il ho sto piu "
    "anche questo tutto niente je veux suis pas mon et des une avec plus tout rien moi "
    "di nessuno nuovo sempre mai ich nicht und ist das die der mich mir ein eine "
    "hat alles keinen mehr auf zu"
)


def _markers(words: Sequence[str]) -> tuple[int, int]:
    """How many of `words` are Spanish markers, and how many are other languages' ones."""
    return sum(word in _SPANISH for word in words), sum(word in _OTHERS for word in words)


def looks_spanish(words: Sequence[str]) -> bool:
    """True when more of `words` (as dialogs.safety.normalise gives them) are Spanish
    markers than English, Portuguese, Italian, French or German ones, and at least one is."""
    spanish, others = _markers(words)
    return spanish > others


def _hashed(feature: str) -> int:
    return zlib.crc32(feature.encode())


_MASK32 = 0xFFFFFFFF
_EDGES = (_hashed("w:<s>"), _hashed("w:</s>"))


def _pairs(ids: Sequence[int], gap: int) -> set[int]:
    """The buckets of the pairs of word ids `gap` apart (1: next to each other): integer
    mixing of two 32-bit ids, no string built per pair (a pair is most of a long message's
    features)."""
    salt, shift = gap * 0xC2B2AE35, 32 - BITS
    return {
        (((a * 0x9E3779B1 + b) * 0x85EBCA6B + salt) & _MASK32) >> shift
        for a, b in zip(ids, ids[gap:], strict=False)
    }


@functools.lru_cache(maxsize=4096)
def _word(word: str) -> tuple[int, tuple[int, ...]]:
    """A word's 32-bit id and its buckets: itself and its 3- to 5-letter groups (so
    "matarme", "matandome" and a typo "matarrme" share most of theirs). Cached: words repeat,
    within a message and across messages, and these are most of a message's features."""
    padded = f"_{word}_"
    ends = range(len(padded) + 1)
    grams = {"c:" + padded[end - size : end] for size in (3, 4, 5) for end in ends[size:]}
    ident = _hashed("w:" + word)
    return ident, tuple({ident & (SIZE - 1), *(_hashed(g) & (SIZE - 1) for g in grams)})


def _sentence(sentence: str) -> set[int]:
    """The buckets of one sentence: its words (above), word pairs (with the sentence's
    edges) and pairs one or two words apart."""
    entries = [_word(word) for word in sentence.split()]
    out = set(itertools.chain.from_iterable(buckets for _id, buckets in entries))
    inner = [ident for ident, _buckets in entries]
    out |= _pairs([_EDGES[0], *inner, _EDGES[1]], 1)
    out |= _pairs(inner, 2)
    out |= _pairs(inner, 3)
    return out


def probability(normalised: str, model: Model) -> float:
    """`model`'s probability for a normalised text, 0..1 (0.0 for an empty one): of the whole
    text when it has at most WINDOW_WORDS words, else the highest of any window of whole
    sentences (about WINDOW_WORDS words each, one sentence shared with the next), so a risk
    said in the middle of a diary is not diluted by the rest. A window's features are its
    sentences' (a feature in two of its sentences counts twice: each sentence is summed
    once, so a 4,096-character message costs one pass)."""
    weight = model.weights.__getitem__
    per = [(size, len(found), sum(map(weight, found))) for size, found in _features(normalised)]
    best, start = 0.0, 0
    while start < len(per):
        end, size, count, total = start, 0, 0, 0.0
        while end < len(per) and (end == start or size + per[end][0] <= WINDOW_WORDS):
            size, count, total = size + per[end][0], count + per[end][1], total + per[end][2]
            end += 1
        best = max(best, _sigmoid(model.bias + total / math.sqrt(count or 1)))
        if end >= len(per):
            break
        start = max(start + 1, end - 1)
    return best


@functools.lru_cache(maxsize=2)
def _features(normalised: str) -> tuple[tuple[int, set[int]], ...]:
    """(words, buckets): of the whole text when it has at most WINDOW_WORDS words, else of
    each sentence. Cached for the last texts: the crisis model reads the same message
    after the risk model, and only when needed. Callers never change what it returns."""
    sentences = [s for s in normalised.split(" . ") if s.strip()]
    sizes = [len(s.split()) for s in sentences]
    if sum(sizes) <= WINDOW_WORDS:
        return ((sum(sizes), set().union(*map(_sentence, sentences))),) if sentences else ()
    return tuple(zip(sizes, map(_sentence, sentences), strict=True))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


class Model:
    """Weights (SIZE floats) and a bias (see `probability`)."""

    def __init__(self, weights: array[float], bias: float) -> None:
        if len(weights) != SIZE:
            raise ValueError(f"expected {SIZE} weights, got {len(weights)}")
        self.weights, self.bias = weights, bias

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


_MODELS: dict[Path, Model] = {}


def model(path: Path = WEIGHTS_FILE) -> Model:
    """A stored model (the risk model by default), read once: about 2 ms, 1 MB held."""
    found = _MODELS.get(path)
    if found is None:
        found = _MODELS[path] = Model.from_bytes(path.read_bytes())
    return found


@dataclass(frozen=True)
class Scores:
    """What the risk model says of one message: `risk`, 0..1 (the highest of any window);
    `words`, the message's length in words; `pure`, True when it holds two Spanish words
    and no word of another language (a pattern's verdict is lowered only then: the models
    read Spanish, so they say nothing of an English sentence beside a Spanish one). The
    crisis model is read only when a verdict needs it (`crisis`)."""

    risk: float
    words: int
    pure: bool


def scores(normalised: str) -> Scores | None:
    """The risk model's scores for a normalised message, or None when it does not read as
    Spanish (then nothing here applies)."""
    words = normalised.split()
    spanish, others = _markers(words)
    if spanish <= others:
        return None
    # Two Spanish words at least for `pure`: one ("mi", "la", "es") is also Italian or German.
    return Scores(probability(normalised, model()), len(words), spanish >= 2 and not others)


def crisis(normalised: str) -> float:
    """The crisis model's probability for a normalised message, 0..1 (rule 4)."""
    return probability(normalised, model(CRISIS_FILE))


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
            error = _sigmoid(bias + scale * sum(map(weights.__getitem__, buckets))) - target
            for b in buckets:
                step = error * scale + l2 * weights[b]
                squares[b] += step * step
                weights[b] -= 0.5 * step / math.sqrt(squares[b])
            bias_square += error * error
            bias -= 0.5 * error / math.sqrt(bias_square)
    return Model(array("f", weights), bias)


def training_rows(files: Sequence[str] = TRAINING_FILES) -> list[tuple[str, str]]:
    """(normalised text, level) for every row of the labelled Spanish tables."""
    from dialogs.safety import normalise  # the screen imports this module
    from dialogs.yaml_data import load_yaml

    rows = []
    for name in files:
        for item in load_yaml((DATA_DIR / name).read_text("utf-8"))["phrases"]:
            rows.append((normalise(str(item["text"])), str(item["level"])))
    return rows


def train_both(rows: Sequence[tuple[str, str]]) -> tuple[Model, Model]:
    """The risk model (crisis or concern against none) and the crisis model (crisis against
    concern or none), trained on (normalised text, level) rows."""
    risk = train([(text, level != "none") for text, level in rows])
    return risk, train([(text, level == "crisis") for text, level in rows])


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
    print(f"training two models on {len(rows)} rows of {len(TRAINING_FILES)} tables...", flush=True)
    risk, crisis = train_both(rows)
    WEIGHTS_FILE.write_bytes(risk.to_bytes())
    CRISIS_FILE.write_bytes(crisis.to_bytes())
    DIGEST_FILE.write_text(data_digest() + "\n")
    print(f"wrote {WEIGHTS_FILE.name}, {CRISIS_FILE.name} and {DIGEST_FILE.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
