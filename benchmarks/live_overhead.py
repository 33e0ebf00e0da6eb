"""Does an open live-view page slow the daemon? One `lpnd run`, the same frames pushed twice
in the same run: with no page open, then with a headless chromium showing the live view
(http://…/). Prints frames/s of both and the ratio (docs/BENCHMARKS.md).

    python3 benchmarks/live_overhead.py --lpnd .build/release/lpnd [--pipeline pipelines/mri-4x.yaml] [--frames 8]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import LPND, PIPELINES, Runner, daemon_config, variant
from fanout import measurements
from lpnd_client import Frame, MeasurementSender, OutputReceiver, handshake


def push_all(sender, receiver, frames, first_seq):
    start = time.time()
    for i, y in enumerate(frames):
        sender.send(y, seq=first_seq + i)
    done = 0
    while done < len(frames):
        out = receiver.receive(timeout=600)
        assert out is not None, "no frame"
        done += isinstance(out, Frame)
    return len(frames) / (time.time() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lpnd", default=LPND)
    parser.add_argument("--pipeline", default=os.path.join(PIPELINES, "mri-4x.yaml"))
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--port", type=int, default=9471)
    args = parser.parse_args()
    lpnd = Runner(args.lpnd, tempfile.mkdtemp(prefix="lpnd-live-bench-"))
    tmp = lpnd.work
    args.pipeline = variant(args.pipeline, tmp)  # frames only, no first-frame check
    name, frames = measurements(lpnd, args.pipeline, args.frames)
    config = daemon_config(os.path.join(tmp, "lpnd.yaml"), f"ipc://{tmp}/out", args.pipeline,
                           dict(endpoint=f"ipc://{tmp}/in"), http=f"127.0.0.1:{args.port}")
    browser = None
    with lpnd.daemon(config):
        try:
            sender = MeasurementSender(f"ipc://{tmp}/in", pipeline=name, stream="bench")
            receiver = OutputReceiver(f"ipc://{tmp}/out", stream="bench", kinds=("frame", "pong"))
            handshake(sender, receiver, timeout=600)  # both directions are up
            without = push_all(sender, receiver, frames, 0)
            browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                                        f"--user-data-dir={tmp}/chromium", f"http://127.0.0.1:{args.port}/"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 30
            while urllib.request.urlopen(f"http://127.0.0.1:{args.port}/live/clients").read().strip() != b"1":
                assert time.time() < deadline, "the page did not open"
                time.sleep(0.1)
            with_page = push_all(sender, receiver, frames, len(frames))
            print(f"pipeline {name}, {len(frames)} frames per run")
            print(f"no page:      {without:.3f} frames/s")
            print(f"one page:     {with_page:.3f} frames/s")
            print(f"ratio page/none: {with_page / without:.3f}")
        finally:
            if browser:
                browser.terminate()
                browser.wait(30)


if __name__ == "__main__":
    sys.exit(main())
