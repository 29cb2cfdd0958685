"""The overall recommendation: an unproven must-have (missing or unverifiable) caps it at review."""

from shortlist.score.scorers.base import Recommendation, RequirementResult, Thresholds, Verdict, overall

THRESHOLDS = Thresholds(advance=70, reject=45)


def requirement(verdict: Verdict, score: float, must: bool = True, name: str = "r1") -> RequirementResult:
    return RequirementResult(name, name, must, 1.0 if must else 0.5, score, verdict, (), "")


def test_an_unverifiable_must_have_caps_the_recommendation_like_a_missing_one() -> None:
    strong = [requirement(Verdict.MET, 95, name=f"r{i}") for i in range(4)]
    assert overall(strong, THRESHOLDS, ()) == (95.0, Recommendation.ADVANCE)

    # Four strong must-haves and one the model claimed without quotes found in the CV: the mean is still high,
    # but the recommendation is no better than review.
    for verdict in (Verdict.UNVERIFIABLE, Verdict.MISSING):
        score, recommendation = overall([*strong, requirement(verdict, 60, name="r9")], THRESHOLDS, ())
        assert score >= THRESHOLDS.advance
        assert recommendation == Recommendation.REVIEW, verdict

    # A nice-to-have that could not be verified does not cap; a reject stays a reject.
    nice = requirement(Verdict.UNVERIFIABLE, 0, must=False, name="n1")
    assert overall([*strong, nice], THRESHOLDS, ())[1] == Recommendation.ADVANCE
    weak = [requirement(Verdict.UNVERIFIABLE, 0), requirement(Verdict.PARTIAL, 40, name="r2")]
    assert overall(weak, THRESHOLDS, ())[1] == Recommendation.REJECT
