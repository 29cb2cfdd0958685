from pathlib import Path

import pytest

from shortlist.cli.jobfile import JobFileError, parse_job

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_title_is_the_first_heading_and_left_out_of_the_description() -> None:
    job = parse_job("Intro line\n\n## Data Engineer ##\n\nWe need:\n- Python\n- SQL\n")
    assert job.title == "Data Engineer"
    assert "Data Engineer" not in job.description
    assert job.description.startswith("Intro line")
    assert "- Python\n- SQL" in job.description


def test_given_title_wins_and_the_text_stays_whole() -> None:
    job = parse_job("# Old title\n\nBuild APIs.\n", title="  Platform Engineer ")
    assert job.title == "Platform Engineer"
    assert job.description == "# Old title\n\nBuild APIs."


def test_plain_text_takes_its_first_line_as_title() -> None:
    job = parse_job("\n\nBackend Developer\r\nPython and Kafka.\r\n")
    assert job.title == "Backend Developer"
    assert job.description == "Python and Kafka."


@pytest.mark.parametrize("text", ["", "  \n\n", "# Only a title\n"])
def test_empty_descriptions_are_refused(text: str) -> None:
    with pytest.raises(JobFileError):
        parse_job(text)


def test_sample_job_keeps_its_requirement_lists() -> None:
    job = parse_job((EXAMPLES / "job.md").read_text(encoding="utf-8"))
    assert job.title == "Senior Python Backend Engineer"
    assert "## Must have" in job.description and "## Nice to have" in job.description
    assert sum(1 for line in job.description.splitlines() if line.startswith("- ")) == 8


def test_sample_cvs_are_four_pdfs_and_two_docx() -> None:
    suffixes = sorted(p.suffix for p in (EXAMPLES / "cvs").iterdir())
    assert suffixes == [".docx"] * 2 + [".pdf"] * 4
