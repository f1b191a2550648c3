"""The conversation: what the bot says and keeps, as pure Python with no Telegram and no SQL.

Dialogs are data (flows/*.yaml, their words in prompts/<locale>/); the dialog manager turns one
Event and a person's UserState (model.py) into a Turn: new state, replies and effects.
Hooks (hooks/) do what a file can't: lists from records, scores, dates. Beside them, pure
helpers the hooks and the dialog manager share: crisis screening (safety.py), intents, typed
numbers, moods and times (inputs.py), time zones (places.py), helplines, scheduling math,
the small-steps method (coaching, ladder, reminders), drafts and /export. bot/ carries
events in and replies out; storage/ keeps the state. See dialogs/README.md.
"""
