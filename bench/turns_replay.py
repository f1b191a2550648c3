"""The replay bot of bench/turns.py: a bare python-telegram-bot Application with no logic that
makes, for each update, exactly the Bot API calls Bridges made for the same turn.

Recording (`record_turns`, pure): after the Bridges run, every call the fake logged for a bench
chat is given to a turn of that chat. answerCallbackQuery goes to the turn whose tap carried its
query id; any other call (it names its chat_id) to the chat's last turn queued before the call
arrived. Users play one turn at a time, so only a call Bridges made after the turn's last
expected message, once the next update was already queued, could land one turn late; per chat
the calls stay the same and in the same order. Calls with no bench chat (getMe, setMyCommands,
getUpdates...) are start-up or polling, made by any bot, and are left out.

Replaying (`resolve`, pure; `invoke`): the recorded method and parameters, the callback query id
swapped for the id of the update being answered, the reply markup and link preview options
rebuilt as PTB objects and sent through PTB's typed method (send_message...) as Bridges does, so
PTB's own cost is in the floor. Message ids are kept: the fake numbers each chat's messages in
order, and the replay sends the same messages in the same order, so the ids match.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.turns_users import TurnMark

QUERY = "<the callback query of the update being answered>"  # placeholder in recorded params
# Recorded per call: "method", "params", and "fails" when the fake answered it with an error
# (Bridges saw the error and carried on; the replay expects it too).
Recording = dict[int, list[list[dict[str, Any]]]]  # chat id -> turns -> calls


def call_chat(method: str, params: Mapping[str, Any], queries: Mapping[str, int]) -> int | None:
    """The bench chat a call concerns: its chat_id, or the chat of its callback query."""
    if method.lower() == "answercallbackquery":
        return queries.get(str(params.get("callback_query_id")))
    chat = params.get("chat_id")
    if isinstance(chat, bool):
        return None
    try:
        return int(chat) if chat is not None else None
    except (TypeError, ValueError):
        return None  # "@channel": not a bench chat


def record_turns(calls: Iterable[Any], marks: Mapping[int, list[TurnMark]]) -> Recording:
    """Bridges' calls per chat and turn. `calls`: the fake's Call log (method, params, at,
    error_code); `marks`: per chat, each turn's queue time and callback query id (in order).
    Every chat in `marks` gets one (maybe empty) list per turn."""
    recording: Recording = {chat: [[] for _ in turns] for chat, turns in marks.items()}
    queries: dict[str, int] = {}
    query_turns: dict[str, int] = {}
    for owner, turns in marks.items():
        for index, mark in enumerate(turns):
            if mark.query_id is not None:
                queries[mark.query_id] = owner
                query_turns[mark.query_id] = index
    for call in sorted(calls, key=lambda c: c.at):
        chat = call_chat(call.method, call.params, queries)
        if chat is None or chat not in recording or not recording[chat]:
            continue
        params = dict(call.params)
        if call.method.lower() == "answercallbackquery":
            turn = query_turns[str(params["callback_query_id"])]
            params["callback_query_id"] = QUERY
        else:
            queued = [i for i, m in enumerate(marks[chat]) if m.pushed_at <= call.at]
            turn = queued[-1] if queued else 0
        entry: dict[str, Any] = {"method": call.method, "params": params}
        if call.error_code is not None:
            entry["fails"] = True
        recording[chat][turn].append(entry)
    return recording


def resolve(call: Mapping[str, Any], query_id: str | None) -> tuple[str, dict[str, Any]]:
    """(PTB method name, keyword arguments as JSON) for a recorded call answering an update
    whose callback query id is `query_id`. ValueError if the call needs a query and has none."""
    params = dict(call["params"])
    if params.get("callback_query_id") == QUERY:
        if query_id is None:
            raise ValueError(f"{call['method']} answers a tap, but the update is no tap")
        params["callback_query_id"] = query_id
    return snake_case(str(call["method"])), params


def snake_case(method: str) -> str:
    """Bot API method name to PTB's: sendMessage -> send_message."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method).lower()


def calls_per_turn(recording: Recording) -> dict[str, float]:
    """How many calls of each method Bridges made per turn, on average (for the report)."""
    turns = sum(len(chat) for chat in recording.values())
    counts = Counter(c["method"] for chat in recording.values() for turn in chat for c in turn)
    return {method: n / turns for method, n in counts.most_common()} if turns else {}


def save(recording: Recording, path: Path) -> None:
    path.write_text(json.dumps({str(chat): turns for chat, turns in recording.items()}))


