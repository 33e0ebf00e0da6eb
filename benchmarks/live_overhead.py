"""Does an open live-view page slow the daemon? One `lpnd run`, the same frames pushed twice
in the same run: with no page open, then with a headless chromium showing the live view
(http://…/). Prints frames/s of both and the ratio (docs/BENCHMARKS.md).

    python3 benchmarks/live_overhead.py --lpnd .build/release/lpnd [--pipeline pipelines/mri-4x.yaml] [--frames 8]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fanout import ROOT, measurements  # noqa: E402
from pipeline_files import without_check  # noqa: E402


def push_all(push, sub, name, frames, first_seq):
    start = time.time()
    for i, y in enumerate(frames):
        header = {"lpnd": 1, "type": "measurement", "stream": "bench", "seq": first_seq + i, "timestamp": time.time(),
                  "pipeline": name, "shape": list(y.shape), "dtype": "complex64", "byte_order": "little"}
        push.send_multipart([json.dumps(header).encode(), np.ascontiguousarray(y, "<c8").tobytes()])
    done = 0
    while done < len(frames):
        assert sub.poll(600_000), "no frame"
        if sub.recv_multipart()[0].startswith(b"frame/"):
            done += 1
    return len(frames) / (time.time() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lpnd", default=os.path.join(ROOT, ".build", "release", "lpnd"))
    parser.add_argument("--pipeline", default=os.path.join(ROOT, "pipelines", "mri-4x.yaml"))
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--port", type=int, default=9471)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="lpnd-live-bench-")
    args.pipeline = without_check(args.pipeline, tmp)  # frames only, no first-frame check
    name, frames = measurements(args.lpnd, args.pipeline, args.frames, tmp)
    config = os.path.join(tmp, "lpnd.yaml")
    with open(config, "w") as f:
        f.write(f"publish: ipc://{tmp}/out\nstats_interval: 0\nhttp: 127.0.0.1:{args.port}\n"
                f"pipelines:\n  - file: {os.path.abspath(args.pipeline)}\n    ingest: {{endpoint: ipc://{tmp}/in}}\n")
    daemon = subprocess.Popen([args.lpnd, "run", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    try:
        ctx = zmq.Context.instance()
        push, sub = ctx.socket(zmq.PUSH), ctx.socket(zmq.SUB)
        push.connect(f"ipc://{tmp}/in")
        sub.subscribe(b"")
        sub.connect(f"ipc://{tmp}/out")
        while True:  # ping until a pong: both directions are up
            push.send(json.dumps({"lpnd": 1, "type": "ping", "stream": "probe", "seq": 0}).encode())
            if sub.poll(100) and sub.recv_multipart()[0].startswith(b"pong/"):
                break
        without = push_all(push, sub, name, frames, 0)
        browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                                    f"--user-data-dir={tmp}/chromium", f"http://127.0.0.1:{args.port}/"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while urllib.request.urlopen(f"http://127.0.0.1:{args.port}/live/clients").read().strip() != b"1":
            assert time.time() < deadline, "the page did not open"
            time.sleep(0.1)
        with_page = push_all(push, sub, name, frames, len(frames))
        print(f"pipeline {name}, {len(frames)} frames per run")
        print(f"no page:      {without:.3f} frames/s")
        print(f"one page:     {with_page:.3f} frames/s")
        print(f"ratio page/none: {with_page / without:.3f}")
    finally:
        if browser:
            browser.terminate()
            browser.wait(30)
        daemon.terminate()
        daemon.wait(60)


if __name__ == "__main__":
    sys.exit(main())
