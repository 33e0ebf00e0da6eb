"""A minimal MRD streaming client built only on the official `ismrmrd` Python package (PyPI):
its types, its HDF5 reader and its ProtocolSerializer/ProtocolDeserializer, so what it proves
about lpnd's MRD endpoint (docs/PROTOCOL.md §9) does not rest on lpnd's own code.

    python3 clients/mrd/mrd_client.py scan.h5 --port 9002 [--config mrd-shepp-logan] [--out images.npy]

Sends a config file message, the file's XML header, every acquisition and close, while a
second thread reads what comes back (images and text messages) until the server's close.
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import threading
import time
from typing import Callable, Iterable, Optional

import ismrmrd
import ismrmrd.xsd
import numpy as np
from ismrmrd.serialization import ConfigFile, ProtocolDeserializer, ProtocolSerializer


def read_file(path: str, dataset: str = "dataset"):
    """(the XML header as the package's object, the acquisitions) of an ISMRMRD HDF5 file."""
    d = ismrmrd.Dataset(path, dataset, False)
    header = ismrmrd.xsd.CreateFromDocument(d.read_xml_header())
    acquisitions = [d.read_acquisition(i) for i in range(d.number_of_acquisitions())]
    d.close()
    return header, acquisitions


class Session:
    """One connection: `send(...)` writes messages, `answers()` waits for the server's close and
    returns (images, texts)."""

    def __init__(self, host: str, port: int, timeout: float = 300):
        self.socket = socket.create_connection((host, port), timeout=timeout)
        self.writer = self.socket.makefile("wb")
        self.serializer = ProtocolSerializer(self.writer)
        self.images, self.texts, self.closed = [], [], False
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            with self.socket.makefile("rb") as reader:
                for obj in ProtocolDeserializer(reader).deserialize():
                    if isinstance(obj, ismrmrd.Image):
                        self.images.append(obj)
                    elif isinstance(obj, str):
                        self.texts.append(str(obj))
            self.closed = True  # the generator returns at the server's close message
        except BaseException as e:  # noqa: BLE001 (reported by answers())
            self.error = e

    def send(self, objects: Iterable, flush: bool = True):
        for obj in objects:
            self.serializer.serialize(obj)
        if flush:
            self.writer.flush()

    def send_raw(self, data: bytes):
        self.writer.write(data)
        self.writer.flush()

    def close(self):
        """The client's close message."""
        self.serializer.close()

    def answers(self, timeout: float = 300):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError(f"no close from the server within {timeout} s")
        return self.images, self.texts

    def shutdown(self):
        self.socket.close()


def stream(path: str, host: str, port: int, config: Optional[str] = None,
           edit: Optional[Callable[[list], list]] = None, extra: Iterable = (), timeout: float = 300):
    """Streams an HDF5 file as one session -> (images, texts, whether the server closed).
    `edit` may change the acquisitions; `extra` objects go right after the config."""
    header, acquisitions = read_file(path)
    session = Session(host, port, timeout)
    try:
        if config:
            session.send([ConfigFile(config)])
        session.send(list(extra))
        session.send([header] + (edit(acquisitions) if edit else acquisitions))
        session.close()
        images, texts = session.answers(timeout)
        return images, texts, session.closed
    finally:
        session.shutdown()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now (for an endpoint a test or benchmark starts)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start_lpnd(lpnd: str, config: str, port: int, log: str, timeout: float = 60) -> subprocess.Popen:
    """`lpnd run --config CONFIG` (its output to LOG), returned once its MRD endpoint on `port`
    accepts a connection (an empty session: lpnd sees EOF, no harm); raises if it exits first
    or `timeout` passes."""
    with open(log, "w") as out:
        process = subprocess.Popen([lpnd, "run", "--config", config], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                raise RuntimeError(f"the MRD endpoint on port {port} did not come up (log: {log})")
            time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--config", default=None)
    parser.add_argument("--out", default=None, help="save the images' magnitudes as one .npy")
    args = parser.parse_args()
    images, texts, closed = stream(args.file, args.host, args.port, args.config)
    for text in texts:
        print("text:", text)
    for image in images:
        meta = ismrmrd.Meta.deserialize(image.attribute_string)
        print(f"image {image.image_index}: slice {image.slice} repetition {image.repetition} "
              f"{list(image.matrix_size)} iterations {meta.get('lpnd.iterations')} flags [{meta.get('lpnd.flags')}]")
    if args.out:
        np.save(args.out, np.stack([np.abs(i.data).squeeze() for i in images]))
    print(f"{len(images)} image(s), {len(texts)} text message(s), server close: {closed}")


if __name__ == "__main__":
    main()
