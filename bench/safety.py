"""Crisis screen figures: graded recall and false alarms by family, the handed cases, the
holdouts (the honest estimates) and the time assess() takes, in English and in Spanish.

Reads tests/data/crisis_phrases.yaml (our own table, by family: each row a level to reach,
a subject, maybe abuse), tests/data/crisis_phrases_es.yaml (the Spanish table, issue 14,
written blind to the patterns but read by them since: memory too),
tests/data/safety_handed.tsv (label crisis/non/other, category, text: a quarter of the
outside set the issue is judged on) and the holdouts, when they exist (the Spanish one,
tests/data/safety_holdout_es.yaml, was written blind after the first Spanish freeze and guided
round 2; safety_holdout_es_2.yaml, written blind before round 2 was run on it, guided round 3;
safety_holdout_es_3.yaml, written blind before round 3 was run on it, and
safety_holdout_es_4.yaml, written blind before the second reader was run on it, chose the
second reader's thresholds; safety_holdout_es_5.yaml guided its rule 2; all three were then
trained on; safety_holdout_es_6.yaml, written blind before the final second reader was run
on it, is the honest Spanish estimate).
Each was written after a freeze of the patterns by someone who had not read them, and
none is ever tuned on; the newest (tests/data/safety_holdout_3.yaml) is the honest estimate.
The older ones (safety_holdout_2.yaml, safety_holdout.yaml) had their per-family figures
guide a later round, so they are no longer blind; they are printed for comparison.

    python bench/safety.py [--runs N]

The table's rows of origin fresh_* (probes written blind, measured, then learnt from) are
also printed apart. Per family: rows, recall (share reaching at least their level), exact
(share at exactly their level), false alarms of none rows (share reaching concern, share
reaching crisis), subject accuracy (rows whose subject is "other", or all rows of
someone_else). Timing: p50 and p99 of one assess() call, in milliseconds, for short
messages and for 4,096-character ones of several kinds. Exits 1 when a row of our table
fails (other than its known_miss rows), English or Spanish, or any p99 is 10 ms or more.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `dialogs` importable
    sys.path.insert(0, str(ROOT))

from dialogs.safety import Risk, assess, explain, warm_up  # noqa: E402
from tests.handed_cases import HANDED, load_handed, must_be_crisis  # noqa: E402

TABLE = ROOT / "tests" / "data" / "crisis_phrases.yaml"
TABLE_ES = ROOT / "tests" / "data" / "crisis_phrases_es.yaml"
HOLDOUTS_ES = (
    (
        ROOT / "tests" / "data" / "safety_holdout_es_6.yaml",
        "SPANISH HOLDOUT 6 (tests/data/safety_holdout_es_6.yaml): the honest Spanish estimate",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout_es_5.yaml",
        "Spanish holdout 5 (tests/data/safety_holdout_es_5.yaml): its failures guided the "
        "second reader's rule 2, then trained on, so no longer blind",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout_es_4.yaml",
        "Spanish holdout 4 (tests/data/safety_holdout_es_4.yaml): chose the second reader's "
        "rules 2 and 3, then trained on, so no longer blind",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout_es_3.yaml",
        "Spanish holdout 3 (tests/data/safety_holdout_es_3.yaml): the second reader was chosen "
        "on it, then trained on it, so no longer blind",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout_es_2.yaml",
        "Spanish holdout 2 (tests/data/safety_holdout_es_2.yaml): its failures guided Spanish "
        "round 3, so no longer blind",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout_es.yaml",
        "Spanish holdout 1 (tests/data/safety_holdout_es.yaml): its family figures guided "
        "Spanish round 2, so no longer blind",
    ),
)
HOLDOUTS = (
    (
        ROOT / "tests" / "data" / "safety_holdout_3.yaml",
        "HOLDOUT 3 (tests/data/safety_holdout_3.yaml): the honest estimate",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout_2.yaml",
        "holdout 2 (tests/data/safety_holdout_2.yaml): its family figures guided round 3, "
        "so no longer blind",
    ),
    (
        ROOT / "tests" / "data" / "safety_holdout.yaml",
        "holdout 1 (tests/data/safety_holdout.yaml): its family figures guided round 2, "
        "so no longer blind",
    ),
)
RANK = {"none": 0, "concern": 1, "crisis": 2}
P99_LIMIT_MS = 10.0


def own_table(rows: list[dict], title: str) -> tuple[list[dict], list[tuple[dict, Risk, str]]]:
    """Print a table written beside the patterns and its failing rows (known_miss rows are
    allowed); return its rows' pairs and the failures that are not allowed."""
    fails = table_report(rows, title)
    unexpected = [(r, k, why) for r, k, why in fails if not r.get("known_miss")]
    print(f"failing rows: {len(fails)} ({len(fails) - len(unexpected)} allowed known_miss)")
    for row, risk, why in fails:
        tag = "allowed" if row.get("known_miss") else "FAIL"
        print(f"  {tag} [{row['family']}] {why} ({risk.subject}): {row['text'][:90]!r}")
        if not row.get("known_miss"):
            for line in explain(row["text"])[:4]:
                print(f"      fired: {line[:110]}")
    return rows, unexpected


