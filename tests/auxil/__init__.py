"""Helpers shared by the tests (import as `from auxil.x import y`; tests/ is on sys.path).

- `request.RecordingRequest`: a Bot API transport that records every call and answers locally.
- `updates`: factories for real `Update` objects (messages, commands, buttons, inline queries).
- `harness.BotHarness`: the whole bot (bot.build_application) wired to a RecordingRequest, with
  `send`/`press`/`inline` helpers and accessors for what the bot sent.
- `botproc`: the real bot.py as a child process against tests/fakebotapi.py.
"""
