"""The records the runner and its child processes exchange (workshop.running.protocol)."""

from __future__ import annotations

from workshop.running import protocol


def test_records_round_trip_with_nested_reports(tmp_path):
    report = protocol.ModelReport(histories=[{"loss": [1.0, 0.5]}], problem="unloadable", load_error="no")
    execution = protocol.Execution(status="error", kind="exception", cell=4, ename="ValueError", model=report)
    protocol.write(tmp_path / "execution.json", execution)
    back = protocol.read(tmp_path / "execution.json", protocol.Execution)
    assert back == execution
    assert isinstance(back.model, protocol.ModelReport)


def test_a_missing_or_partial_record_reads_as_none(tmp_path):
    assert protocol.read(tmp_path / "missing.json", protocol.Score) is None
    (tmp_path / "partial.json").write_text('{"status": "ok", "metr')
    assert protocol.read(tmp_path / "partial.json", protocol.Score) is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert protocol.read(tmp_path / "list.json", protocol.Score) is None


def test_unknown_keys_are_ignored(tmp_path):
    (tmp_path / "score.json").write_text('{"status": "ok", "metrics": {"test_accuracy": 0.9}, "extra": 1}')
    assert protocol.read(tmp_path / "score.json", protocol.Score) == protocol.Score("ok", {"test_accuracy": 0.9})