def side_by_side(tables: dict[str, list[dict]]) -> None:
    """The tables' figures by level, one column each (the English and the Spanish)."""
    names = list(tables)
    print("\n== by level, side by side: recall (FA>=concern, FA=crisis for none) ==")
    print(f"{'':18}" + "".join(f"{name:>26}" for name in names))
    for level in ("crisis", "concern", "none"):
        cells = []
        for name in names:
            pairs = [(r, assess(r["text"])) for r in tables[name] if r["level"] == level]
            if level == "none":
                fa = sum(k.level != "none" for _r, k in pairs)
                fc = sum(k.level == "crisis" for _r, k in pairs)
                cells.append(f"{pct(fa, len(pairs))} {pct(fc, len(pairs))} ({len(pairs)})")
            else:
                reach = sum(RANK[k.level] >= RANK[r["level"]] for r, k in pairs)
                cells.append(f"{pct(reach, len(pairs))} ({len(pairs)})")
        print(f"  level {level:11}" + "".join(f"{cell:>26}" for cell in cells))


def headline(rows: list[dict]) -> None:
    """The figures the issue measured, on one table: at-risk rows about the writer caught
    at any level, crisis rows caught as crisis, ordinary rows raising an alarm, and rows
    about someone else read as someone else at risk."""
    got = [(row, assess(row["text"])) for row in rows]
    at_risk = [r for row, r in got if row["subject"] == "self" and row["level"] != "none"]
    crisis = [r for row, r in got if row["subject"] == "self" and row["level"] == "crisis"]
    ordinary = [r for row, r in got if row["level"] == "none"]
    other = [r for row, r in got if row["subject"] == "other" and row["level"] != "none"]

    figures = (
        ("at risk (self), caught at any level", at_risk, lambda r: r.level != "none"),
        ("crisis (self), caught as crisis", crisis, lambda r: r.level == "crisis"),
        ("ordinary, raising concern or crisis", ordinary, lambda r: r.level != "none"),
        ("ordinary, raising crisis", ordinary, lambda r: r.level == "crisis"),
        (
            "someone else at risk, read as such",
            other,
            lambda r: r.level != "none" and r.subject == "other",
        ),
    )
    print("  headline:")
    for label, risks, counts in figures:
        hits, total = sum(map(counts, risks)), len(risks)
        share = f"{hits / total:6.1%} ({hits}/{total})" if total else "     -"
        print(f"    {label:37} {share}")
    # The Spanish second reader (dialogs/safety_model.py) speaks only where the patterns
    # saw nothing: what it added, apart.
    model = [(row, r) for row, r in got if r.families == ("model_es",)]
    if model:
        risky = sum(row["level"] != "none" for row, _r in model)
        print(
            f"    {'of these, by the second reader alone':37} {risky} at risk caught, "
            f"{len(model) - risky} ordinary raising concern"
        )


