from __future__ import annotations

import pytest

from flows.parsing import parse_month_year


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/2026", "2026-03"),
        ("03-2026", "2026-03"),
        ("2026-03", "2026-03"),
        ("12.2025", "2025-12"),
        ("March 2026", "2026-03"),
        ("sept 2025", "2025-09"),
        ("មីនា ២០២៦", "2026-03"),
        ("ខែធ្នូ 2025", "2025-12"),
        ("៣/២០២៦", "2026-03"),
        ("13/2026", None),
        ("0/2026", None),
        ("3/1850", None),
        ("soon", None),
        ("", None),
    ],
)
def test_month_year(text: str, expected: str | None) -> None:
    assert parse_month_year(text) == expected
