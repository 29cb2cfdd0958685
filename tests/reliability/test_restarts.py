"""Restarts with CVs in flight, on the embedded stack as `shortlist up` runs it: nothing lost, nothing done twice.

The short version of `make chaos`: a whole-stack SIGKILL and restart with 30 CVs in flight, then services killed
one by one and the broker restarted (it keeps nothing) while more CVs flow. Checked from the outside: statuses
in ingest's database, rows in score's audit, webhook ids at a receiver, committed offsets on the broker.
"""

import shutil
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from scripts.chaos_checks import Outcome, settle, statuses
from scripts.chaos_harness import Harness, Submitter, generated_cvs, temporary_state
from shortlist.cli.main import app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FAST_REDRIVE = {"SHORTLIST_REDRIVE_AFTER_SECONDS": "10", "SHORTLIST_REDRIVE_INTERVAL_SECONDS": "2"}


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    running = Harness(temporary_state(), env=FAST_REDRIVE).start()
    running.job_id = running.setup_job()  # type: ignore[attr-defined]
    yield running
    running.stop()
    shutil.rmtree(running.state_dir, ignore_errors=True)


def assert_all_scored_once(result: Outcome, count: int) -> None:
    figures = f"{result.line()}; refused {result.refused}; lag {result.lag}"
    assert result.submitted == count, figures
    assert result.stuck == [] and result.failed == {}, figures
    assert result.scored == count, figures
    assert result.scored_twice == 0, figures
    # An answer that reached notify before it was killed is journaled and not sent again; only a request in
    # flight at the kill (logged as interrupted) may be.
    assert result.webhooks_duplicated == result.duplicated_in_flight, figures
    assert all(lag == 0 for lag in result.lag.values()), figures


def test_a_whole_stack_restart_with_30_cvs_in_flight_scores_all_30_once_afterwards(harness: Harness) -> None:
    submitter = Submitter(harness, harness.job_id, generated_cvs(30), pace=0)  # type: ignore[attr-defined]
    submitter.run()  # in this thread: all 30 accepted before the crash
    accepted = list(submitter.accepted.values())
    assert len(accepted) == 30, submitter.refused
    status = statuses(harness.state_dir)
    in_flight = [a for a in accepted if status.get(a) != "notified"]
    assert in_flight, "every CV was through before the crash; nothing was in flight"

    harness.restart_everything(len(accepted), 30 - len(in_flight))
    result = settle(harness, accepted, timeout=300)

    assert_all_scored_once(result, 30)
    assert harness.receiver.received == 30, result.line()  # one webhook id per application


def test_each_service_killed_and_the_broker_restarted_while_cvs_flow(harness: Harness) -> None:
    before = harness.receiver.received
    documents = generated_cvs(60)[30:]  # other CVs than the first test's: no duplicates of them
    submitter = Submitter(harness, harness.job_id, documents, pace=0.3)  # type: ignore[attr-defined]
    submitter.start()
    for name, after in (("score", 5), ("notify", 12), ("ingest", 18)):
        while len(submitter.accepted) < after and submitter.is_alive():
            submitter.join(0.2)
        harness.kill_and_restart(name, len(submitter.accepted), 0)
    harness.restart_broker(len(submitter.accepted), 0)
    submitter.join()
    accepted = list(submitter.accepted.values())

    result = settle(harness, accepted, timeout=300)

    assert_all_scored_once(result, 30)
    assert harness.receiver.received - before == 30, result.line()

    # Everything got through: `shortlist redrive` finds nothing left behind, even with no waiting time.
    cli = ["--ingest-url", harness.stack.url("ingest"), "--api-key", harness.stack.api_key]
    answer = CliRunner().invoke(app, [*cli, "redrive", "--older-than", "0"])
    assert answer.exit_code == 0, answer.output
    assert "re-drove 0 application(s)" in answer.output
