"""Protocol conformance over a raw socket, case by case in the spirit of the Autobahn testsuite's
sections (framing, pings, reserved bits and opcodes, fragmentation, UTF-8, close handling, limits).
Each bad case checks the exact close code, that the server closes TCP, and that it keeps serving."""
import struct
import time

import pytest

from rawws import RawWS, close_payload


def echo_ok(hub):
    ws = RawWS(hub.port)
    ws.send_frame(1, b"alive")
    assert ws.recv_frame()[3] == b"alive"
    ws.send_frame(8, close_payload(1000))
    assert ws.expect_close() == 1000
    ws.close()


def expect_failure(hub, data, code):
    ws = RawWS(hub.port)
    ws.send(data)
    assert ws.expect_close() == code
    assert ws.closed_by_server()
    ws.close()
    echo_ok(hub)


# 1.x framing: payload lengths around the 7/16/64-bit boundaries
@pytest.mark.parametrize("n", [0, 1, 125, 126, 127, 128, 65535, 65536, 65537])
def test_1_echo_payload_lengths(hub, n):
    ws = RawWS(hub.port)
    ws.send_frame(2, bytes([n % 251]) * n)
    fin, rsv, op, payload = ws.recv_frame()
    assert (fin, rsv, op, len(payload)) == (True, 0, 2, n)
    ws.close()


def test_1_text_sent_in_tiny_chunks(hub):
    ws = RawWS(hub.port)
    data = RawWS.frame(1, "chunked κόσμε".encode() * 10)
    for i in range(0, len(data), 3):
        ws.send(data[i:i + 3])
        time.sleep(0.001)
    assert ws.recv_frame()[3] == "chunked κόσμε".encode() * 10
    ws.close()


# 2.x pings
def test_2_ping_payloads_are_echoed_in_pongs(hub):
    ws = RawWS(hub.port)
    for payload in [b"", b"hello", bytes(range(125))]:
        ws.send_frame(9, payload)
        assert ws.recv_frame()[2:] == (10, payload)
    ws.close()


def test_2_ping_over_125_bytes_fails_1002(hub):
    expect_failure(hub, RawWS.frame(9, b"x" * 126), 1002)


def test_2_unsolicited_pong_is_ignored(hub):
    ws = RawWS(hub.port)
    ws.send_frame(10, b"unasked")
    ws.send_frame(1, b"after")
    assert ws.recv_frame()[3] == b"after"
    ws.close()


def test_2_ten_pings_get_ten_pongs(hub):
    ws = RawWS(hub.port)
    ws.send(b"".join(RawWS.frame(9, b"p%d" % i) for i in range(10)))
    assert [ws.recv_frame()[3] for _ in range(10)] == [b"p%d" % i for i in range(10)]
    ws.close()


# 3.x reserved bits, 4.x reserved opcodes
@pytest.mark.parametrize("rsv", [1, 2, 3, 4, 5, 6, 7])
def test_3_reserved_bits_fail_1002(hub, rsv):
    expect_failure(hub, RawWS.frame(1, b"x", rsv=rsv), 1002)


