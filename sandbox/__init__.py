"""A local Telegram Bot API emulator for tests, demonstrations and counsellor training."""
