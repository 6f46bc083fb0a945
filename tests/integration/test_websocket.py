"""WebSocket over loopback with an independent client (Python `websockets`): echo of text and
binary, with and without permessage-deflate, fragmented and large messages, pings, close codes."""
import asyncio

import pytest
import websockets
from websockets.exceptions import ConnectionClosed


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_echo_text_and_binary(hub, compression):
    async def go():
        async with websockets.connect(hub.url + "/echo", compression=compression, max_size=None) as ws:
            for msg in ["", "hello", "κόσμε €𝄞", "x" * 125, "y" * 126, "z" * 65536, "w" * 700_000]:
                await ws.send(msg)
                assert await ws.recv() == msg
            for msg in [b"", b"\x00\xff" * 10, bytes(range(256)) * 300]:
                await ws.send(msg)
                assert await ws.recv() == msg
            negotiated = [e.name for e in ws.protocol.extensions]
            assert negotiated == (["permessage-deflate"] if compression else [])
    run(go())


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_fragmented_messages_are_reassembled(hub, compression):
    async def go():
        async with websockets.connect(hub.url + "/echo", compression=compression) as ws:
            await ws.send(["frag", "men", "ted ", "κό"])
            assert await ws.recv() == "fragmented κό"
            await ws.send([b"\x01" * 1000, b"\x02" * 1000])
            assert await ws.recv() == b"\x01" * 1000 + b"\x02" * 1000
    run(go())


def test_large_message_up_to_the_limit(hub):
    async def go():
        async with websockets.connect(hub.url + "/echo", max_size=None, compression=None) as ws:
            big = b"\xab" * (1024 * 1024)          # one frame at --max-frame-bytes
            await ws.send(big)
            assert await ws.recv() == big
            await ws.send([b"a" * (1024 * 1024)] * 4)  # 4 MiB message in 4 frames
            assert len(await ws.recv()) == 4 * 1024 * 1024
    run(go())


def test_compressed_repetitive_message_round_trips(hub):
    async def go():
        async with websockets.connect(hub.url + "/echo", compression="deflate", max_size=None) as ws:
            msg = "{\"status\":\"completed\",\"data\":{}}" * 20000
            await ws.send(msg)
            assert await ws.recv() == msg
    run(go())


def test_ping_gets_pong(hub):
    async def go():
        async with websockets.connect(hub.url + "/echo") as ws:
            latency = await asyncio.wait_for(await ws.ping(b"payload"), 5)
            assert latency >= 0
    run(go())


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_close_code_is_echoed(hub, code):
    async def go():
        ws = await websockets.connect(hub.url + "/echo")
        await ws.close(code=code, reason="bye")
        assert ws.protocol.close_rcvd.code == code
    run(go())


def test_many_concurrent_clients_each_get_their_own_echo(hub):
    async def client(i):
        async with websockets.connect(hub.url + "/echo") as ws:
            for j in range(20):
                await ws.send(f"{i}:{j}")
                assert await ws.recv() == f"{i}:{j}"

    async def go():
        await asyncio.gather(*(client(i) for i in range(100)))
    run(go())


def test_plain_http_on_a_websocket_route_gets_426(hub):
    import requests
    r = requests.get(hub.http("/echo"))
    assert r.status_code == 426 and r.headers["Upgrade"] == "websocket"


def test_handshake_errors(hub):
    import requests
    base = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    r = requests.get(hub.http("/echo"), headers={**base, "Sec-WebSocket-Version": "8"})
    assert r.status_code == 426 and r.headers["Sec-WebSocket-Version"] == "13"
    r = requests.get(hub.http("/echo"), headers={**base, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    r = requests.post(hub.http("/echo"), headers={**base, "Sec-WebSocket-Version": "13"})
    assert r.status_code == 405


def test_origin_allow_list(make_hub):
    h = make_hub("--echo-path", "/echo", "--allowed-origin", "https://app.example")

    async def go():
        async with websockets.connect(h.url + "/echo", origin="https://app.example") as ws:
            await ws.send("ok")
            assert await ws.recv() == "ok"
        with pytest.raises(websockets.exceptions.InvalidStatus) as e:
            await websockets.connect(h.url + "/echo", origin="https://evil.example")
        assert e.value.response.status_code == 403
    run(go())


def test_idle_websocket_is_pinged_and_dead_peer_closed(make_hub):
    from rawws import RawWS
    h = make_hub("--echo-path", "/echo", "--idle-timeout", "1", "--pong-timeout", "1")
    ws = RawWS(h.port)
    fin, rsv, op, payload = ws.recv_frame()
    assert op == 9                       # the server pings after 1 s of silence
    ws.send_frame(10, payload)           # pong: the connection stays
    ws.send_frame(1, b"still here")
    assert ws.recv_frame()[3] == b"still here"
    assert ws.recv_frame()[2] == 9       # silent again: pinged again
    assert ws.expect_close() == 1001     # no pong within 1 s: closed as going away
    assert ws.close_reason == "no answer to ping"
    ws.close()


def test_8_bit_server_window_is_accepted_and_replies_come_uncompressed(hub):
    from rawws import RawWS
    ws = RawWS(hub.port, extra_headers="Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n")
    assert "server_max_window_bits=8" in ws.response_head
    ws.send_frame(1, b"a" * 5000)
    fin, rsv, op, payload = ws.recv_frame()
    assert rsv == 0 and payload == b"a" * 5000          # RSV1 clear: sent uncompressed
    compressed = bytes([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])   # "Hello", RFC 7692 7.2.3.1
    ws.send_frame(1, compressed, rsv=4)
    assert ws.recv_frame()[3] == b"Hello"
    ws.close()