def load_table(path: Path = TABLE) -> list[dict]:
    """Rows of a phrase table, read tolerantly: a list under `phrases` (or the file itself a
    list); level from `level` (none/concern/crisis; "non"/"no" read as none; a bool
    `crisis` as crisis/none); subject "self" unless given; family "unlabelled" if missing."""
    data = yaml.safe_load(path.read_text("utf-8"))
    raw = data.get("phrases", []) if isinstance(data, dict) else data or []
    rows = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("text", "")).strip():
            continue
        level = str(item.get("level", "")).strip().lower()
        if not level and "crisis" in item:
            level = "crisis" if item["crisis"] else "none"
        level = {"non": "none", "no": "none", "safe": "none", "": "none"}.get(level, level)
        if level not in RANK:
            continue
        rows.append(
            {
                "text": str(item["text"]),
                "level": level,
                "subject": str(item.get("subject") or "self").strip().lower(),
                "family": str(item.get("family") or item.get("category") or "unlabelled"),
                "abuse": bool(item.get("abuse", False)),
                "known_miss": item.get("known_miss"),
                "origin": str(item.get("origin") or ""),
            }
        )
    return rows


def failure(row: dict, risk: Risk) -> str | None:
    """Why `risk` fails `row`, or None."""
    want, got = RANK[row["level"]], RANK[risk.level]
    if want == 0 and got > 0:
        return f"false alarm: {risk.level}"
    if got < want:
        return f"missed: {risk.level} < {row['level']}"
    if want > 0 and risk.subject != row["subject"]:
        return f"subject {risk.subject} != {row['subject']}"
    if row["abuse"] and not risk.abuse:
        return "abuse not flagged"
    return None


def pct(part: int, whole: int) -> str:
    return f"{part / whole:6.1%}" if whole else "     -"


def table_report(rows: list[dict], title: str) -> list[tuple[dict, Risk, str]]:
    """Print the per-family and per-level figures; return the failing rows."""
    risks = [assess(row["text"]) for row in rows]
    fams: dict[str, list[tuple[dict, Risk]]] = defaultdict(list)
    for row, risk in zip(rows, risks, strict=True):
        fams[row["family"]].append((row, risk))
    print(f"\n== {title}: {len(rows)} rows ==")
    print(
        f"{'family':30} {'rows':>5} {'recall':>7} {'exact':>7} "
        f"{'FA>=con':>7} {'FA=cri':>7} {'subject':>7}"
    )
    for family in sorted(fams):
        print(_line(family, fams[family]))
    print("by level:")
    by_level: dict[str, list[tuple[dict, Risk]]] = defaultdict(list)
    for row, risk in zip(rows, risks, strict=True):
        by_level[row["level"]].append((row, risk))
    for level in ("crisis", "concern", "none"):
        print(_line(f"  level {level}", by_level[level]))
    print(_line("  all", list(zip(rows, risks, strict=True))))
    pairs = zip(rows, risks, strict=True)
    fails = [(row, risk, why) for row, risk in pairs if (why := failure(row, risk))]
    return fails


def _line(name: str, pairs: list[tuple[dict, Risk]]) -> str:
    risky = [(r, k) for r, k in pairs if r["level"] != "none"]
    calm = [(r, k) for r, k in pairs if r["level"] == "none"]
    reach = sum(RANK[k.level] >= RANK[r["level"]] for r, k in risky)
    exact = sum(k.level == r["level"] for r, k in risky)
    fa_concern = sum(k.level != "none" for _r, k in calm)
    fa_crisis = sum(k.level == "crisis" for _r, k in calm)
    subj_rows = [(r, k) for r, k in risky if r["subject"] == "other" or "someone" in r["family"]]
    subj = sum(k.subject == r["subject"] for r, k in subj_rows)
    return (
        f"{name:30} {len(pairs):5} {pct(reach, len(risky)):>7} {pct(exact, len(risky)):>7} "
        f"{pct(fa_concern, len(calm)):>7} {pct(fa_crisis, len(calm)):>7} "
        f"{pct(subj, len(subj_rows)):>7}"
    )


