"""The live view in a real browser (Debian's chromium, headless, driven over the DevTools
protocol): a frame sent after the page opened is shown within 2 s of its publication, its
curve has as many points as the frame's iterations, and a screenshot is written to
.build/artifacts/live-view.png.

Needs the lpnd binary (LPND env var), chromium, pyzmq, numpy, websocket-client, pytest.
Run: scripts/test-browser.sh
"""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np
import websocket
import zmq

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LPND = os.environ.get("LPND", os.path.join(ROOT, ".build", "release", "lpnd"))
PIPELINE = os.path.join(ROOT, "Tests", "LPNDTests", "Fixtures", "tv-mri.yaml")
# The phantom model choosing per stream between itself and TV (check.choose).
CHOOSING = os.path.join(ROOT, "Tests", "LPNDTests", "Fixtures", "lpn-mri-choose.yaml")
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from lpnd_client import MeasurementSender, OutputReceiver, handshake  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()


class Browser:
    """Headless chromium and one DevTools page session."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="lpnd-chromium-")
        self.process = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--window-size=1200,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        url = None
        while time.time() < deadline and url is None:
            line = self.process.stderr.readline()
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            url = match.group(1) if match else None
        assert url, "chromium did not start its DevTools endpoint"
        port = int(url.split(":")[2].split("/")[0])
        target = json.loads(get(port, "/json/list"))
        page = next(t for t in target if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(30)


def text_until(browser, selector, done, timeout):
    """The text of the page's element `selector` once `done(text)` holds, or its last text at the deadline."""
    text, deadline = "", time.time() + timeout
    while not done(text) and time.time() < deadline:
        text = browser.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)}); "
                                f"return r ? r.textContent : '' }})()") or ""
        time.sleep(0.1)
    return text


def test_a_frame_sent_after_the_page_opened_is_shown_with_its_curve():
    tmp = tempfile.mkdtemp(prefix="lpnd-live-")
    port = free_port()
    ingest, publish = f"ipc://{tmp}/in", f"ipc://{tmp}/out"
    config = os.path.join(tmp, "lpnd.yaml")
    with open(config, "w") as f:
        f.write(f"publish: {publish}\nstats_interval: 0\nhttp: 127.0.0.1:{port}\n"
                f"pipelines:\n  - file: {PIPELINE}\n    ingest: {{endpoint: {ingest}}}\n"
                f"  - file: {CHOOSING}\n    ingest: {{endpoint: ipc://{tmp}/in2}}\n")
    daemon = subprocess.Popen([LPND, "run", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    try:
        deadline = time.time() + 30
        while True:
            try:
                assert get(port, "/readyz").startswith("ready")
                break
            except (OSError, AssertionError, urllib.error.URLError):
                assert time.time() < deadline, "daemon not ready"
                time.sleep(0.1)
        browser = Browser()
        browser.call("Page.enable")
        browser.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        deadline = time.time() + 20
        while get(port, "/live/clients").strip() != "1":
            assert time.time() < deadline, "the page did not subscribe"
            time.sleep(0.05)

        # After the page is open: one frame, with its reference (PSNR on the card).
        sender = MeasurementSender(ingest, pipeline="test-mri", stream="cam")
        receiver = OutputReceiver(publish, stream="cam")
        handshake(sender, receiver)
        image = np.zeros((32, 32), np.float32)
        image[8:24, 8:24] = 0.8
        src, dst = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
        np.save(src, image)
        subprocess.run([LPND, "simulate", "--pipeline", PIPELINE, "--input", src, "--output", dst], check=True)
        sender.send(np.load(dst), reference=image, seq=7)
        frame = None
        while frame is None:
            out = receiver.receive(timeout=30)
            assert out is not None, "no frame published"
            frame = out if hasattr(out, "image") else None
        iterations = frame.header["convergence"]["iterations"]

        shown = None
        deadline = time.time() + 10
        while shown is None and time.time() < deadline:
            shown = browser.evaluate(
                "(() => { const c = document.getElementById('card-test-mri_cam');"
                " return c && c.dataset.seq ? {seq: +c.dataset.seq, points: +c.dataset.points,"
                " delay: +c.dataset.delayMs, img: c.querySelector('img').src.length} : null })()")
            time.sleep(0.05)
        assert shown is not None, "the page never showed the frame"
        assert shown["seq"] == 7
        assert shown["points"] == iterations, f"curve has {shown['points']} points, frame had {iterations} iterations"
        assert shown["delay"] <= 2000, f"shown {shown['delay']} ms after publication"
        assert shown["img"] > 100, "no image"

        # The stream's rate and latency percentiles arrive with the next stats event (≤ 1 s).
        rate = text_until(browser, "#card-test-mri_cam .rate", lambda t: "frames/s" in t, timeout=10)
        assert "frames/s" in rate and "p50" in rate and "p99" in rate, f"stream rate shown as {rate!r}"

        # A hard-edged phantom through the choosing pipeline: the card says TV made the frame.
        chooser = MeasurementSender(f"ipc://{tmp}/in2", pipeline="lpn-mri-choose", stream="edges")
        edges = OutputReceiver(publish, stream="edges")
        handshake(chooser, edges)
        hard = np.load(os.path.join(ROOT, "Tests", "LPNDTests", "Fixtures", "phantom-hard64.npy"))
        subprocess.run([LPND, "simulate", "--pipeline", CHOOSING, "--input", os.path.join(ROOT, "Tests", "LPNDTests", "Fixtures",
                        "phantom-hard64.npy"), "--output", dst], check=True)
        chooser.send(np.load(dst), reference=hard, seq=0)
        made = text_until(browser, "#card-lpn-mri-choose_edges .choice", lambda t: t == "TV", timeout=30)
        assert made == "TV", f"the choosing pipeline's card shows {made!r}"
        chooser.close()
        edges.close()

        os.makedirs(os.path.join(ROOT, ".build", "artifacts"), exist_ok=True)
        png = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
        with open(os.path.join(ROOT, ".build", "artifacts", "live-view.png"), "wb") as f:
            f.write(png)
        assert png.startswith(b"\x89PNG")
        sender.close()
        receiver.close()
    finally:
        if browser:
            browser.close()
        daemon.terminate()
        assert daemon.wait(60) == 0
