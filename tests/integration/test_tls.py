"""TLS: https and wss with a throwaway certificate made at test time, ALPN, the TLS 1.2 floor,
plain and TLS listeners side by side, and handshake timeouts."""
import asyncio
import socket
import ssl
import time

import pytest
import requests
import websockets


def client_context(cert):
    ctx = ssl.create_default_context(cafile=cert)
    return ctx


def test_https_and_wss_alongside_plain(make_hub, tls_files):
    h = make_hub("--echo-path", "/echo", "--header-timeout", "2", tls_files=tls_files)
    cert = tls_files[0]
    assert requests.get(f"https://127.0.0.1:{h.tls_port}/healthz", verify=cert).json() == {"status": "ok"}
    assert requests.get(h.http("/healthz")).status_code == 200

    async def go():
        for compression in [None, "deflate"]:
            async with websockets.connect(f"wss://127.0.0.1:{h.tls_port}/echo", ssl=client_context(cert),
                                          compression=compression, max_size=None) as ws:
                for msg in ["secure", "s" * 100_000, b"\x00" * 70000]:
                    await ws.send(msg)
                    assert await ws.recv() == msg
                await ws.send(["frag", "mented"])
                assert await ws.recv() == "fragmented"
    asyncio.run(go())

    # Many messages in one burst exercise SSL_pending (records already decrypted inside OpenSSL).
    async def burst():
        async with websockets.connect(f"wss://127.0.0.1:{h.tls_port}/echo", ssl=client_context(cert)) as ws:
            for i in range(500):
                await ws.send(f"m{i}")
            for i in range(500):
                assert await ws.recv() == f"m{i}"
    asyncio.run(burst())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_alpn_selects_http11_and_tls12_is_the_floor(make_hub, tls_files):
    h = make_hub(tls_files=tls_files)
    ctx = client_context(tls_files[0])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", h.tls_port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.selected_alpn_protocol() == "http/1.1"
            assert s.version() in ("TLSv1.2", "TLSv1.3")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    try:
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this Python's OpenSSL cannot offer TLS 1.1")
    with socket.create_connection(("127.0.0.1", h.tls_port)) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            old.wrap_socket(raw, server_hostname="localhost")
    assert requests.get(f"https://127.0.0.1:{h.tls_port}/healthz", verify=tls_files[0]).status_code == 200


def test_stalled_tls_handshake_times_out_and_garbage_is_dropped(make_hub, tls_files):
    h = make_hub("--header-timeout", "1", tls_files=tls_files)
    s = socket.create_connection(("127.0.0.1", h.tls_port), timeout=5)
    start = time.time()
    assert s.recv(10) == b""
    assert time.time() - start < 4
    s.close()
    s = socket.create_connection(("127.0.0.1", h.tls_port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")   # plaintext on the TLS port
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    assert not data.startswith(b"HTTP/1.1 200")
    s.close()
    assert requests.get(f"https://127.0.0.1:{h.tls_port}/healthz", verify=tls_files[0]).status_code == 200


def test_tls_policy_checked_by_testssl(make_hub, tls_files, tmp_path):
    """testssl.sh (an independent scanner) against the hub's TLS listener: TLS 1.0/1.1 refused,
    TLS 1.2 only ECDHE key exchange with AEAD ciphers, TLS 1.3 offered."""
    import json
    import subprocess
    h = make_hub(tls_files=tls_files)
    report = tmp_path / "testssl.json"
    subprocess.run(["testssl", "--quiet", "--color", "0", "--warnings", "off", "--protocols", "--cipher-per-proto", "--fast",
                    "--jsonfile", str(report), f"127.0.0.1:{h.tls_port}"], capture_output=True, timeout=180)
    findings = {e["id"]: e["finding"] for e in json.load(open(report))}
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]:
        assert findings[old].startswith("not offered"), (old, findings[old])
    assert findings["TLS1_2"].startswith("offered") and findings["TLS1_3"].startswith("offered")
    tls12 = [f for i, f in findings.items() if i.startswith("cipher-tls1_2_")]
    assert tls12, findings
    for suite in tls12:
        assert "ECDHE" in suite and ("GCM" in suite or "CHACHA20" in suite), suite


def test_hsts_is_sent_on_https_only_when_configured(make_hub, tls_files):
    cert = tls_files[0]
    with_hsts = make_hub("--hsts-max-age", "31536000", tls_files=tls_files)
    r = requests.get(f"https://127.0.0.1:{with_hsts.tls_port}/healthz", verify=cert)
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in requests.get(with_hsts.http("/healthz")).headers
    without = make_hub(tls_files=tls_files)
    assert "Strict-Transport-Security" not in requests.get(f"https://127.0.0.1:{without.tls_port}/healthz", verify=cert).headers
