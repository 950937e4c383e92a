"""Delivery on deliver.{channel}.{chat}: what a gateway shows; and dead-letter records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from praktor_common.contracts.deadletter import DeadLetter
from praktor_common.contracts.deliver import Delivery, Notice
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id


def _delivery(origin_json: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"msg_id": new_id(), "origin": origin_json, "agent_id": "coder"} | extra


class TestDelivery:
    def test_a_final_answer_round_trips(self, origin_json: dict[str, Any]) -> None:
        delivery = Delivery.model_validate(
            _delivery(origin_json, kind="final", content="Done", reply_to="99")
        )
        assert Delivery.model_validate_json(delivery.model_dump_json()) == delivery

    def test_text_chunks_get_distinct_dedupe_ids_per_seq(self, origin: Origin) -> None:
        msg_id = new_id()
        chunks = [
            Delivery(msg_id=msg_id, origin=origin, agent_id="coder", kind="text", seq=s)
            for s in range(3)
        ]
        assert len({c.dedupe_id for c in chunks}) == 3
        final = Delivery(msg_id=msg_id, origin=origin, agent_id="coder", kind="final")
        assert final.dedupe_id not in {c.dedupe_id for c in chunks}
        assert msg_id in final.dedupe_id

    def test_a_file_needs_a_file_ref(self, origin_json: dict[str, Any]) -> None:
        ref = {"bucket": "praktor-files", "key": "out/1", "name": "a.png", "size": 3}
        Delivery.model_validate(_delivery(origin_json, kind="file", file=ref, content="caption"))
        with pytest.raises(ValidationError, match="file"):
            Delivery.model_validate(_delivery(origin_json, kind="file"))
        with pytest.raises(ValidationError, match="file"):
            Delivery.model_validate(_delivery(origin_json, kind="final", file=ref))

    def test_a_notice_needs_no_agent_but_a_notice(self, origin_json: dict[str, Any]) -> None:
        notice = {"code": "dead_letter", "text": "Sorry, I could not handle that message."}
        body = {"msg_id": new_id(), "origin": origin_json, "kind": "notice", "notice": notice}
        delivery = Delivery.model_validate(body)
        assert delivery.notice == Notice.model_validate(notice)
        with pytest.raises(ValidationError, match="notice"):
            Delivery.model_validate(body | {"notice": None})
        with pytest.raises(ValidationError, match="notice"):
            Delivery.model_validate(_delivery(origin_json, kind="final", notice=notice))

    def test_agent_text_needs_an_author(self, origin_json: dict[str, Any]) -> None:
        body = _delivery(origin_json, kind="final", agent_id=None)
        with pytest.raises(ValidationError, match="agent_id or swarm_id"):
            Delivery.model_validate(body)
        Delivery.model_validate(body | {"swarm_id": new_id()})

    @pytest.mark.parametrize(
        "bad",
        [
            {"origin": None},
            {"kind": "typing"},
            {"seq": -1},
            {"agent_id": "Coder"},
            {"created_at": "2026-02-17T10:20:00"},
            {"notice": {"code": "whatever", "text": "x"}},
        ],
    )
    def test_malformed_deliveries_are_refused(
        self, origin_json: dict[str, Any], bad: dict[str, Any]
    ) -> None:
        with pytest.raises(ValidationError):
            Delivery.model_validate(_delivery(origin_json, kind="final") | bad)


class TestDeadLetter:
    def _record(self, **extra: Any) -> dict[str, Any]:
        return {
            "stream": "INBOUND",
            "consumer": "router",
            "subject": "inbound.telegram.4242",
            "stream_seq": 17,
            "delivery_count": 5,
            "reason": "max_deliver",
            "error": "TimeoutError: agent did not start",
        } | extra

    def test_round_trips_and_names_the_original_without_its_body(
        self, origin_json: dict[str, Any]
    ) -> None:
        record = DeadLetter.model_validate(self._record(origin=origin_json, msg_id=new_id()))
        assert DeadLetter.model_validate_json(record.model_dump_json()) == record
        assert "body" not in json.loads(record.model_dump_json())
        assert record.failed_at.utcoffset() is not None

    @pytest.mark.parametrize(
        "bad",
        [
            {"reason": "oops"},
            {"stream_seq": 0},
            {"delivery_count": 0},
            {"error": "x" * 2001},
            {"body": "the original text"},
            {"failed_at": "2026-02-17T10:20:00"},
        ],
    )
    def test_malformed_records_are_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            DeadLetter.model_validate(self._record(**bad))
