"""The crisis screen's second reader for Spanish (dialogs/safety_model.py).

What it promises: the stored weights are exactly what training on the labelled Spanish
tables makes (so nobody can change one without the other); it reads only Spanish; it only
ever turns a "none" of the patterns into a "concern" (never a crisis, never lowers what the
patterns found); and it fits the tables it was trained on. Its honest figure is the blind
Spanish holdout's, printed by bench/safety.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs import safety_model
from dialogs.safety import assess, normalise


def test_the_stored_weights_were_trained_on_the_current_tables() -> None:
    stored = safety_model.WEIGHTS_FILE.with_suffix(".sha256").read_text().strip()
    assert stored == safety_model.data_digest(), (
        "a Spanish table changed: run `python -m dialogs.safety_model train`"
    )


def test_training_again_gives_the_stored_weights_byte_for_byte() -> None:
    trained = safety_model.train(safety_model.training_rows())
    assert trained.to_bytes() == safety_model.WEIGHTS_FILE.read_bytes()


def test_the_weights_survive_a_round_trip_and_a_wrong_size_is_refused() -> None:
    model = safety_model.model()
    again = safety_model.Model.from_bytes(model.to_bytes())
    assert again.bias == model.bias and again.weights == model.weights
    with pytest.raises(ValueError):
        safety_model.Model.from_bytes(model.to_bytes()[:-4])


@pytest.mark.parametrize(
    ("text", "spanish"),
    [
        ("hoy no tengo ganas de nada", True),
        ("ya no aguanto mas", True),
        ("q onda, todo bien?", True),
        ("voy a dejar de ser un problema para todos", True),
        ("I feel so alone today", False),
        ("my sister says she wants to disappear", False),
        ("I just want it all to stop", False),
        ("ok", False),
        ("", False),
    ],
)
def test_only_spanish_is_read_by_the_model(text: str, spanish: bool) -> None:
    assert safety_model.looks_spanish(normalise(text).split()) is spanish


def test_english_never_reaches_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: safety_model.Model, normalised: str) -> float:
        raise AssertionError(f"the model read an English message: {normalised!r}")

    monkeypatch.setattr(safety_model.Model, "probability", refuse)
    for text in ("I feel so alone today", "nobody would notice if I was gone", "lol same"):
        assess(text)


def test_a_spanish_message_the_patterns_miss_is_asked_about() -> None:
    # Written for this test: a burden said with a time, no pattern's wording.
    risk = assess("voy a dejar de ser un problema para todos muy pronto")
    assert (risk.level, risk.subject, risk.families) == ("concern", "self", ("model_es",))


def test_ordinary_spanish_stays_quiet() -> None:
    for text in (
        "me corté el pelo y quedó horrible",
        "compré veneno para las cucarachas",
        "hoy vi el puente nuevo desde el tren",
        # Harsh thoughts and loneliness, as typed into an evidence table or a check-in:
        # what Bridges hears most, and never a reason to ask about suicide on its own.
        "nadie quiere saber de mí",
        "soy un fracaso en todo",
        "nunca voy a encontrar pareja",
        "siempre lo arruino todo",
        "la gente solo me habla cuando necesita algo",
        "echo de menos a mis amigos del pueblo",
        "hoy lloré en el metro sin saber por qué",
    ):
        assert assess(text).level == "none", text


def test_the_model_only_ever_raises_none_to_concern(monkeypatch: pytest.MonkeyPatch) -> None:
    """On every row of every Spanish table: with the model, a verdict is the patterns' own,
    or a concern where they said none."""
    texts = [text for text, _risky in _raw_rows()]
    with_model = [assess(text) for text in texts]
    monkeypatch.setattr(safety_model, "flags", lambda normalised: False)
    without = [assess(text) for text in texts]
    raised = 0
    for text, got, plain in zip(texts, with_model, without, strict=True):
        if got != plain:
            assert plain.level == "none" and got == replace(
                plain, level="concern", families=("model_es",)
            ), text
            raised += 1
    assert raised > 0  # the model does read these tables


def test_it_fits_the_tables_it_was_trained_on() -> None:
    """Training fit, not the honest figure: at-risk rows of the tables are caught (patterns
    or model) and ordinary ones stay quiet, nearly always."""
    rows = _raw_rows()
    risky = [assess(text).level != "none" for text, at_risk in rows if at_risk]
    calm = [assess(text).level != "none" for text, at_risk in rows if not at_risk]
    assert sum(risky) / len(risky) >= 0.97
    assert sum(calm) / len(calm) <= 0.06


def _raw_rows() -> list[tuple[str, bool]]:
    from dialogs.yaml_data import load_yaml

    rows = []
    for name in safety_model.TRAINING_FILES:
        for item in load_yaml((safety_model.DATA_DIR / name).read_text("utf-8"))["phrases"]:
            rows.append((str(item["text"]), item["level"] != "none"))
    return rows
