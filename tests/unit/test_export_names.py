"""An export's name cannot be used to disguise mail or files (issue 18, item 5): no control or
bidirectional-override characters, and the subject reads as the service's words with the name as a
labelled, bounded value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from activitylog.logic.export_notify import SUBJECT_NAME_LENGTH, compose
from activitylog.models.exports import Export, ExportCreate, RunRecord
from pydantic import ValidationError

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_a_name_with_a_bidirectional_override_is_refused(char: str) -> None:
    with pytest.raises(ValidationError, match="bidirectional"):
        ExportCreate.model_validate({"name": f"invoice{char}fdp.exe", "format": "csv"})


@pytest.mark.parametrize("char", ["\r", "\n", "\t", "\x00", "\u2028", "\x7f"])
def test_a_name_with_a_control_character_is_refused(char: str) -> None:
    with pytest.raises(ValidationError):
        ExportCreate.model_validate({"name": f"a{char}b", "format": "csv"})


def _message(name: str, status: str = "succeeded") -> str:
    export = Export(
        id="E1",
        name=name,
        format="csv",
        compression="none",
        filters={},
        recipients=["a@example.com"],
        created_at=NOW - timedelta(hours=1),
    )
    run = RunRecord(
        id="R1",
        export_id="E1",
        status=status,
        created_at=NOW,
        started_at=NOW,
        finished_at=NOW,
        row_count=1,
        bytes=1,
        sha256="0" * 64,
        key="k",
        error=None if status == "succeeded" else "x",
    )
    return compose(export, run, tenant="acme", key=b"k" * 32, base_url="https://api.example").subject


def test_the_subject_is_the_services_words_with_the_name_as_a_bounded_label() -> None:
    phishing = "Your invoice is overdue - pay now at http://pay.example/acme to avoid suspension of service"
    subject = _message(phishing)
    assert subject.startswith("Activity Log: export ready [name: Your invoice is overdue")
    assert (
        subject.endswith("\u2026]")
        and len(subject) < len("Activity Log: export ready [name: ]") + SUBJECT_NAME_LENGTH + 1
    )
    assert _message("Q4 [audit]", "failed") == "Activity Log: export failed [name: Q4 (audit)]"
