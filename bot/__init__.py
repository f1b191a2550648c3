"""The adapters around the engine: Telegram, the terminal, the sweep, and the CLI."""
