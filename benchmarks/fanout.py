"""Throughput on several cores: one upstream PUSH socket, `lpnd run` instances PULLing from it
(ingest mode: connect), a subscriber on every instance's PUB socket. Same frames, same run;
prints frames/s of each configuration and the ratios.

    python3 benchmarks/fanout.py --lpnd .build/release/lpnd [--pipeline pipelines/mri-4x.yaml] [--frames 16]
        1 then 2 instances, one worker and one thread each (docs/DEPLOY.md, "Scale-out")
    python3 benchmarks/fanout.py --compare workers [--frames 16]
        one instance: 1 worker with 1 thread, 2 workers with 1 thread each, and
        1 worker with frame_threads: auto (every core on one frame at a time)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_files import without_check  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def phantom(n, shift):
    yy, xx = np.mgrid[0:n, 0:n] / n
    image = np.where((yy - 0.5) ** 2 + (xx - 0.5 - shift / n) ** 2 < 0.12, 0.8, 0.0)
    image = np.where((yy - 0.45) ** 2 + (xx - 0.4) ** 2 < 0.01, 0.3, image)
    return image.astype(np.float32)


def measurements(lpnd, pipeline, count, tmp):
    info = subprocess.run([lpnd, "validate", pipeline], check=True, capture_output=True, text=True).stdout
    n = int(info.split("image [")[1].split(",")[0])
    name = info.split(": ", 1)[1].split(" —")[0]
    out = []
    for i in range(min(count, 4)):
        src, dst = os.path.join(tmp, f"x{i}.npy"), os.path.join(tmp, f"y{i}.npy")
        np.save(src, phantom(n, i))
        subprocess.run([lpnd, "simulate", "--pipeline", pipeline, "--input", src, "--output", dst], check=True)
        out.append(np.load(dst))
    return name, [out[i % len(out)] for i in range(count)]


def run(lpnd, pipeline, name, frames, instances, tmp, workers=1, threads="1"):
    upstream = f"ipc://{tmp}/upstream-{instances}-{workers}-{threads}"
    ctx = zmq.Context.instance()
    push = ctx.socket(zmq.PUSH)
    push.bind(upstream)
    procs, subs = [], []
    for k in range(instances):
        config = os.path.join(tmp, f"lpnd-{instances}-{workers}-{threads}-{k}.yaml")
        publish = f"ipc://{tmp}/out-{instances}-{workers}-{threads}-{k}"
        with open(config, "w") as f:
            f.write(f"publish: {publish}\nstats_interval: 0\nhttp: off\nframe_threads: {threads}\n"
                    f"pipelines:\n  - file: {os.path.abspath(pipeline)}\n"
                    f"    ingest: {{endpoint: {upstream}, mode: connect, high_water_mark: 1}}\n"
                    f"    workers: {workers}\n    png: false\n")
        procs.append(subprocess.Popen([lpnd, "run", "--config", config], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        sub = ctx.socket(zmq.SUB)
        sub.subscribe(b"")
        sub.connect(publish)
        subs.append(sub)
    poller = zmq.Poller()
    for sub in subs:
        poller.register(sub, zmq.POLLIN)
    ponged, seq = set(), 0
    deadline = time.time() + 60
    while len(ponged) < instances and time.time() < deadline:  # ping until every instance answers
        try:
            push.send(json.dumps({"lpnd": 1, "type": "ping", "stream": "probe", "seq": seq}).encode(), zmq.NOBLOCK)
        except zmq.Again:  # no instance connected yet
            time.sleep(0.02)
        seq += 1
        for sock, _ in poller.poll(20):
            topic = sock.recv_multipart()[0]
            if topic.startswith(b"pong/"):
                ponged.add(subs.index(sock))
    assert len(ponged) == instances, "not every instance came up"
    start = time.time()
    for i, y in enumerate(frames):
        header = {"lpnd": 1, "type": "measurement", "stream": "bench", "seq": i, "timestamp": time.time(),
                  "pipeline": name, "shape": list(y.shape), "dtype": "complex64", "byte_order": "little"}
        push.send_multipart([json.dumps(header).encode(), np.ascontiguousarray(y, "<c8").tobytes()])
    done, per_instance = 0, [0] * instances
    while done < len(frames) and time.time() - start < 600:
        for sock, _ in poller.poll(100):
            if sock.recv_multipart()[0].startswith(b"frame/"):
                done += 1
                per_instance[subs.index(sock)] += 1
    seconds = time.time() - start
    for p in procs:
        p.terminate()
        p.wait(60)
    for s in subs + [push]:
        s.close(linger=0)
    assert done == len(frames), f"{done} of {len(frames)} frames"
    return len(frames) / seconds, per_instance


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lpnd", default=os.path.join(ROOT, ".build", "release", "lpnd"))
    parser.add_argument("--pipeline", default=os.path.join(ROOT, "pipelines", "mri-4x.yaml"))
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--compare", choices=["instances", "workers"], default="instances")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="lpnd-fanout-")
    args.pipeline = without_check(args.pipeline, tmp)  # frames only, no first-frame check
    name, frames = measurements(args.lpnd, args.pipeline, args.frames, tmp)
    if args.compare == "workers":
        one, _ = run(args.lpnd, args.pipeline, name, frames, 1, tmp, workers=1, threads="1")
        two, _ = run(args.lpnd, args.pipeline, name, frames, 1, tmp, workers=2, threads="1")
        auto, _ = run(args.lpnd, args.pipeline, name, frames, 1, tmp, workers=1, threads="auto")
        print(f"pipeline {name}, {len(frames)} frames, {os.cpu_count()} cores, one instance")
        print(f"| configuration | frames/s | ratio to 1 worker |")
        print(f"|---|---:|---:|")
        print(f"| 1 worker, 1 thread | {one:.3f} | 1.00 |")
        print(f"| 2 workers, 1 thread each | {two:.3f} | {two / one:.2f} |")
        print(f"| 1 worker, frame_threads: auto ({os.cpu_count()}) | {auto:.3f} | {auto / one:.2f} |")
        return 0
    one, _ = run(args.lpnd, args.pipeline, name, frames, 1, tmp)
    two, split = run(args.lpnd, args.pipeline, name, frames, 2, tmp)
    print(f"pipeline {name}, {len(frames)} frames, {os.cpu_count()} cores")
    print(f"one instance:  {one:.3f} frames/s")
    print(f"two instances: {two:.3f} frames/s (frames per instance {split})")
    print(f"ratio two/one: {two / one:.2f}")


if __name__ == "__main__":
    sys.exit(main())