def handed_report(rows: list[dict]) -> int:
    """Print the handed-case figures; return the number of rows that fail the regression."""
    crisis = [r for r in rows if r["label"] == "crisis"]
    non = [r for r in rows if r["label"] == "non"]
    other = [r for r in rows if r["label"] == "other"]
    risk = {r["text"]: assess(r["text"]) for r in rows}
    print(f"\n== handed cases (tests/data/safety_handed.tsv): {len(rows)} rows ==")
    at_least = sum(risk[r["text"]].level != "none" for r in crisis)
    is_crisis = sum(risk[r["text"]].level == "crisis" for r in crisis)
    print(
        f"crisis rows {len(crisis)}: level>=concern {pct(at_least, len(crisis))}, "
        f"level==crisis {pct(is_crisis, len(crisis))}"
    )
    concern = sum(risk[r["text"]].level != "none" for r in non)
    crisis_fa = sum(risk[r["text"]].level == "crisis" for r in non)
    print(
        f"non rows {len(non)}: reach concern {pct(concern, len(non))}, "
        f"reach crisis {pct(crisis_fa, len(non))}"
    )
    subj = sum(risk[r["text"]].subject == "other" for r in other)
    seen = sum(risk[r["text"]].level != "none" for r in other)
    print(
        f"other rows {len(other)}: subject==other {pct(subj, len(other))}, "
        f"level>=concern {pct(seen, len(other))}"
    )
    bad = 0
    for r in rows:
        k = risk[r["text"]]
        wrong = (
            (
                r["label"] == "crisis"
                and (k.level == "none" or (must_be_crisis(r) and k.level != "crisis"))
            )
            or (r["label"] == "non" and k.level != "none")
            or (r["label"] == "other" and (k.subject != "other" or k.level == "none"))
        )
        if wrong:
            bad += 1
            print(f"  FAIL [{r['label']}/{r['category']}] {k.level} {k.subject}: {r['text']!r}")
    return bad


# --- timing -------------------------------------------------------------------------------

DIARY = (
    "Today I woke up early and made coffee, then walked to the market for apples and bread. "
    "The weather was grey but mild, so I spent the afternoon reading a novel set in Scotland. "
    "My neighbour came over to borrow a ladder and we talked about her garden for a while. "
    "In the evening I cooked pasta, watched a programme about whales, and called my sister "
    "to plan her birthday dinner next month. Work has been busy but fine; the new manager "
    "seems fair and the team is kind. I am trying to go to bed before eleven this week. "
)
TEXTING = (
    "omg lol today was soo long 😂😂 work was cray tbh and my boss kept pinging me all day 🙄 "
    "then i went to the gym and got pizza after 🍕🍕 idk what to do this weekend maybe movies "
    "or smth w the gang haha ✨✨ my cat knocked my plant over again 🙈 send help lol "
)
MIXED = (
    "Hello друзья, today 今天天气很好 and مرحبا بالعالم we went to the park. Привет, как дела? "
    "我们去公园散步了 and then كنت سعيدا جدا ok? Jeden Tag ein bisschen besser, día a día. "
    "Доброго ранку всім! 東京は晴れです。 ¿Qué tal? Ça va bien, merci. "
)

# Ordinary Spanish with the words the Spanish patterns start with (me, no, ya, que, se...).
DIARIO = (
    "Hoy me levanté temprano, hice café y fui al mercado a por fruta y pan. "
    "Hacía fresco pero no llovía, así que me quedé leyendo una novela en el parque. "
    "La vecina del quinto me pidió la escalera y estuvimos hablando de su jardín. "
    "Por la noche cociné pasta, vi un programa de ballenas y llamé a mi hermana para "
    "organizar su cumpleaños. El trabajo va bien; la jefa nueva es justa y el equipo, amable. "
    "¿Quedamos el sábado? Ya te contaré qué tal la clase de baile, que me tiene muy contenta. "
)
MENSAJES = (
    "jajaja q dia mas largo 😂 el curro fatal la vdd y mi jefe todo el dia pesado 🙄 "
    "luego fui al gym y me pedi una pizza 🍕 ntp q el finde nos vemos seguro xq me muero "
    "de ganas jaja ya me diras algo tb de lo del cumple de lucia, se me olvido comprar regalo "
    "😅 bueno me voy a dormir q mañana madrugo besos ✨ "
)