def load(path: Path) -> Recording:
    return {int(chat): turns for chat, turns in json.loads(path.read_text()).items()}


# --- the child process side (PTB imported only there) ---------------------------------------


def _ptb_value(name: str, value: Any) -> Any:
    """The PTB object Bridges would have passed for a JSON parameter (markups, link preview)."""
    from telegram import (
        ForceReply,
        InlineKeyboardMarkup,
        LinkPreviewOptions,
        ReplyKeyboardMarkup,
        ReplyKeyboardRemove,
    )

    if name == "reply_markup" and isinstance(value, dict):
        for key, kind in (
            ("inline_keyboard", InlineKeyboardMarkup),
            ("keyboard", ReplyKeyboardMarkup),
            ("remove_keyboard", ReplyKeyboardRemove),
            ("force_reply", ForceReply),
        ):
            if key in value:
                return kind.de_json(value, None)
    if name == "link_preview_options" and isinstance(value, dict):
        return LinkPreviewOptions.de_json(value, None)
    return value


_SIGNATURES: dict[str, set[str]] = {}


async def invoke(bot: Any, method: str, params: dict[str, Any]) -> Any:
    """Call PTB's typed method for `method` (parameters it does not name go as api_kwargs);
    a method PTB lacks goes through do_api_request."""
    typed = getattr(bot, method, None)
    if typed is None:
        return await bot.do_api_request(method, api_kwargs=params)
    if method not in _SIGNATURES:
        _SIGNATURES[method] = set(inspect.signature(typed).parameters)
    named = _SIGNATURES[method]
    kwargs = {k: _ptb_value(k, v) for k, v in params.items() if k in named}
    extra = {k: v for k, v in params.items() if k not in named}
    if extra:
        kwargs["api_kwargs"] = extra
    return await typed(**kwargs)


def build_replay(
    base_url: str, token: str, recording: Recording, settings: Mapping[str, Any], rate_limit: bool
) -> Any:
    """The replay Application, with Bridges' request settings and update concurrency
    (`settings`, as bench/turns_bots.py read them from Bridges' own Application)."""
    from telegram import Update
    from telegram.error import TelegramError
    from telegram.ext import AIORateLimiter, Application, ContextTypes, TypeHandler

    builder = Application.builder().token(token).base_url(base_url)
    builder = builder.concurrent_updates(int(settings.get("concurrent_updates") or 1))
    for prefix, key in (("", "request"), ("get_updates_", "get_updates_request")):
        given = settings.get(key) or {}
        for name in ("connection_pool_size", *TIMEOUTS, "http_version"):
            if name in given:
                builder = getattr(builder, prefix + name)(given[name])
    if rate_limit:  # as Bridges: no retries inside the limiter (bot/telegram_app.py)
        limiter: Any = AIORateLimiter(max_retries=0)
        builder = builder.rate_limiter(limiter)
    app = builder.build()
    turns: Counter[int] = Counter()

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None:
            return
        turn = turns[user.id]
        turns[user.id] += 1  # before any await: a user's next update comes after this one
        calls = recording.get(user.id, [])
        query = update.callback_query
        for call in calls[turn] if turn < len(calls) else []:
            method, params = resolve(call, query.id if query else None)
            try:
                await invoke(context.bot, method, params)
            except TelegramError:
                if not call.get("fails"):
                    raise

    app.add_handler(TypeHandler(Update, answer))
    return app


TIMEOUTS = ("connect_timeout", "read_timeout", "write_timeout", "pool_timeout")


def request_settings(app: Any) -> dict[str, Any]:
    """What an Application gives PTB for its HTTP requests and update concurrency: pool size,
    timeouts (seconds) and HTTP version per request object, as far as PTB's HTTPXRequest
    exposes them ({"custom": class name} for another request class)."""
    from telegram.request import HTTPXRequest

    settings: dict[str, Any] = {
        "concurrent_updates": app.update_processor.max_concurrent_updates,
    }
    get_updates, other = app.bot._request  # PTB keeps (getUpdates' request, everything else)
    for key, request in (("request", other), ("get_updates_request", get_updates)):
        if not isinstance(request, HTTPXRequest):
            settings[key] = {"custom": type(request).__name__}
            continue
        client = request._client_kwargs
        timeout = client["timeout"]
        settings[key] = {
            "connection_pool_size": client["limits"].max_connections,
            "connect_timeout": timeout.connect,
            "read_timeout": timeout.read,
            "write_timeout": timeout.write,
            "pool_timeout": timeout.pool,
            "http_version": request.http_version,
        }
    return settings
