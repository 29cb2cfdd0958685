"""Property-based fuzzing of every HTTP route of every service, from its own OpenAPI (schemathesis), on the real stack.

Valid and invalid requests (positive and negative generation) with a fixed seed: no answer may be a 5xx, and
every answer must match the schema its OpenAPI declares for that status and content type. The number of
examples per route and mode is ``SHORTLIST_SCHEMA_EXAMPLES`` (a few in the test suite; ``make fuzz`` asks
for more).
"""

import collections
import contextlib
import os
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shortlist.cli.stack import SERVICES, Stack
from tests.e2e.keys import FULL_KEY

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EXAMPLES = int(os.environ.get("SHORTLIST_SCHEMA_EXAMPLES", "4"))
REPORT = os.environ.get("SHORTLIST_SCHEMA_REPORT")  # a file the summary lines are appended to
AUTH = {"Authorization": f"Bearer {FULL_KEY}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz_operation(
    operation: Any, mode: GenerationMode, base_url: str, path_parameters: dict[str, str] | None = None
) -> tuple[collections.Counter[int], list[str]]:
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[str] = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: Case) -> None:
        response = case.call(base_url=base_url, headers=AUTH, timeout=60)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=AUTH)
        except (AssertionError, FailureGroup) as failure:  # each with the curl command that reproduces it
            failures.append(f"{response.status_code}: {str(failure)[:1500]}")

    # A route without parameters or body has nothing to make invalid: no negative cases.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()
    return statuses, failures


def existing_ids(stack: Stack, service: str) -> dict[str, str]:
    if service != "ingest":
        return {}
    job = {"title": "Fuzzed", "description": "## Must have\n- Python\n- Kafka\n"}
    created = httpx.post(f"{stack.url('ingest')}/v1/jobs", json=job, headers=AUTH, timeout=30)
    assert created.status_code == 201, created.text
    return {"job_id": created.json()["id"]}


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_answers_within_its_schema_and_never_5xx(stack: Stack, service: str) -> None:
    base_url = stack.url(service)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30)
    summary: list[str] = []
    failures: list[str] = []
    server_errors = 0
    known = existing_ids(stack, service)
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}'s OpenAPI has an operation schemathesis cannot read: {result}"
        operation = result.ok()
        # Random ids mostly find nothing (404): routes on a job also run against one that exists.
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (mode, None) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        runs += [(GenerationMode.POSITIVE, {k: v}) for k, v in known.items() if f"{{{k}}}" in operation.path]
        for mode, path_parameters in runs:
            statuses, found = fuzz_operation(operation, mode, base_url, path_parameters)
            if not statuses:
                continue
            calls = sum(statuses.values())
            codes = " ".join(f"{code}x{n}" for code, n in sorted(statuses.items()))
            label = f"{mode.value}{', known ' + next(iter(path_parameters)) if path_parameters else ''}"
            summary.append(f"{service:<7} {operation.label:<48} {label:<22} {calls:>4} calls  {codes}")
            failures += [f"{operation.label} ({mode.value}) {f}" for f in found]
            server_errors += sum(n for code, n in statuses.items() if code >= 500)
    print("\n" + "\n".join(summary))
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as report:
            report.write("\n".join(summary) + "\n")
    assert summary, f"{service} has no operation in its OpenAPI"
    assert not failures, f"{server_errors} answers were 5xx\n\n" + "\n\n".join(failures[:10])


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs?offset=9223372036854775808",
        "/v1/jobs/any?version=9223372036854775808",
        "/v1/jobs/any/ranking?offset=2147483648",
    ],
)
def test_integers_past_what_the_database_holds_are_refused_not_500(stack: Stack, path: str) -> None:
    """Found by the schemathesis run with 50 examples per route: an offset past 2**63 overflowed SQLite."""
    answer = httpx.get(f"{stack.url('ingest')}{path}", headers=AUTH, timeout=30)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