def long_message(seed: str, rng: random.Random) -> str:
    """4,096 characters of `seed`'s sentences in a shuffled order."""
    parts = seed.replace("? ", "?|").replace(". ", ".|").replace("! ", "!|").split("|")
    out = ""
    while len(out) < 4096:
        rng.shuffle(parts)
        out += " ".join(parts) + " "
    return out[:4096]


def timings(texts: list[str], runs: int) -> tuple[float, float]:
    """p50 and p99 of one assess() call in milliseconds over `runs` passes of `texts`."""
    warm_up()  # a running bot compiles every pattern soon after start: time it that way
    samples = []
    for _ in range(runs):
        for text in texts:
            start = time.perf_counter()
            assess(text)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timing passes (default 30)")
    args = parser.parse_args()
    status = 0

    rows, unexpected = own_table(
        load_table(),
        "own table (tests/data/crisis_phrases.yaml; written beside the patterns: measures memory)",
    )
    if unexpected:
        status = 1
    rows_es, unexpected_es = own_table(
        load_table(TABLE_ES),
        "Spanish table (tests/data/crisis_phrases_es.yaml; written blind, then read by the "
        "patterns: measures memory)",
    )
    if unexpected_es:
        status = 1
    side_by_side({"English table": rows, "Spanish table": rows_es})
    fresh = [row for row in rows if row["origin"].startswith("fresh_")]
    if fresh:
        # Written blind while the screen was being generalised, measured untouched first
        # (those figures are in the closing notes of #9), then learnt from by family: what
        # is printed here is after that, so it is no longer an honest estimate.
        table_report(fresh, "fresh probes inside the table (origin fresh_*: learnt from)")

    if HANDED.exists():
        handed_bad = handed_report(load_handed())
        if handed_bad:
            status = 1

    for path, title in (*HOLDOUTS_ES, *HOLDOUTS):
        if path.exists():
            holdout = load_table(path)
            table_report(holdout, title)
            headline(holdout)
        else:
            print(f"\n(no {path.name}: nothing to print for it)")

    rng = random.Random(9)
    short = [row["text"] for row in rows + rows_es if len(row["text"]) < 300]
    kinds = {
        "short messages (table rows)": short,
        "4,096 chars, plain English diary": [long_message(DIARY, rng) for _ in range(5)],
        "4,096 chars, texting, emoji, no punctuation": [
            long_message(TEXTING, rng).replace(".", "").replace(",", "") for _ in range(5)
        ],
        "4,096 chars, mixed Latin/Cyrillic/CJK/Arabic": [
            long_message(MIXED, rng) for _ in range(5)
        ],
        "4,096 chars, diary with a crisis sentence inside": [
            long_message(DIARY, rng)[:3000]
            + " I have decided to end my life tonight. "
            + long_message(DIARY, rng)[:1055]
            for _ in range(5)
        ],
        "4,096 chars, Spanish diary": [long_message(DIARIO, rng) for _ in range(5)],
        "4,096 chars, Spanish texting, no accents or stops": [
            long_message(MENSAJES, rng).replace(".", "").replace(",", "") for _ in range(5)
        ],
        "4,096 chars, Spanish diary with a crisis sentence": [
            long_message(DIARIO, rng)[:3000]
            + " Ya tengo decidido que esta noche me quito la vida. "
            + long_message(DIARIO, rng)[:1044]
            for _ in range(5)
        ],
    }
    print("\n== time per assess() call ==")
    for name, texts in kinds.items():
        runs = max(3, args.runs // 10) if name.startswith("short") else args.runs
        p50, p99 = timings(texts, runs)
        flag = "" if p99 < P99_LIMIT_MS else f"  OVER {P99_LIMIT_MS:.0f} ms"
        print(f"  {name:50} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms{flag}")
        if p99 >= P99_LIMIT_MS:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
