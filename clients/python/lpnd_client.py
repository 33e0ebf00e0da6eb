"""A small client for lpnd's ZeroMQ wire protocol (docs/PROTOCOL.md, version 1).

    sender = MeasurementSender("tcp://127.0.0.1:5555", pipeline="mri-4x", stream="cam0")
    sender.send(kspace)                              # numpy float32 or complex64 array
    receiver = OutputReceiver("tcp://127.0.0.1:5556", stream="cam0")
    handshake(sender, receiver)                      # ping until a pong: both ways are up
    answers = await_answers(sender, receiver, [0])   # a frame or error event per seq, or missing
    out = receiver.receive(timeout=10)               # Frame, Diagnostics, ErrorEvent or Pong
    index, out = receive_any([receiver, other], 10)  # the next output of any of several receivers
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import zmq
import zmq.auth

PROTOCOL_VERSION = 1


def use_curve(socket: zmq.Socket, server_key: Optional[str], key: Optional[str]):
    """Makes `socket` a CURVE client: `server_key` is the daemon's public key file (NAME.key from
    `lpnd keygen`), `key` this client's secret key file (NAME.key_secret). Both or neither."""
    if server_key is None and key is None:
        return
    if server_key is None or key is None:
        raise ValueError("server_key and key go together")
    socket.curve_serverkey, _ = zmq.auth.load_certificate(server_key)
    socket.curve_publickey, socket.curve_secretkey = zmq.auth.load_certificate(key)


class MeasurementSender:
    """PUSH (lossless, blocks when the daemon is saturated) or PUB sender of measurements.
    With `server_key` and `key` (certificate files), the connection uses CURVE. `bind`: the
    sender binds `endpoint` and daemons connect to it (ingest mode: connect, docs/DEPLOY.md)."""

    def __init__(self, endpoint: str, pipeline: str, stream: str = "s0", pub: bool = False,
                 context: Optional[zmq.Context] = None, server_key: Optional[str] = None, key: Optional[str] = None,
                 bind: bool = False):
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.PUB if pub else zmq.PUSH)
        use_curve(self.socket, server_key, key)
        (self.socket.bind if bind else self.socket.connect)(endpoint)
        self.pipeline = pipeline
        self.stream = stream
        self.seq = 0

    def send(self, measurement: np.ndarray, reference: Optional[np.ndarray] = None,
             seq: Optional[int] = None, timestamp: Optional[float] = None, lines: Optional[list] = None) -> int:
        """Sends one measurement (and optionally a float32 reference image); returns its seq.
        `lines`: MRI pipelines, the phase-encode rows this frame sampled (PROTOCOL.md §1)."""
        array = np.asarray(measurement)
        dtype = "complex64" if np.iscomplexobj(array) else "float32"
        payload = np.ascontiguousarray(array, dtype="<c8" if dtype == "complex64" else "<f4")
        seq = self.seq if seq is None else seq
        self.seq = seq + 1
        header = {"lpnd": PROTOCOL_VERSION, "type": "measurement", "stream": self.stream, "seq": seq,
                  "timestamp": time.time() if timestamp is None else timestamp,
                  "pipeline": self.pipeline, "shape": list(array.shape), "dtype": dtype,
                  "byte_order": "little", "reference": reference is not None}
        if lines is not None:
            header["lines"] = [int(r) for r in lines]
        parts = [json.dumps(header).encode(), payload.tobytes()]
        if reference is not None:
            parts.append(np.ascontiguousarray(reference, dtype="<f4").tobytes())
        self.socket.send_multipart(parts)
        return seq

    def ping(self, seq: int = 0, block: bool = True) -> bool:
        """Sends a ping (one-part message); the daemon answers on pong/<stream>/ (PROTOCOL.md §7).
        With `block` false, returns False instead of waiting when no daemon can take it now
        (a PUSH socket with no connection yet); True when sent."""
        body = {"lpnd": PROTOCOL_VERSION, "type": "ping", "stream": self.stream, "seq": seq}
        try:
            self.socket.send_multipart([json.dumps(body).encode()], flags=0 if block else zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def close(self, linger: int = 5000):
        """Closes the socket; messages not yet sent are kept for up to `linger` ms."""
        self.socket.close(linger=linger)


@dataclass
class Frame:
    header: dict
    image: np.ndarray
    png: Optional[bytes]


@dataclass
class Diagnostics:
    body: dict


@dataclass
class ErrorEvent:
    body: dict

    @property
    def code(self) -> str:
        return self.body.get("code", "")


@dataclass
class Pong:
    body: dict


Output = Union[Frame, Diagnostics, ErrorEvent, Pong]


class OutputReceiver:
    """SUB receiver of frames, diagnostics and error events (all streams, or one)."""

    def __init__(self, endpoint: str, stream: Optional[str] = None, kinds=("frame", "diagnostics", "error", "pong"),
                 context: Optional[zmq.Context] = None, server_key: Optional[str] = None, key: Optional[str] = None):
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.SUB)
        use_curve(self.socket, server_key, key)
        for kind in kinds:
            self.socket.subscribe(f"{kind}/{stream}/" if stream else f"{kind}/")
        self.socket.connect(endpoint)

    def receive(self, timeout: float = 10.0) -> Optional[Output]:
        """The next output, or None after `timeout` seconds."""
        if not self.socket.poll(int(timeout * 1000)):
            return None
        parts = self.socket.recv_multipart()
        return parse_output(parts)

    def close(self):
        self.socket.close(linger=0)


