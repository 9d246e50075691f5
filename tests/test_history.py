"""Test history: a bounded JSON-lines file of test sends and probes, never holding a password."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtp_desktop.checks import CheckKind
from smtp_desktop.config.model import Service
from smtp_desktop.history import (
    HistoryLog,
    HistoryRecord,
    HistoryRecordError,
    history_file,
    now_utc,
    record_from_outcome,
)
from smtp_desktop.mail import Category, Outcome

SECRET = "hunter2-Pässwörd"
FIELDS = {"time", "kind", "service", "server", "recipient", "ok", "category", "elapsed_ms", "settings",
          "rehearsal"}


def record(n: int = 0, **changes) -> HistoryRecord:
    base = HistoryRecord(time=f"2024-05-01T10:00:{n % 60:02d}.000+00:00", kind="send-test",
                         service="own", server=f"smtp{n}.example.test:587",
                         recipient="friend@example.test", ok=True, category=None,
                         elapsed_ms=12.5 + n)
    return dataclasses.replace(base, **changes)


def outcome(ok: bool, category: Category | None, message: str = "250 OK") -> Outcome:
    return Outcome(ok=ok, category=category, message=message, advice=f"advice {SECRET}",
                   elapsed_ms=321.0, server="smtp.example.test:587", security="starttls",
                   unused_keys=(), transcript=(f"C: AUTH PLAIN {SECRET}",))


@pytest.fixture
def log(tmp_path) -> HistoryLog:
    return HistoryLog(history_file(tmp_path / "data"))


def test_history_file_lives_in_the_data_folder(tmp_path):
    assert history_file(tmp_path) == tmp_path / "history.jsonl"


def test_records_come_back_oldest_first_as_appended(log):
    written = [record(1), record(2, ok=False, category="auth", kind="probe", recipient=None),
               record(3, service="local-outbox", server="127.0.0.1:2525", recipient="ü@example.test")]
    for item in written:
        log.append(item)
    assert log.records() == written
    assert log.to_json() == [item.to_json() for item in written]
    assert set(log.to_json()[0]) == FIELDS
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == log.to_json()


def test_append_205_keeps_the_last_200(log):
    for n in range(205):
        log.append(record(n))
    kept = log.records()
    assert len(kept) == 200
    assert kept[0] == record(5)
    assert kept[-1] == record(204)
    assert len(log.path.read_text(encoding="utf-8").splitlines()) == 200
    # The trim goes through a temporary file that is renamed, never left behind.
    assert sorted(p.name for p in log.path.parent.iterdir()
                  if not p.name.endswith(".lock")) == ["history.jsonl"]  # no temp file left


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(min_value=1, max_value=8), count=st.integers(min_value=0, max_value=20))
def test_always_the_last_limit_records(limit, count):
    with tempfile.TemporaryDirectory() as folder:
        log = HistoryLog(Path(folder) / "history.jsonl", limit=limit)
        for n in range(count):
            log.append(record(n))
        assert log.records() == [record(n) for n in range(max(0, count - limit), count)]


def test_damaged_lines_are_skipped_and_logged(log, caplog):
    log.append(record(1))
    with open(log.path, "a", encoding="utf-8") as file:
        file.write("this is not JSON\n")
        file.write('{"time": "2024-05-01T10:00:00+00:00", "kind": "send-test"}\n')  # fields missing
        file.write(json.dumps(record(2).to_json() | {"ok": "yes"}) + "\n")  # wrong type
        file.write(json.dumps(record(3).to_json() | {"kind": "reboot"}) + "\n")  # unknown kind
        file.write(json.dumps(record(4).to_json() | {"time": "yesterday"}) + "\n")
        file.write("[1, 2, 3]\n\n")
    log.append(record(5))

    assert log.records() == [record(1), record(5)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "smtp_desktop.history"]
    assert len(warnings) == 6
    assert warnings[0].startswith(f"Skipping damaged line 2 of {log.path}")


def test_a_line_cut_short_does_not_swallow_the_next_record(log):
    log.append(record(1))
    with open(log.path, "a", encoding="utf-8") as file:
        file.write('{"time": "2024-05-01T1')  # a crash in the middle of a write
    log.append(record(2))
    assert log.records() == [record(1), record(2)]


def test_undecodable_bytes_are_a_damaged_line_not_a_crash(log):
    log.append(record(1))
    with open(log.path, "ab") as file:
        file.write(b"\xff\xfe garbage\n")
    log.append(record(2))
    assert log.records() == [record(1), record(2)]


def test_line_separator_characters_inside_values_survive(log):
    odd = record(1, recipient="a\u2028b\x85c@example.test")
    log.append(odd)
    log.append(record(2))
    assert log.records() == [odd, record(2)]


def test_a_missing_file_is_an_empty_history_and_is_not_created(log):
    assert log.records() == []
    assert log.to_json() == []
    assert not log.path.parent.exists()


def test_clear_forgets_everything(log):
    log.append(record(1))
    log.clear()
    log.clear()
    assert log.records() == []


def test_limit_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        HistoryLog(tmp_path / "h.jsonl", limit=0)


def test_concurrent_appends_keep_every_line_whole(tmp_path):
    log = HistoryLog(tmp_path / "history.jsonl", limit=50)
    start = threading.Barrier(4)

    def writer(offset: int) -> None:
        start.wait(timeout=30)
        for n in range(20):
            log.append(record(offset + n))

    threads = [threading.Thread(target=writer, args=(100 * t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    kept = log.records()
    assert len(kept) == 50
    assert len(log.path.read_text(encoding="utf-8").splitlines()) == 50


# ---------------------------------------------------------------- records and outcomes


def test_record_from_a_failed_outcome(log):
    made = record_from_outcome(CheckKind.PROBE, Service.OWN,
                               outcome(False, Category.AUTH, f"535 bad {SECRET}"), None,
                               time="2024-05-01T10:00:00.000+00:00")
    assert made == HistoryRecord(time="2024-05-01T10:00:00.000+00:00", kind="probe", service="own",
                                 server="smtp.example.test:587", recipient=None, ok=False,
                                 category="auth", elapsed_ms=321.0)


def test_record_from_a_good_outcome_takes_strings_too():
    made = record_from_outcome("send-test", "local-outbox", outcome(True, None), "friend@example.test")
    assert (made.kind, made.service, made.ok, made.category, made.recipient) == (
        "send-test", "local-outbox", True, None, "friend@example.test")
    when = dt.datetime.fromisoformat(made.time)
    assert when.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.timezone.utc) - when) < dt.timedelta(minutes=5)


def test_the_password_has_no_place_in_a_record_or_the_file(log):
    names = {field.name for field in dataclasses.fields(HistoryRecord)}
    assert names == FIELDS
    log.append(record_from_outcome(CheckKind.SEND_TEST, Service.TESTSIGMA,
                                   outcome(False, Category.AUTH, f"535 {SECRET}"), "x@example.test"))
    text = log.path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "password" not in text.lower()


def test_extra_keys_in_a_line_are_ignored(log):
    log.path.parent.mkdir(parents=True)
    log.path.write_text(json.dumps(record(1).to_json() | {"password": SECRET}) + "\n",
                        encoding="utf-8")
    [read] = log.records()
    assert read == record(1)
    assert SECRET not in repr(read)
    assert "password" not in read.to_json()


@pytest.mark.parametrize("data", [
    "text", [], {**record().to_json(), "elapsed_ms": True}, {**record().to_json(), "server": 25},
    {**record().to_json(), "category": 3},
])
def test_from_json_says_what_is_wrong(data):
    with pytest.raises(HistoryRecordError):
        HistoryRecord.from_json(data)


def test_now_utc_is_iso_8601_utc_with_milliseconds():
    text = now_utc()
    parsed = dt.datetime.fromisoformat(text)
    assert parsed.utcoffset() == dt.timedelta(0)
    assert text.endswith("+00:00") and len(text.split(".")[1]) == len("123+00:00")


def test_a_recipient_utf8_cannot_encode_is_recorded_as_a_visible_escape(log):
    """Found in review: `send-test --to` with bytes that are not UTF-8 reaches Python as a lone
    surrogate, and append() raised UnicodeEncodeError after the check had run."""
    entry = record_from_outcome(CheckKind.SEND_TEST, Service.OWN,
                                outcome(False, Category.INVALID_INPUT), recipient="a\udcffb@x.test")

    log.append(entry)

    [stored] = log.records()
    assert stored.recipient == "a\\udcffb@x.test"


def test_a_record_says_whether_saved_or_unsaved_settings_were_tested(log):
    """Issue 15: the window tests unsaved edits; the record says so. Old records read as saved."""
    log.append(record(1))
    log.append(dataclasses.replace(record(2), settings="unsaved"))
    assert [r.settings for r in log.records()] == ["saved", "unsaved"]
    old = {k: v for k, v in record(3).to_json().items() if k != "settings"}
    assert HistoryRecord.from_json(old).settings == "saved"


def test_a_rehearsal_is_kept_and_older_records_have_none(tmp_path):
    log = HistoryLog(tmp_path / "history.jsonl")
    log.append(record(1, rehearsal=("greylisted:always",)))
    with (tmp_path / "history.jsonl").open("a") as file:  # a line written before the field
        file.write(json.dumps({k: v for k, v in record(2).to_json().items()
                               if k != "rehearsal"}) + "\n")
    first, second = log.records()
    assert first.rehearsal == ("greylisted:always",) and second.rehearsal == ()
    assert first.to_json()["rehearsal"] == ["greylisted:always"]
    assert first.service_text.endswith("(rehearsal: greylisted)")
    assert second.service_text == second.service
