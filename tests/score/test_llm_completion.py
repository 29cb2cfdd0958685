"""Reading a chat completion from the response body as it came from the endpoint."""

import json

import pytest

from shortlist.score.llm.completion import InvalidOutput, parse_completion


def test_the_answer_its_finish_reason_model_and_usage_are_read() -> None:
    body = {
        "id": "c1",
        "model": "fake-model-2026",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": '{"a": 1}'}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127},
    }
    completion = parse_completion(json.dumps(body).encode())
    assert (completion.content, completion.finish_reason, completion.model) == ('{"a": 1}', "stop", "fake-model-2026")
    assert (completion.input_tokens, completion.output_tokens) == (120, 7)


def test_missing_parts_read_as_empty_and_unusable_counts_as_zero() -> None:
    completion = parse_completion(b'{"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": -3}}')
    assert (completion.content, completion.finish_reason, completion.model) == ("", "", "")
    assert (completion.input_tokens, completion.output_tokens) == (0, 0)


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b'["not", "a", "completion"]', b""])
def test_a_body_that_is_no_completion_is_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidOutput) as raised:
        parse_completion(body)
    assert raised.value.reason == "invalid_json"
