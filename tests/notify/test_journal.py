"""The outcome journal: what a killed worker wrote is read back by the next one, and a half-written line is
skipped rather than stopping the start."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shortlist.notify.journal import INTERRUPTED, Journal
from shortlist.notify.models import PENDING
from shortlist.notify.store import Claimed, Outcome


def outcome(number: int) -> Outcome:
    now = datetime.now(UTC)
    claimed = Claimed(
        delivery_id=f"d-{number}",
        subscription_id="s-1",
        event_id=f"e-{number}",
        application_id=f"a-{number}",
        job_id="j-1",
        attempts=2,
        tries=1,
        status_code=503,
        error="http_503",
        body='{"type":"cv.scored"}',
        submitted_at=None,
        created_at=now,
    )
    return Outcome(claimed, PENDING, now, status_code=429, error="http_429", next_at=now + timedelta(seconds=30))


def test_a_killed_workers_outcomes_are_read_back_and_the_file_is_emptied_once_recorded(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    assert first.open() == []
    written = [outcome(n) for n in range(3)]
    for each in written:
        assert isinstance(each.delivery, Claimed)
        first.begin(each.delivery)
        first.write(each)
    first.close()  # what the kernel keeps of a killed process: the lines, and the lock released

    second = Journal(tmp_path)
    read = second.open()
    assert [o.delivery.delivery_id for o in read] == ["d-0", "d-1", "d-2"]
    assert read[1].next_at == written[1].next_at and read[1].status_code == 429
    assert read[1].delivery.attempts == 2 and read[1].delivery.body == ""
    second.recorded(read)
    assert second.path is not None and second.path.read_bytes() == b""


def test_a_request_without_an_answer_is_read_back_as_interrupted_and_due_now(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.open()
    in_flight = outcome(7).delivery
    assert isinstance(in_flight, Claimed)
    first.begin(in_flight)
    first.close()

    read = Journal(tmp_path).open()
    assert len(read) == 1
    assert read[0].delivery.delivery_id == "d-7" and read[0].delivery.attempts == 2
    assert (read[0].state, read[0].error, read[0].attempted) == (PENDING, INTERRUPTED, True)
    assert read[0].next_at == read[0].at


def test_the_file_is_kept_while_a_request_is_in_flight(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    done, flying = outcome(1), outcome(2)
    for each in (done, flying):
        assert isinstance(each.delivery, Claimed)
        journal.begin(each.delivery)
    journal.write(done)
    journal.recorded([done])
    assert journal.path is not None and b"d-2" in journal.path.read_bytes()


def test_a_half_written_last_line_is_skipped(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.open()
    first.write(outcome(1))
    first.close()
    assert first.path is not None
    with first.path.open("ab") as file:
        file.write(b'{"delivery":{"delivery_id":"d-2"')
    assert [o.delivery.delivery_id for o in Journal(tmp_path).open()] == ["d-1"]


def test_two_workers_on_one_state_folder_take_separate_files(tmp_path: Path) -> None:
    first, second = Journal(tmp_path), Journal(tmp_path)
    first.open()
    second.open()
    assert first.path != second.path
    first.write(outcome(1))
    assert second.path is not None and second.path.read_bytes() == b""
