"""The workflow pages' template filters."""

import pytest

from apps.workflows.templatetags.workflow_format import byte_count, duration


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "—"),
        ("", "—"),
        (0.9, "0.9 ms"),
        (12.5, "12.5 ms"),
        (250, "250 ms"),
        (1000, "1 s"),
        (1250, "1.25 s"),
        (60_000, "1 min"),
        (125_000, "2 min 5 s"),
        (900_000, "15 min"),
        (5_400_000, "1 h 30 min"),
        (21_600_000, "6 h"),
    ],
)
def test_duration_reads_like_a_person_would_say_it(ms, text):
    assert duration(ms) == text


def test_byte_count_is_grouped_and_pluralised():
    assert byte_count(1) == "1 byte" and byte_count(1234) == "1,234 bytes" and byte_count(None) == "—"