@pytest.mark.parametrize("op", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_4_reserved_opcodes_fail_1002(hub, op):
    expect_failure(hub, RawWS.frame(op, b"x"), 1002)


def test_4_reserved_opcode_after_a_valid_message_fails_after_the_echo(hub):
    ws = RawWS(hub.port)
    ws.send(RawWS.frame(1, b"first") + RawWS.frame(5, b"") + RawWS.frame(9, b""))
    assert ws.recv_frame()[3] == b"first"
    assert ws.expect_close() == 1002
    ws.close()


# 5.x fragmentation
def test_5_fragmented_ping_fails_1002(hub):
    expect_failure(hub, RawWS.frame(9, b"a", fin=False) + RawWS.frame(0, b"b"), 1002)


def test_5_pings_between_fragments_are_answered_first(hub):
    ws = RawWS(hub.port)
    ws.send(RawWS.frame(1, b"frag", fin=False) + RawWS.frame(9, b"mid") + RawWS.frame(0, b"ment"))
    assert ws.recv_frame()[2:] == (10, b"mid")
    assert ws.recv_frame()[2:] == (1, b"frag" + b"ment")
    ws.close()


def test_5_continuation_without_start_fails_1002(hub):
    expect_failure(hub, RawWS.frame(0, b"x"), 1002)


def test_5_text_inside_fragmented_text_fails_1002(hub):
    expect_failure(hub, RawWS.frame(1, b"a", fin=False) + RawWS.frame(1, b"b"), 1002)


def test_5_many_fragments_one_byte_each(hub):
    ws = RawWS(hub.port)
    payload = b"abcdefghijklmnopqrstuvwxyz" * 4
    data = RawWS.frame(1, payload[:1], fin=False)
    data += b"".join(RawWS.frame(0, payload[i:i + 1], fin=False) for i in range(1, len(payload) - 1))
    data += RawWS.frame(0, payload[-1:])
    ws.send(data)
    assert ws.recv_frame()[3] == payload
    ws.close()


# 6.x UTF-8
@pytest.mark.parametrize("text", ["κόσμε", "\U0010ffff", "\ud7ff", "\ue000", "a" * 1000 + "€"])
def test_6_valid_utf8_is_echoed(hub, text):
    ws = RawWS(hub.port)
    ws.send_frame(1, text.encode())
    assert ws.recv_frame()[3] == text.encode()
    ws.close()


@pytest.mark.parametrize("bad", [b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"\x80", b"\xe0\x80\xaf", b"ab\xce"])
def test_6_invalid_utf8_fails_1007(hub, bad):
    expect_failure(hub, RawWS.frame(1, bad), 1007)


def test_6_invalid_utf8_fails_fast_before_the_frame_ends(hub):
    ws = RawWS(hub.port)
    payload = "κόσμε".encode() + b"\xed\xa0\x80" + b"a" * 1000
    frame = RawWS.frame(1, payload)
    header = 4 + 4                         # 16-bit length + mask key
    ws.send(frame[:header + len("κόσμε".encode()) + 3])   # stop right after the surrogate
    assert ws.expect_close(timeout=3) == 1007
    ws.close()


def test_6_invalid_utf8_in_a_later_fragment_fails_fast(hub):
    ws = RawWS(hub.port)
    ws.send(RawWS.frame(1, "κό".encode(), fin=False) + RawWS.frame(0, b"\xf4\x90\x80\x80", fin=False))
    assert ws.expect_close(timeout=3) == 1007
    ws.close()


def test_6_code_point_split_across_fragments_is_valid(hub):
    ws = RawWS(hub.port)
    euro = "€".encode()
    ws.send(RawWS.frame(1, euro[:1], fin=False) + RawWS.frame(0, euro[1:2], fin=False) + RawWS.frame(0, euro[2:]))
    assert ws.recv_frame()[3] == euro
    ws.close()


# 7.x close handling
def test_7_close_with_empty_payload_is_answered_and_tcp_closed(hub):
    ws = RawWS(hub.port)
    ws.send_frame(8, b"")
    assert ws.expect_close() is None
    assert ws.closed_by_server()
    ws.close()


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_7_valid_close_codes_are_echoed(hub, code):
    ws = RawWS(hub.port)
    ws.send_frame(8, close_payload(code, b"reason"))
    assert ws.expect_close() == code
    assert ws.closed_by_server()
    ws.close()


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999])
def test_7_invalid_close_codes_fail_1002(hub, code):
    expect_failure(hub, RawWS.frame(8, close_payload(code)), 1002)


def test_7_close_payload_of_one_byte_fails_1002(hub):
    expect_failure(hub, RawWS.frame(8, b"\x03"), 1002)


def test_7_close_reason_with_invalid_utf8_fails_1007(hub):
    expect_failure(hub, RawWS.frame(8, close_payload(1000, b"\xff\xfe")), 1007)


def test_7_data_after_close_is_not_answered(hub):
    ws = RawWS(hub.port)
    ws.send(RawWS.frame(8, close_payload(1000)) + RawWS.frame(1, b"late") + RawWS.frame(9, b""))
    assert ws.recv_frame()[2] == 8
    assert ws.closed_by_server()
    ws.close()


# framing violations and limits (the module's hub allows 1 MiB frames, 4 MiB messages)
def test_unmasked_client_frame_fails_1002(hub):
    expect_failure(hub, RawWS.frame(1, b"hi", mask=False), 1002)


def test_non_minimal_length_fails_1002(hub):
    data = struct.pack("!BBH", 0x82, 0x80 | 126, 5) + b"\x00\x00\x00\x00" + b"12345"
    expect_failure(hub, data, 1002)


def test_oversized_frame_fails_1009_before_its_payload(hub):
    ws = RawWS(hub.port)
    ws.send(struct.pack("!BBQ", 0x82, 0x80 | 127, 2 * 1024 * 1024) + b"\x01\x02\x03\x04")
    assert ws.expect_close() == 1009
    ws.close()
    echo_ok(hub)


def test_oversized_fragmented_message_fails_1009(hub):
    ws = RawWS(hub.port)
    chunk = b"x" * (1024 * 1024)
    ws.send(RawWS.frame(2, chunk, fin=False))
    for _ in range(3):
        ws.send(RawWS.frame(0, chunk, fin=False))
    ws.send(RawWS.frame(0, b"y"))
    assert ws.expect_close(timeout=10) == 1009
    ws.close()
    echo_ok(hub)
