"""Replays what the fuzzers start from and every input they ever crashed on: each must end in a clear error or text."""

import pytest

from tests.fuzz.targets import TARGETS, regressions, seeds

CASES = [
    pytest.param(name, path.read_bytes(), id=f"{name}/{path.name}") for name in TARGETS for path in regressions(name)
]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_seeds_are_read(target: str) -> None:
    for seed in seeds(target):
        TARGETS[target](seed)


@pytest.mark.parametrize(("target", "data"), CASES)
def test_crash_found_by_fuzzing_is_now_a_clear_error(target: str, data: bytes) -> None:
    TARGETS[target](data)


def test_the_regression_corpus_is_not_empty() -> None:
    assert CASES, "tests/fuzz/regressions holds the inputs fuzzing crashed on"
