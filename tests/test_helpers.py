"""The small shared helpers: durations, CSV cells, signed-link headers, incident topics."""

import datetime as dt

import pytest
from django.http import HttpResponse
from django.utils import translation

from candor.helpers import csv_cell, duration_words, private_link_headers
from playbooks.incidents.topics import incident_id_from_topic, incident_topic


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (None, "—"),
        (-5, "0 s"),
        (45, "45 s"),
        (dt.timedelta(minutes=3, seconds=20), "3 min 20 s"),
        (dt.timedelta(minutes=30), "30 min"),
        (dt.timedelta(hours=2, minutes=5, seconds=59), "2 h 5 min"),
        (dt.timedelta(hours=36), "36 h"),
        (dt.timedelta(days=3, hours=4, minutes=10), "3 days 4 h"),
    ],
)
def test_duration_words_says_the_two_largest_units(duration, words):
    assert duration_words(duration) == words


@pytest.mark.parametrize(
    ("language", "duration", "words"),
    [
        ("de", dt.timedelta(minutes=3, seconds=20), "3 Min. 20 Sek."),
        ("de", dt.timedelta(days=3, hours=4), "3 Tage 4 Std."),
        ("ja", dt.timedelta(hours=2, minutes=5), "2 時間 5 分"),
        ("pt-br", dt.timedelta(days=2), "2 dias"),
        ("es", dt.timedelta(days=2, hours=1), "2 días 1 h"),
    ],
)
def test_duration_words_speak_the_active_language(language, duration, words):
    with translation.override(language):
        assert duration_words(duration) == words


def test_csv_cell_makes_formulas_inert_and_keeps_numbers():
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@sum") == "'@sum"
    assert csv_cell("-12.5") == "-12.5"
    assert csv_cell(7) == 7


def test_private_link_headers_keep_the_link_out_of_caches_referers_and_search_engines():
    stored = private_link_headers(HttpResponse(), language="de")
    assert stored["Cache-Control"] == "private, no-store"
    assert stored["Content-Language"] == "de"
    assert stored["Referrer-Policy"] == "same-origin"
    assert stored["X-Robots-Tag"] == "noindex, nofollow"
    revalidated = private_link_headers(HttpResponse(), etag='"v1"')
    assert revalidated["Cache-Control"] == "private, no-cache" and revalidated["ETag"] == '"v1"'


def test_incident_topic_round_trips_and_ignores_other_topics():
    assert incident_topic(42) == "incident:42"
    assert incident_id_from_topic(incident_topic(42)) == 42
    assert incident_id_from_topic("survey:3") is None
    assert incident_id_from_topic("incident:x") is None
    assert incident_id_from_topic(None) is None


def test_csv_writer_makes_every_cell_inert_and_the_import_reads_it_back():
    import csv
    import io

    from candor.helpers import csv_cell_read, csv_writer

    buffer = io.StringIO()
    csv_writer(buffer).writerows([["=HYPERLINK(1)", "+cmd|' /C calc'!A0", "@SUM(A1)", "+4915112340001", 3]])
    cells = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert cells == ["'=HYPERLINK(1)", "'+cmd|' /C calc'!A0", "'@SUM(A1)", "+4915112340001", "3"]
    assert [csv_cell_read(cell) for cell in cells[:4]] == [
        "=HYPERLINK(1)",
        "+cmd|' /C calc'!A0",
        "@SUM(A1)",
        "+4915112340001",
    ]
    assert csv_cell_read("'quoted") == "'quoted"


def test_every_csv_writer_goes_through_the_formula_safe_helper():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    writers = [
        path.relative_to(root).as_posix()
        for package in ("accounts", "comms", "playbooks", "candor")
        for path in (root / package).rglob("*.py")
        if "csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text()
    ]
    assert writers == ["candor/helpers.py"]