def receive_any(receivers, timeout: float = 10.0):
    """The next output of one of `receivers` (the first in the list when several have one):
    (its index in `receivers`, the output), or None after `timeout` seconds."""
    poller = zmq.Poller()
    for r in receivers:
        poller.register(r.socket, zmq.POLLIN)
    ready = dict(poller.poll(int(timeout * 1000)))
    for i, r in enumerate(receivers):
        if r.socket in ready:
            return i, parse_output(r.socket.recv_multipart())
    return None


def parse_output(parts) -> Output:
    topic = parts[0].decode()
    body = json.loads(parts[1])
    if topic.startswith("frame/"):
        image = np.frombuffer(parts[2], dtype="<f4").reshape(body["shape"])
        return Frame(body, image, parts[3] if body.get("png") and len(parts) > 3 else None)
    if topic.startswith("diagnostics/"):
        return Diagnostics(body)
    if topic.startswith("pong/"):
        return Pong(body)
    return ErrorEvent(body)


@dataclass
class Answers:
    """The daemon's answer to each message a sender pushed (see `await_answers`)."""
    frames: list
    errors: dict  # seq -> error code
    missing: list  # seqs with neither: never accepted by the daemon


def await_answers(sender: MeasurementSender, receiver: OutputReceiver, seqs, idle_timeout: float = 60.0) -> Answers:
    """After the last message: pings until a pong (the daemon has read everything that reached it),
    then collects the frame or error event of every seq in `seqs` until each has one or
    `idle_timeout` seconds pass without any. Every message the daemon accepts ends as exactly one
    frame or one error event (PROTOCOL.md §1); a seq left in `missing` never reached it, e.g. lost
    with a connection the daemon closed at a part over its read limit. The receiver must subscribe
    to the sender's stream's frames, errors and pongs (the default kinds)."""
    waiting, frames, errors = set(seqs), [], {}

    def take(out):
        if isinstance(out, (Frame, ErrorEvent)):
            body = out.header if isinstance(out, Frame) else out.body
            if body.get("stream") == sender.stream and body.get("seq") in waiting:
                waiting.discard(body["seq"])
                (frames.append(body["seq"]) if isinstance(out, Frame) else errors.__setitem__(body["seq"], out.code))

    handshake(sender, receiver, timeout=idle_timeout, keep=take)
    last = time.time()
    while waiting and time.time() - last < idle_timeout:
        out = receiver.receive(timeout=0.1)
        before = len(waiting)
        if out is not None:
            take(out)
        if len(waiting) < before:
            last = time.time()
    return Answers(sorted(frames), errors, sorted(waiting))


def handshake(sender: MeasurementSender, receiver: OutputReceiver, timeout: float = 20.0, keep=None):
    """Pings every 100 ms until a pong of the sender's stream arrives (PROTOCOL.md §7): from then
    on the sender's messages reach the daemon and the receiver gets its outputs. Outputs that
    arrive meanwhile are discarded, or handed to `keep`. The receiver must subscribe to
    pong/<stream>/ (the default)."""
    deadline = time.time() + timeout
    seq = 0
    while time.time() < deadline:
        sender.ping(seq)
        seq += 1
        out = receiver.receive(timeout=0.1)
        while out is not None:
            if isinstance(out, Pong) and out.body.get("stream") == sender.stream:
                return
            if keep is not None:
                keep(out)
            out = receiver.receive(timeout=0)
    raise TimeoutError(f"no pong for stream {sender.stream!r} within {timeout} s")
