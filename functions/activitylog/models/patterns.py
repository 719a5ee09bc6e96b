"""The text patterns the API's names follow, in a module of their own: modules that only check a
name (cursors, settings, export filters) need not build the event models at import."""

from __future__ import annotations

ACTION_PATTERN = r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$"
EVENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
