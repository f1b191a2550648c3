"""Build dialogs/data/helplines.yaml from the verified helpline data.

    python scripts/build_helplines.py [VERIFIED] [--out FILE] [--check]

VERIFIED defaults to ../shared/data/helplines_verified.yaml (outside the repository):
51 countries checked against public sources, each fact with a status and its source
(see that file's `meta`). The output is written deterministically (same input, same
bytes) and carries every shown fact's status and source, so the bot and its tests need
only the committed file. `--check` writes nothing and exits 1 when the committed file
differs from what this would write.

Policy (a wrong number in a crisis is worse than none):
- Lines: CONFIRMED shown; SECONDARY shown with its caveat (the templates word it);
  CONFLICT left out (one number against another, and a person in crisis should not have
  to choose); NOT FOUND never shown (these have no number anyway).
- Hours: shown only when their own status is CONFIRMED or unstated (then the line's
  status covers them), and only in a wording listed in HOURS below; anything else is
  left out, so nothing reads as 24/7 unless the data says 24/7.
- Text and chat: only the forms recognised below ("text HOME to 741741", "text 988",
  "chat at site"); anything with a qualifier such as hours or a call-back is left out.
- Languages: the ISO 639-1 codes of the languages a line answers in, only for a wording
  listed in LANGUAGES below (the line's status covers them); anything else (interpreters,
  a separate line, "about 20 languages") is not carried. The Spanish templates say
  "también en español" for a line with "es" (the US 988 line: the data confirms Spanish,
  not which key to press, so no key is named).
- Emergency: the country's number; for South Africa also 112 from a mobile, which the
  data gives as `emergency_other` (SECONDARY) and the issue asks for.
- Every decision is printed: what was kept, what was dropped and why.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERIFIED = ROOT.parent / "shared" / "data" / "helplines_verified.yaml"
DEFAULT_OUT = ROOT / "dialogs" / "data" / "helplines.yaml"

NUMBER = re.compile(r"^\+?[0-9][0-9 -]*[0-9]$")
SHOWN = ("CONFIRMED", "SECONDARY")

# The international directory for countries without lines, and under every list. The
# verified file names no other directory, and says findahelpline.com itself could not be
# read (meta.caveats): it is a website that lists lines, not a number, so it stays,
# marked as not checked.
DIRECTORY = {
    "name": "findahelpline.com",
    "url": "https://findahelpline.com",
    "status": "NOT CHECKED",
    "note": "not in the stored corpus of the verification (its meta.caveats); kept as the"
    " directory the product has always pointed to",
}

# One-tap buttons in Settings (the rest can be typed); an even count for two-button rows.
OFFERED = ["US", "GB", "CA", "AU", "IE", "NZ", "IN", "DE", "FR", "ES", "IT", "BR", "MX", "PH"]

# Names as shown, where the verified name is a description rather than a name. Keys are
# (country, verified name). None: no name is known; the template says "Crisis line".
NAMES: dict[tuple[str, str], str | None] = {
    ("NZ", "1737 Need to talk?"): "1737 Need to talk",  # the name's "?" before a colon
    ("FI", "MIELI Kriisipuhelin (Crisis Helpline), Finnish"): "MIELI Crisis Helpline",
    ("IS", "Hjálparsími Rauða krossins (Red Cross Helpline 1717)"): "Red Cross Helpline 1717",
    ("JP", "よりそいホットライン (Yorisoi Hotline, MHLW-subsidised)"): "Yorisoi Hotline",
    ("JP", "#いのちSOS (NPO Lifelink)"): "#いのちSOS (Inochi SOS)",
    ("JP", "いのちの電話 (Inochi no Denwa)"): "Inochi no Denwa",
    (
        "KR",
        "자살예방상담전화 109 (Suicide Prevention Counselling Line,"
        " Ministry of Health and Welfare)",
    ): "Suicide Prevention Counselling Line 109",
    ("NG", "SURPIN (Suicide Research and Prevention Initiative, LUTH) toll-free line"): "SURPIN",
}
NAMELESS = "(name not given in the list)"

# Hours in the words shown, keyed by the verified text. A text not listed here is not
# shown (and reported), so a new or reworded entry cannot slip through as "24/7".
HOURS: dict[str, str] = {
    "24/7": "24/7",
    "Mon-Sat 14:00-20:00 (extra Mon/Wed/Thu 10:00-12:00 announced in 2020); not 24/7":
        "Mon–Sat 14:00–20:00",
    "11:00-04:00 daily (per Wikipedia 2021); not 24/7": "daily 11:00–04:00",
    # Japan's Inochi no Denwa: the 0570 number is a paid call; say so, and give the free one.
    "daily 10:00-22:00 (toll number); free 0120-783-556 daily 16:00-21:00":
        "daily 10:00–22:00, a paid call; free on 0120-783-556 daily 16:00–21:00",
    "daily 13:00-22:00 (2021)": "daily 13:00–22:00",
    "daily 16:00-24:00 (2021)": "daily 16:00–24:00",
    "11:00-23:00; Fri-Sat to 03:00 (2021)": "daily 11:00–23:00, Fri–Sat until 03:00",
}  # fmt: skip

# Languages a line answers in, keyed by the verified text. A text not listed here is not
# carried (and reported): only plain lists of the line's own languages are.
LANGUAGES: dict[str, list[str]] = {
    "English and Spanish; interpreters for 250+ languages on calls": ["en", "es"],
    "English and French (interpreters for other languages)": ["en", "fr"],
    "English and French": ["en", "fr"],
    "English": ["en"],
    "Chinese": ["zh"],
    "Czech": ["cs"],
    "Dutch": ["nl"],
    "Finnish": ["fi"],
    "French": ["fr"],
    "German, French, Italian": ["de", "fr", "it"],
    "Hebrew, Arabic, Russian, English, French, Spanish, Amharic":
        ["he", "ar", "ru", "en", "fr", "es", "am"],
    "Hungarian": ["hu"],
    "Portuguese": ["pt"],
    "Portuguese; English since 2022": ["pt", "en"],
}  # fmt: skip

# Phone fields that are more than a number: (country, verified phone) -> number, option.
PHONES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("PT", "808 24 24 24 (option 4)"): ("808 24 24 24", "4"),
}

_TEXT_KEYWORD = re.compile(r"^text ([A-Z]+) to ([0-9][0-9 ]*[0-9])$")
_TEXT_NUMBER = re.compile(r"^text ([0-9][0-9 ]*[0-9])$")
_SITE = r"((?:[a-z0-9-]+\.)+[a-z]{2,})"
_CHAT = re.compile(
    rf"^(?:chat(?:/written)?(?: and e-mail)?|e-mail and chat|web chat|WhatsApp chat)"
    rf"(?: at| via)? {_SITE}$"
)


class Report:
    """What was kept and dropped, and why; printed at the end."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.lines: Counter[tuple[str, str]] = Counter()  # (status, kept|dropped)

    def say(self, code: str, text: str) -> None:
        self.rows.append(f"{code}: {text}")


