"""The crisis screen's second reader for Spanish (dialogs/safety_model.py).

What it promises: the stored weights are exactly what training on the labelled Spanish
tables makes (so nobody can change one without the other); it reads only Spanish; its four
rules (a concern where the patterns saw nothing, the other languages' lines alone not
believed, a pattern's verdict on a short message one level lower, a concern made a crisis)
and nothing else change a verdict; and it fits the tables it was trained on. Its honest figure is
the newest blind Spanish holdout's, printed by bench/safety.py.
"""

from __future__ import annotations

import pytest

from dialogs import safety_model
from dialogs.safety import assess, normalise

RANK = {"none": 0, "concern": 1, "crisis": 2}


def test_the_stored_weights_were_trained_on_the_current_tables() -> None:
    stored = safety_model.DIGEST_FILE.read_text().strip()
    assert stored == safety_model.data_digest(), (
        "a Spanish table changed: run `python -m dialogs.safety_model train`"
    )


def test_training_again_gives_the_stored_weights_byte_for_byte() -> None:
    risk, crisis = safety_model.train_both(safety_model.training_rows())
    assert risk.to_bytes() == safety_model.WEIGHTS_FILE.read_bytes()
    assert crisis.to_bytes() == safety_model.CRISIS_FILE.read_bytes()


def test_the_weights_survive_a_round_trip_and_a_wrong_size_is_refused() -> None:
    for path in (safety_model.WEIGHTS_FILE, safety_model.CRISIS_FILE):
        model = safety_model.model(path)
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
    def refuse(path: object = None) -> safety_model.Model:
        raise AssertionError("a model was read for an English message")

    monkeypatch.setattr(safety_model, "model", refuse)
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
        # Kind words and plans typed into a calm kit or a safety plan.
        "Esto es una ola. Pasa.",
        "mañana será otro día",
        "aguanta, que la tormenta se va",
        "cuando empiezo a no contestar a nadie",
        "darle las pastillas a mi tía para que me las guarde",
    ):
        assert assess(text).level == "none", text


def test_only_the_four_rules_change_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """On every row of every Spanish table, the verdict with the models beside the patterns'
    own: any change is one the rules allow for the scores."""
    texts = [text for text, _risky in _raw_rows()]
    with_model = [assess(text) for text in texts]
    scores = [safety_model.scores(normalise(text)) for text in texts]
    crises = [safety_model.crisis(normalise(text)) for text in texts]
    monkeypatch.setattr(safety_model, "scores", lambda normalised: None)
    without = [assess(text) for text in texts]
    changed = 0
    for text, got, plain, score, crisis in zip(
        texts, with_model, without, scores, crises, strict=True
    ):
        if got == plain:
            continue
        changed += 1
        assert score is not None, text
        lowered = score.pure and score.words <= safety_model.WINDOW_WORDS
        lowered = lowered and score.risk < safety_model.VETO
        if plain.level == "none":  # rule 1, maybe then rule 4
            assert score.risk >= safety_model.THRESHOLD and got.families == ("model_es",), text
            assert got.level == "concern" or crisis >= safety_model.CRISIS_THRESHOLD
        elif got.level == "crisis":  # rule 4
            assert plain.level == "concern" and crisis >= safety_model.CRISIS_THRESHOLD
        elif plain.families == ("other_language",) and got.level == "none":  # rule 2
            assert score.pure and score.risk < safety_model.OTHER_LINES, text
        else:  # rule 3: one level down
            assert lowered and RANK[got.level] == RANK[plain.level] - 1, (text, got, plain)
    assert changed > 0  # the models do read these tables


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # Rule 2: only the other languages' lines read these (a method said as a joke about
        # prices, a boss cutting someone short), and the model sees no risk.
        ("me corto las venas si vuelven a subir el precio del café 😂", "none"),
        ("ayer mi jefa me cortó en plena reunión", "none"),
        # Rule 3: a Spanish pattern reads a crisis in a denial it has no line for; the
        # person is still asked, not ignored.
        ("ni loca pienso en matarme, tranqui", "concern"),
        # Rule 4, and rules 1 and 4: a means and "tonight"; an overdose just taken, in
        # words the patterns have no line for.
        ("ya tengo la cuerda en el armario y esta noche se acaba todo", "crisis"),
        ("acabo de tomarme un bote entero de pastillas", "crisis"),
    ],
)
def test_the_rules_on_phrasings_of_our_own(text: str, level: str) -> None:
    assert assess(text).level == level, text


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
