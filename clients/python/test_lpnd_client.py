"""End-to-end test of the Python client against a real `lpnd run` (ipc:// endpoints).

Needs the lpnd binary (LPND env var, default .build/release/lpnd), pyzmq and numpy.
Run: python3 -m pytest clients/python
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lpnd_client import (Diagnostics, ErrorEvent, Frame, MeasurementSender, OutputReceiver, await_answers,  # noqa: E402
                         handshake, use_curve)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LPND = os.environ.get("LPND", os.path.join(ROOT, ".build", "release", "lpnd"))
PIPELINE = os.path.join(ROOT, "Tests", "LPNDTests", "Fixtures", "tv-mri.yaml")


def phantom(shift):
    yy, xx = np.mgrid[0:32, 0:32]
    image = np.where((yy - 15) ** 2 + (xx - 16 - shift) ** 2 < 100, 0.8, 0.0)
    image = np.where((image == 0) & (abs(yy - 15) < 12) & (abs(xx - 16 - shift) < 12), 0.3, image)
    return image.astype(np.float32)


def start_daemon(curve: bool):
    tmp = tempfile.mkdtemp(prefix="lpnd-py-")
    endpoints = {k: f"ipc://{tmp}/{k}" for k in ("in", "out", "ctl")}
    config = os.path.join(tmp, "lpnd.yaml")
    extra = ""
    if curve:
        for name in ("server", "clients/me"):
            subprocess.run([LPND, "keygen", os.path.join(tmp, "keys", name)], check=True, stdout=subprocess.DEVNULL)
        extra = f"curve: {{secret_key: {tmp}/keys/server.key_secret, clients: {tmp}/keys/clients}}\n"
    with open(config, "w") as f:
        f.write(f"publish: {endpoints['out']}\ncontrol: {endpoints['ctl']}\nstats_interval: 0\nhttp: off\n{extra}"
                f"pipelines:\n  - file: {PIPELINE}\n    ingest: {{endpoint: {endpoints['in']}}}\n")
    process = subprocess.Popen([LPND, "run", "--config", config], stderr=subprocess.PIPE)
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    if curve:
        use_curve(req, f"{tmp}/keys/server.key", f"{tmp}/keys/clients/me.key_secret")
    req.connect(endpoints["ctl"])
    req.send(b"stats")
    assert req.poll(30000), "daemon did not start"
    req.recv()
    req.close(linger=0)
    return process, tmp, endpoints


def serve(curve):
    process, tmp, endpoints = start_daemon(curve)
    yield tmp, endpoints
    process.terminate()
    assert process.wait(60) == 0


@pytest.fixture()
def daemon():
    yield from serve(curve=False)


@pytest.fixture()
def curve_daemon():
    yield from serve(curve=True)


def measurement(tmp, image, index):
    src, dst = os.path.join(tmp, f"x{index}.npy"), os.path.join(tmp, f"y{index}.npy")
    np.save(src, image)
    subprocess.run([LPND, "simulate", "--pipeline", PIPELINE, "--input", src, "--output", dst], check=True)
    return np.load(dst)


def test_send_measurements_receive_frames_and_errors(daemon):
    tmp, endpoints = daemon
    receiver = OutputReceiver(endpoints["out"])
    sender = MeasurementSender(endpoints["in"], pipeline="test-mri", stream="py")
    handshake(sender, receiver)
    images = [phantom(i) for i in range(3)]
    for i, image in enumerate(images):
        y = measurement(tmp, image, i)
        assert y.dtype == np.complex64
        sender.send(y, reference=image)
    sender.send(np.zeros((5, 5), np.complex64))  # wrong shape -> error event, daemon keeps serving
    frames, diagnostics, errors = [], [], []
    while len(frames) + len(errors) < 4 or len(diagnostics) < len(frames):
        out = receiver.receive(timeout=30)
        assert out is not None, "timed out"
        if isinstance(out, Frame):
            frames.append(out)
        elif isinstance(out, Diagnostics):
            diagnostics.append(out)
        elif isinstance(out, ErrorEvent):
            errors.append(out)
    assert [f.header["seq"] for f in frames] == [0, 1, 2]
    for frame, image in zip(frames, images):
        assert frame.image.shape == (32, 32)
        mse = float(np.mean((frame.image - image) ** 2))
        assert 10 * np.log10(1 / mse) > 22
        assert abs(frame.header["psnr"] - 10 * np.log10(1 / mse)) < 0.5
        assert frame.png is not None and frame.png.startswith(b"\x89PNG")
        assert frame.header["flags"] == []  # a good frame carries an empty list (PROTOCOL.md)
    assert [e.code for e in errors] == ["shape_mismatch"] and errors[0].body["seq"] == 3
    assert all(d.body["diagnostics"]["iterations"] >= 1 for d in diagnostics)


def test_oversized_parts_are_refused_and_nothing_behind_them_is_lost(daemon):
    """The burst of PROTOCOL.md §1 "Limits", sent with pyzmq: 100 frames on one connection with an
    oversized part (limit + 1 byte) before every 10th; every frame is reconstructed and each
    oversized message gets its payload_size event. A part over the read limit (2 MB) closes the
    connection: await_answers names what was lost with it."""
    tmp, endpoints = daemon
    receiver = OutputReceiver(endpoints["out"], stream="burst", kinds=("frame", "error", "pong"))
    sender = MeasurementSender(endpoints["in"], pipeline="test-mri", stream="burst")
    handshake(sender, receiver)
    limit = 65536  # the header limit: larger than test-mri's 8 KiB measurement and 4 KiB reference
    y = measurement(tmp, phantom(0), 0)
    oversized = []
    for seq in range(100):
        if seq % 10 == 0:
            oversized.append(1000 + seq)
            header = {"lpnd": 1, "type": "measurement", "stream": "burst", "seq": 1000 + seq, "timestamp": 0.0,
                      "pipeline": "test-mri", "shape": list(y.shape), "dtype": "complex64", "byte_order": "little"}
            sender.socket.send_multipart([json.dumps(header).encode(), bytes(limit + 1)])
        sender.send(y, seq=seq)
    answers = await_answers(sender, receiver, list(range(100)) + oversized, idle_timeout=30)
    assert answers.missing == []
    assert answers.frames == list(range(100))
    assert answers.errors == {s: "payload_size" for s in oversized}

    sender.send(np.zeros((512, 512), np.complex64), seq=200)  # 2 MB: over the read limit
    answers = await_answers(sender, receiver, [200], idle_timeout=3)
    assert answers.missing == [200] and answers.frames == [] and answers.errors == {}
    sender.send(y, seq=201)  # the daemon goes on serving on the new connection
    assert await_answers(sender, receiver, [201], idle_timeout=30).frames == [201]


def test_a_frame_brings_its_own_lines(daemon):
    """PROTOCOL.md §1 `lines`: the rows a frame sampled (here those of the pipeline's mask,
    read off the k-space) reconstruct it; a row outside the image is malformed_header."""
    tmp, endpoints = daemon
    receiver = OutputReceiver(endpoints["out"], stream="rows", kinds=("frame", "error", "pong"))
    sender = MeasurementSender(endpoints["in"], pipeline="test-mri", stream="rows")
    handshake(sender, receiver)
    image = phantom(0)
    y = measurement(tmp, image, 0)
    rows = [int(r) for r in np.nonzero(np.abs(y).sum(axis=1))[0]]
    sender.send(y, reference=image, seq=1, lines=rows)
    sender.send(y, seq=2, lines=rows + [32])
    answers = await_answers(sender, receiver, [1, 2], idle_timeout=30)
    assert answers.frames == [1] and answers.errors == {2: "malformed_header"}


def test_malformed_headers_get_the_documented_codes(daemon):
    """Cases written from docs/PROTOCOL.md §1 alone: types are never bridged, order is as listed."""
    tmp, endpoints = daemon
    receiver = OutputReceiver(endpoints["out"])
    sender = MeasurementSender(endpoints["in"], pipeline="test-mri", stream="bad")
    handshake(sender, receiver)
    good = {"lpnd": 1, "type": "measurement", "stream": "bad", "seq": 1, "timestamp": 1.0,
            "pipeline": "test-mri", "shape": [32, 32], "dtype": "complex64", "byte_order": "little"}
    payload = np.zeros((32, 32), "<c8").tobytes()
    cases = [
        ({"lpnd": True}, "unsupported_version"),
        ({"lpnd": "1"}, "unsupported_version"),
        ({"seq": True}, "malformed_header"),
        ({"seq": 3.0}, "malformed_header"),
        ({"seq": 2 ** 70}, "malformed_header"),
        ({"timestamp": True}, "malformed_header"),
        ({"reference": 0}, "malformed_header"),
        ({"shape": [True, True]}, "malformed_header"),
        ({"shape": [-32, 32]}, "shape_mismatch"),
        ({"dtype": "complex128"}, "dtype_mismatch"),
        ({"dtype": "complex128", "pipeline": "other"}, "unknown_pipeline"),
        ({"stream": "_"}, "malformed_header"),
    ]
    for change, _ in cases:
        sender.socket.send_multipart([json.dumps({**good, **change}).encode(), payload])
    codes = []
    while len(codes) < len(cases):
        out = receiver.receive(timeout=30)
        assert out is not None, "timed out"
        if isinstance(out, ErrorEvent):
            codes.append(out.code)
    assert codes == [code for _, code in cases]


def test_curve_clients_with_allowed_keys_get_frames(curve_daemon):
    tmp, endpoints = curve_daemon
    keys = dict(server_key=f"{tmp}/keys/server.key", key=f"{tmp}/keys/clients/me.key_secret")
    receiver = OutputReceiver(endpoints["out"], **keys)
    sender = MeasurementSender(endpoints["in"], pipeline="test-mri", stream="secure", **keys)
    handshake(sender, receiver)
    image = phantom(0)
    sender.send(measurement(tmp, image, 0), reference=image)
    out = receiver.receive(timeout=30)
    while out is not None and not isinstance(out, Frame):
        out = receiver.receive(timeout=30)
    assert isinstance(out, Frame) and out.header["stream"] == "secure"
