from shortlist.runtime.events import decode_envelope, decode_message, encode_headers, header_map, new_envelope
from shortlist.v1 import cv_pb2


def test_cloudevents_headers_round_trip() -> None:
    message = cv_pb2.CvIngested(application_id="app-1", text="Python developer")
    envelope = new_envelope(message, source="/shortlist/tests")
    headers = header_map(encode_headers(envelope))
    assert headers["content-type"] == "application/protobuf"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "shortlist.cv.ingested.v1"
    decoded = decode_envelope(headers)
    assert decoded.id == envelope.id and decoded.time == envelope.time
    assert decode_message("cv.ingested.v1", headers, message.SerializeToString()) == message