def _ways(code: str, raw: dict[str, Any], report: Report) -> dict[str, Any]:
    """Call, text and chat of one verified line, from its `phone` and `text` fields."""
    ways: dict[str, Any] = {"call": [], "text": [], "chat": None, "option": None}
    phone = raw.get("phone")
    if phone is not None:
        phone = str(phone)
        number, option = PHONES.get((code, phone), (phone, None))
        if NUMBER.match(number):
            ways["call"].append(number)
            ways["option"] = option
        else:
            report.say(code, f"{raw['name']}: phone {phone!r} is not one number: not shown")
    for part in (p.strip() for p in str(raw.get("text") or "").split(";")):
        if not part:
            continue
        if m := _TEXT_KEYWORD.match(part):
            ways["text"].append({"number": m[2], "keyword": m[1]})
        elif m := _TEXT_NUMBER.match(part):
            ways["text"].append({"number": m[1]})
        elif (m := _CHAT.match(part)) and ways["chat"] is None:
            ways["chat"] = m[1]
        else:
            report.say(code, f"{raw['name']}: other contact {part!r} not shown")
    return ways


def _hours(code: str, raw: dict[str, Any], report: Report) -> str | None:
    hours = raw.get("hours")
    status = str(raw.get("hours_status") or "")
    if hours is None:
        return None
    if status and not status.startswith("CONFIRMED"):
        report.say(code, f"{raw['name']}: hours {hours!r} are {status}: not shown")
        return None
    if str(hours) not in HOURS:
        report.say(code, f"{raw['name']}: hours {hours!r} not in a known wording: not shown")
        return None
    return HOURS[str(hours)]


def _languages(code: str, raw: dict[str, Any], report: Report) -> list[str] | None:
    text = raw.get("languages")
    if text is None:
        return None
    if str(text) not in LANGUAGES:
        report.say(code, f"{raw['name']}: languages {text!r} not in a known wording: not carried")
        return None
    return list(LANGUAGES[str(text)])


def _name(code: str, verified: str) -> str | None:
    if (code, verified) in NAMES:
        return NAMES[(code, verified)]
    if verified == NAMELESS:
        return None
    # A trailing "(...)" is a description: "Línea 024 (atención ...)" -> "Línea 024".
    return re.sub(r"\s*\([^()]*\)$", "", verified).strip() or verified


def _line(code: str, raw: dict[str, Any], report: Report) -> dict[str, Any] | None:
    status = str(raw.get("status"))
    if status not in SHOWN:
        why = "no number" if raw.get("phone") is None and not raw.get("text") else "left out"
        report.say(code, f"{raw['name']}: {status} ({why}): dropped")
        report.lines[(status, "dropped")] += 1
        return None
    ways = _ways(code, raw, report)
    if not ways["call"] and not ways["text"]:
        report.say(code, f"{raw['name']}: {status} but no number we can show: dropped")
        report.lines[(status, "dropped")] += 1
        return None
    line: dict[str, Any] = {"name": _name(code, str(raw["name"]))}
    for key in ("call", "text"):
        if ways[key]:
            line[key] = ways[key]
    for key in ("option", "chat"):
        if ways[key]:
            line[key] = ways[key]
    if hours := _hours(code, raw, report):
        line["hours"] = hours
    if languages := _languages(code, raw, report):
        line["languages"] = languages
    if str(raw.get("audience") or "").startswith("youth"):
        line["for"] = "youth"
    line["status"] = status
    line["source"] = str(raw["source_url"])
    report.lines[(status, "kept")] += 1
    return line


