"""Chaos bench: does every message get its reply, once, when the bot is killed or replicated?

The bot is a black box: real `python -m bot.cli run` subprocesses of the code in this tree,
talking over real HTTP to the loopback fake Telegram Bot API (tests.fakebot) that runs inside
this process. The bench plays Telegram and the people, kills the bot with SIGKILL at seeded
random instants and restarts it at once, then counts from what the fake delivered and what the
database holds (read directly with SQLAlchemy). The real clock throughout.

1. Polling (default)::

       python bench/chaos.py --users 200 --kills 10 [--database-url URL] [--seed S]

   N people, each walking a fixed script through several dialogs (onboarding with a typed or
   tapped zone and time, then the needs map, the evidence table /reframe, or adding two
   people to the reach-out list, ending with /menu). Closed loop: a person sends the next
   message once the previous one's replies have arrived, or after a wait (`--step-timeout`
   seconds after sending or after the bot's latest restart, never while the bot has not
   acknowledged the update). An update that was never processed (no reply, conversations.
   version unchanged) is sent again as a new update, as a person would.
   The expected replies come from a reference run first: the same scripts, two people each,
   a bot on a fresh database, no kills; the two copies must agree. Replies are compared as
   bubbles (sent / edited / file, text, buttons, keyboards) with clock times and dates masked.
   Each update is then one of:

   - fine: exactly the reference's replies, once each, and its turn saved once;
   - lost: never processed: no reply and conversations.version did not move;
   - silent: processed (the version moved) but no reply arrived;
   - partial: answered, but not with all of the reference's replies (some missing, or other
     replies instead; both counts are printed);
   - answered twice: a reply bubble of it arrived more than once, or its turn saved twice.

   Replies that arrive after the person moved on are attributed to the update they answer
   (printed as "late replies"). An update processed only after the wait ran out has been sent
   again by then, so it counts as lost and its resend as answered twice: to the person it was.

   Invalid states (people, at the end): the saved state (the conversations stack, their
   records and zone/check-in time/consent, masked the same way) differs from the reference
   person's, or they wait at a step whose question they never received (the reference's last
   bubble did not arrive after their last message). A chat that ends with an older reply sent
   again late is counted apart (its update is already "answered twice"). Last line::

       updates N, lost 0, answered twice 0, silent 0, partial 0, invalid states 0

   Exit 1 if any count is non-zero or anyone could not finish their script.

2. Check-ins under kills::

       python bench/chaos.py --checkins 1000 --kills 3 [--database-url URL] [--seed S]

   One person is onboarded through the bot (the template); 1,000 copies of their users and
   conversations rows are written directly, due for a check-in 30 s ago. The bot runs with
   SWEEP_SECONDS=1 and is SIGKILLed (and restarted) when the fake has received a seeded random
   number of check-in messages, K times; kills that cannot come because sending stopped are
   reported. Once quiet, per person: lost = no check-in message, doubled = the check-in's
   opening message more than once (also: people left inside a check-in they never received).
   Last line ``check-ins N, lost L, doubled D``; exit 1 unless both are 0.

3. Two webhook replicas on one PostgreSQL::

       python bench/chaos.py --replicas 2 --database-url postgresql+psycopg://... [--people 100]

   R `bridges run --webhook` processes on one scratch schema; the bench posts Telegram's
   webhook requests itself (secret header), re-posting any request not answered 200 later,
   as Telegram does. Each person is walked (one message at a time) to the evidence step of
   /reframe; then all people at once send a burst of five typed messages (two pieces of
   evidence, "Done", two pieces against), consecutive ones posted to different replicas at the
   same moment. A reference person sends the same burst one message at a time. Out of order
   (people): the saved reframe state differs from the reference's although each message was
   kept once, or the replies came in another order. Last line ``out of order N (...)``;
   exit 1 if N > 0 or a message was lost, kept twice, or never accepted.

In modes 1 and 2 nothing is counted before `--settle` seconds (default 40) have passed since
the last restart: a bot may leave a killed process's claimed work to a lease before taking it
over, and a reply that comes that late still counts as a reply.

Everything runs on temp SQLite files or scratch PostgreSQL schemas that are dropped afterwards;
progress hints go to stderr, figures to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `bench` and `tests` importable
    sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--checkins", type=int, metavar="N", help="mode 2: N people due for a check-in"
    )
    mode.add_argument(
        "--replicas", type=int, metavar="R", help="mode 3: R webhook replicas (PostgreSQL)"
    )
    parser.add_argument("--users", type=int, default=200, help="mode 1: people (default 200)")
    parser.add_argument(
        "--kills", type=int, default=None, help="SIGKILLs (default: 10 polling, 3 check-ins)"
    )
    parser.add_argument("--people", type=int, default=100, help="mode 3: people (default 100)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server for scratch schemas (default: fresh SQLite temp files)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=15.0,
        help="mode 1: seconds to wait for a step's replies, counted from sending or from the "
        "bot's latest restart, whichever is later (default 15)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=40.0,
        help="modes 1-2: count nothing before this many seconds after the last restart, so "
        "work a killed process had claimed (for a lease) can be taken over (default 40)",
    )
    parser.add_argument(
        "--show",
        type=int,
        default=0,
        metavar="N",
        help="print the chats of up to N people with a problem to stderr",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the bot logs and SQLite files"
    )
    args = parser.parse_args(argv)
    if args.kills is None:
        args.kills = 3 if args.checkins else 10
    for name in ("users", "people", "checkins", "replicas"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    if args.kills < 0:
        parser.error("--kills must not be negative")
    if args.replicas is not None and args.database_url is None:
        parser.error("--replicas needs --database-url (PostgreSQL)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.checkins is not None:
        from bench import chaos_checkins

        return asyncio.run(chaos_checkins.run(args))
    if args.replicas is not None:
        from bench import chaos_replicas

        return asyncio.run(chaos_replicas.run(args))
    from bench import chaos_polling

    return asyncio.run(chaos_polling.run(args))


if __name__ == "__main__":
    sys.exit(main())
