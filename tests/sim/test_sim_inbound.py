"""Inbound listeners: orders validated and answered (ACK or ORG/ORL) with results produced on
the results link, registrations, enhanced-mode alerts, answer faults, and bad input."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import trustme

from eprlink.ack import Problem
from eprlink.hl7 import Message, parse
from eprlink.sim import (
    FaultConfig,
    ListenerConfig,
    ListenerKind,
    Simulator,
    TLSConfig,
    exchange,
)
from eprlink.sim.hospital import Hospital, TrustSettings

from .conftest import Tie, adt, outbound, run, sim_config, until

HOST = "127.0.0.1"


def _hospital() -> Hospital:
    return Hospital(11, beds=10, trust=TrustSettings(charset="UNICODE"))


def _orders(**options: object) -> ListenerConfig:
    settings: dict[str, object] = {"order_response": True, "result_delay": 0.05}
    settings.update(options)
    return ListenerConfig(kind=ListenerKind.ORDERS, port=0, **settings)  # type: ignore[arg-type]


async def _one(sim: Simulator, kind: ListenerKind, payload: bytes, **options: float) -> Message:
    replies = await exchange(HOST, sim.port(kind), payload, **options)  # type: ignore[arg-type]
    assert len(replies) == 1
    return parse(replies[0])


def test_an_accepted_order_gets_orl_and_its_results_on_the_results_link() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(_orders(), outbound(ListenerKind.RESULTS))) as sim:
            order = _hospital().order(kind="OML^O21")
            reply = await _one(sim, ListenerKind.ORDERS, order.to_bytes())
            assert reply.raw("MSH-9") == "ORL^O22^ORL_O22"
            assert (reply.get("MSA-1"), reply.get("MSA-2")) == ("AA", order.control_id)
            orcs = reply.segments("ORC")
            assert [s.get(1) for s in orcs] == ["OK"] * len(order.segments("ORC"))
            tie = await Tie(sim.port("results")).connect()
            await until(lambda: len(tie.received) == 1)
            results = parse(tie.received[0])
            assert results.raw("MSH-9") == "ORU^R01^ORU_R01"
            assert results.control_id == f"R{order.control_id}"[:20]
            obx = results.segments("OBX")[0]
            assert obx.get(6) and obx.get(7) and obx.get(8)  # units, reference range, flag
            again = await _one(sim, ListenerKind.ORDERS, order.to_bytes())
            assert again.get("MSA-1") == "AA"  # a resent order is answered again …
            await asyncio.sleep(0.2)
            assert len(tie.received) == 1  # … but its results are not produced twice
            assert sim.results_queued == 1
            await tie.close()

    run(scenario())


def test_omg_gets_org_and_results_can_be_oul() -> None:
    async def scenario() -> None:
        config = sim_config(_orders(result_type="OUL^R22"), outbound(ListenerKind.RESULTS))
        async with Simulator(config) as sim:
            order = _hospital().order(kind="OMG^O19")
            reply = await _one(sim, ListenerKind.ORDERS, order.to_bytes())
            assert (reply.raw("MSH-9"), reply.get("MSA-1")) == ("ORG^O20^ORG_O20", "AA")
            tie = await Tie(sim.port("results")).connect()
            await until(lambda: len(tie.received) == 1)
            assert parse(tie.received[0]).raw("MSH-9") == "OUL^R22^OUL_R22"
            await tie.close()

    run(scenario())


def test_an_invalid_order_gets_ae_with_err_and_no_results() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(_orders(order_response=False))) as sim:
            order = _hospital().order()
            order.set("PID-7", "20251340")
            reply = await _one(sim, ListenerKind.ORDERS, order.to_bytes())
            assert reply.raw("MSH-9") == "ACK^O21^ACK"
            assert reply.get("MSA-1") == "AE"
            assert reply.get("MSA-3") == "data type error at PID-7"
            assert reply.get("ERR-1.4.1") == "102"
            await asyncio.sleep(0.1)
            assert sim.pending() == 0 and sim.results_queued == 0

    run(scenario())


def test_unsupported_types_and_events_are_rejected() -> None:
    async def scenario() -> None:
        registrations = ListenerConfig(kind=ListenerKind.REGISTRATIONS, port=0, validate=False)
        async with Simulator(sim_config(_orders(validate=False), registrations)) as sim:
            reply = await _one(sim, ListenerKind.ORDERS, adt("X1"))
            assert (reply.get("MSA-1"), reply.get("ERR-1.4.1")) == ("AR", "200")
            reply = await _one(sim, ListenerKind.REGISTRATIONS, adt("X2", trigger="A08"))
            assert (reply.get("MSA-1"), reply.get("ERR-1.4.1")) == ("AR", "201")
            reply = await _one(sim, ListenerKind.REGISTRATIONS, adt("X3", trigger="A28"))
            assert reply.get("MSA-1") == "AA"

    run(scenario())


def test_registrations_are_validated_and_senders_can_be_limited() -> None:
    async def scenario() -> None:
        open_port = ListenerConfig(kind=ListenerKind.REGISTRATIONS, port=0)
        async with Simulator(sim_config(open_port)) as sim:
            registration = _hospital().register().messages[0]
            reply = await _one(sim, ListenerKind.REGISTRATIONS, registration.to_bytes())
            assert reply.get("MSA-1") == "AA"
        limited = ListenerConfig(
            kind=ListenerKind.REGISTRATIONS, port=0, allowed_senders=("GPSYSTEM",)
        )
        async with Simulator(sim_config(limited)) as sim:
            reply = await _one(sim, ListenerKind.REGISTRATIONS, registration.to_bytes())
            assert (reply.get("MSA-1"), reply.get("MSA-3")) == ("AR", "application internal error")

    run(scenario())


def _alert(accept: str | None, application: str | None) -> Message:
    message = _hospital().ed_attendance().messages[0]
    if accept:
        message.set("MSH-15", accept)
    if application:
        message.set("MSH-16", application)
    return message


def test_alerts_get_a_commit_ack_then_the_application_ack() -> None:
    async def scenario() -> None:
        alerts = ListenerConfig(kind=ListenerKind.ALERTS, port=0, app_ack_delay=0.05)
        async with Simulator(sim_config(alerts)) as sim:
            message = _alert("AL", "AL")
            replies = await exchange(HOST, sim.port("alerts"), message.to_bytes(), replies=2)
            codes = [(parse(r).get("MSA-1"), parse(r).get("MSA-2")) for r in replies]
            assert codes == [("CA", message.control_id), ("AA", message.control_id)]
            assert all(parse(r).get("MSH-16") == "NE" for r in replies)
            only_app = _alert("NE", "AL")
            replies = await exchange(
                HOST, sim.port("alerts"), only_app.to_bytes(), replies=2, timeout=0.5
            )
            assert [parse(r).get("MSA-1") for r in replies] == ["AA"]
            invalid = _alert("AL", "AL")
            invalid.set("PID-7", "20251340")
            replies = await exchange(HOST, sim.port("alerts"), invalid.to_bytes(), replies=2)
            assert [parse(r).get("MSA-1") for r in replies] == ["CA", "AE"]

    run(scenario())


def test_answer_faults_slow_acks_and_drops() -> None:
    async def scenario() -> None:
        def listener(**rates: float) -> ListenerConfig:
            return ListenerConfig(
                kind=ListenerKind.REGISTRATIONS,
                port=0,
                validate=False,
                faults=FaultConfig(**rates),  # type: ignore[arg-type]
            )

        payload = adt("F1", trigger="A28")
        async with Simulator(sim_config(listener(error=1.0))) as sim:
            reply = await _one(sim, ListenerKind.REGISTRATIONS, payload)
            assert (reply.get("MSA-1"), reply.get("ERR-1.4.1")) == ("AE", "206")
        async with Simulator(sim_config(listener(reject=1.0))) as sim:
            reply = await _one(sim, ListenerKind.REGISTRATIONS, payload)
            assert (reply.get("MSA-1"), reply.get("ERR-1.4.1")) == ("AR", "207")
        async with Simulator(sim_config(listener(delay=1.0, delay_max=0.3))) as sim:
            started = time.monotonic()
            reply = await _one(sim, ListenerKind.REGISTRATIONS, payload)
            assert time.monotonic() - started >= 0.15 and reply.get("MSA-1") == "AA"
        async with Simulator(sim_config(listener(drop_before=1.0))) as sim:
            assert await exchange(HOST, sim.port("registrations"), payload, timeout=1) == []
            assert sim.listeners["registrations"].injector.injected["drop_before"] == 1

    run(scenario())


def test_bad_input_gets_the_policy_answers() -> None:
    async def scenario() -> None:
        config = ListenerConfig(kind=ListenerKind.REGISTRATIONS, port=0, validate=False)
        async with Simulator(sim_config(config)) as sim:
            empty = await _one(sim, ListenerKind.REGISTRATIONS, b"  ")
            assert (empty.get("MSA-1"), empty.raw("MSA-2")) == ("AR", None)
            utf16 = adt("U1", trigger="A28").decode().encode("utf-16-le")
            reply = await _one(sim, ListenerKind.REGISTRATIONS, utf16)
            assert (reply.get("MSA-1"), reply.get("MSA-3")) == ("AR", "unsupported encoding")
            ack = b"MSH|^~\\&|T|T|||20250101||ACK^A28^ACK|K1|P|2.4\rMSA|AA|U1\r"
            assert await exchange(HOST, sim.port("registrations"), ack, timeout=0.3) == []

    run(scenario())


def test_a_failing_check_gets_ar_207_not_a_dropped_connection() -> None:
    def broken(message: Message) -> list[Problem]:
        raise RuntimeError("profile bug")

    async def scenario() -> None:
        config = sim_config(ListenerConfig(kind=ListenerKind.REGISTRATIONS, port=0))
        async with Simulator(config) as sim:
            sim.listeners["registrations"].responder._check = broken
            reply = await _one(sim, ListenerKind.REGISTRATIONS, adt("E1", trigger="A28"))
            assert (reply.get("MSA-1"), reply.get("ERR-1.4.1")) == ("AR", "207")
            assert not sim.enqueue("adt", adt("E2"))  # no ADT link configured
        async with Simulator(sim_config(outbound())) as sim:
            assert not sim.enqueue("adt", adt("E3") + b"\x1c")  # could never be framed
            assert sim.enqueue("adt", adt("E4"))

    run(scenario())


def test_inbound_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    server = ca.issue_cert("localhost")
    cert, ca_file = tmp_path / "s.pem", tmp_path / "ca.pem"
    server.private_key_and_cert_chain_pem.write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    listener = ListenerConfig(
        kind=ListenerKind.REGISTRATIONS, port=0, validate=False, tls=TLSConfig(cert=cert)
    )

    async def scenario() -> None:
        async with Simulator(sim_config(listener)) as sim:
            context = ssl.create_default_context(cafile=str(ca_file))
            replies = await exchange(
                HOST,
                sim.port("registrations"),
                adt("T1", trigger="A28"),
                ssl=context,
                server_hostname="localhost",
            )
            assert [parse(r).get("MSA-1") for r in replies] == ["AA"]

    run(scenario())
