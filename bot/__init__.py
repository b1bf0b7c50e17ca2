"""Telegram adapter for clgbt: wiring, handlers per role, rendering, jobs and the CLI."""

__version__ = "0.1.0"
