"""shortlist top's own arithmetic (Prometheus' histogram quantile, legend templates) and its word on silent services."""

import math

from shortlist.cli.top import FromMetrics, fmt, legend, quantile
from shortlist.runtime.broker import free_port


def test_quantile_interpolates_inside_the_bucket_like_prometheus() -> None:
    # 10 observations: 4 up to 1 s, 6 more up to 2 s. p50 is the 5th: 1/6 of the way into (1, 2].
    buckets = [(1.0, 4.0), (2.0, 10.0), (math.inf, 10.0)]
    assert quantile(0.5, buckets) == 1 + 1 / 6
    assert quantile(0.2, buckets) == 0.5
    assert quantile(0.99, [(1.0, 0.0), (math.inf, 5.0)]) == 1.0  # in the +Inf bucket: the last finite bound
    assert math.isnan(quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]))


def test_legend_and_units() -> None:
    assert legend("{{service}} {{topic}}[{{partition}}]", {"service": "embed", "topic": "t", "partition": "2"}) == (
        "embed t[2]"
    )
    assert legend("", {"a": "b"}) == "value"
    assert (fmt(0.25, "s"), fmt(2.5, "s"), fmt(0.5, "percentunit"), fmt(3, "ops")) == (
        "250 ms",
        "2.50 s",
        "50.0 %",
        "3.00/s",
    )


def test_services_that_do_not_answer_are_named_rather_than_shown_as_zero() -> None:
    source = FromMetrics({"ingest": free_port(), "embed": free_port()})
    source.read()
    assert source.unreachable == ["ingest", "embed"]
    assert "not answering: ingest, embed" in source.name