def _emergency(code: str, raw: dict[str, Any], report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "emergency": str(raw["emergency"]),
        "emergency_status": str(raw["emergency_status"]),
        "emergency_source": [str(s) for s in raw["emergency_source"]],
    }
    if code == "ZA":
        # `emergency_other`: "112 from any mobile phone (SECONDARY: ...)". Not the police
        # 10111, which the old file had.
        other = str(raw.get("emergency_other") or "")
        if not other.startswith("112 from any mobile phone"):
            raise SystemExit("ZA: emergency_other no longer says 112 from a mobile; check it")
        out["emergency_mobile"] = "112"
        out["emergency_mobile_status"] = "SECONDARY"
        report.say(code, "emergency 10177, or 112 from a mobile (112 from mobiles is SECONDARY)")
    if out["emergency_status"] != "CONFIRMED" or not NUMBER.match(out["emergency"]):
        raise SystemExit(f"{code}: emergency {out['emergency']!r} is not a confirmed number")
    return out


def _abuse_line(raw: dict[str, Any]) -> bool:
    """A domestic-abuse or violence line. The verified file (2026-11-30) has none: the
    only mention (Türkiye's ALO 183) is a note, without a status or a credible source."""
    topic = f"{raw.get('topic') or ''} {raw.get('kind') or ''}".lower()
    return any(word in topic for word in ("abuse", "violence"))


def convert(verified: dict[str, Any], report: Report) -> dict[str, Any]:
    """The product data (a dict ready to dump) from the verified data."""
    countries: dict[str, Any] = {}
    emergency_only: dict[str, Any] = {}
    for code in sorted(verified["countries"]):
        raw = verified["countries"][code]
        lines: list[dict[str, Any]] = []
        abuse: list[dict[str, Any]] = []
        for raw_line in raw.get("lines") or []:
            line = _line(code, raw_line, report)
            if line is not None:
                (abuse if _abuse_line(raw_line) else lines).append(line)
        entry: dict[str, Any] = {"name": str(raw["name"]), **_emergency(code, raw, report)}
        if lines:
            entry["lines"] = lines
        if abuse:
            entry["abuse_lines"] = abuse
        if lines:
            countries[code] = entry
            report.say(code, f"{len(lines)} line(s) shown")
        else:
            emergency_only[code] = entry
            report.say(code, "no line to show: emergency number and the directory")
    missing = [code for code in OFFERED if code not in countries]
    if missing:
        raise SystemExit(f"OFFERED names countries without lines: {missing}")
    return {
        "verified": {"file": "helplines_verified.yaml", "generated": verified["meta"]["generated"]},
        "directory": DIRECTORY,
        "offered": OFFERED,
        "countries": countries,
        "emergency_only": emergency_only,
    }


HEADER = """\
# Helplines by country, read by dialogs/helplines.py and shown by "Need a quick chat?",
# the crisis replies and Settings.
#
# GENERATED by scripts/build_helplines.py from ../shared/data/helplines_verified.yaml:
# do not edit by hand; change the converter or the verified data and run it again
# (`--check` tells whether this file is up to date). Its docstring has the policy.
#
# countries: ISO 3166-1 alpha-2 code -> name, emergency (+ emergency_mobile), their status
#   and sources, lines: name (null: not known), call [numbers], option (a menu choice),
#   text [{number, keyword}], chat (a site), hours (as shown; absent: not confirmed),
#   languages (ISO 639-1 codes it answers in; absent: not known), for (youth),
#   status (CONFIRMED, or SECONDARY: shown with its caveat), source.
#   abuse_lines: the same shape, for domestic abuse and violence (none in the data yet).
# emergency_only: countries with an emergency number and no line we can show.
"""


def dump(data: dict[str, Any]) -> str:
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + "\n" + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("verified", nargs="?", type=Path, default=DEFAULT_VERIFIED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    args = parser.parse_args(argv)
    if not args.verified.is_file():
        print(
            f"no verified helpline data at {args.verified}: it lives outside the repository"
            " (the maintainers' ../shared/data/helplines_verified.yaml); pass its path",
            file=sys.stderr,
        )
        return 2
    verified = yaml.safe_load(args.verified.read_text("utf-8"))
    report = Report()
    text = dump(convert(verified, report))
    for row in report.rows:
        print(row)
    counts = ", ".join(f"{s} {k} {n}" for (s, k), n in sorted(report.lines.items()))
    data = yaml.safe_load(text)
    print(
        f"countries with lines {len(data['countries'])}, emergency only"
        f" {len(data['emergency_only'])}; lines: {counts}"
    )
    current = args.out.read_text("utf-8") if args.out.exists() else None
    if args.check:
        if current != text:
            print(f"{args.out} is not what the converter writes: run it again", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, "utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
