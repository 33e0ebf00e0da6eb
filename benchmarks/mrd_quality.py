"""The shipped MRD pipeline against BART and ISMRMRD's own reconstruction, on the files
Debian's ismrmrd-tools generate (docs/RESULTS.md "MRD scanner data").

    python3 benchmarks/mrd_quality.py [--pipeline pipelines/mrd-shepp-logan.yaml] [--via tcp|zmq]

1. `ismrmrd_generate_cartesian_shepp_logan -a 4 -w 32` (256×256, 8 coils, readout oversampled
   2×, 4 repetitions, each every 4th line from its own offset plus 32 central lines) and the same
   phantom fully sampled;
2. the reference: `ismrmrd_recon_cartesian_2d` of the fully sampled file (its root-sum-of-squares
   image);
3. lpnd: every acquisition of the undersampled file, serialised by the official `ismrmrd`
   package, into a running `lpnd run` (its MRD TCP endpoint, or ZeroMQ PUSH);
4. BART: each repetition's lines as a centred k-space, `ecalib -m1` + `pics -l1 -r R`
   (R from a small grid, the best PSNR: BART's best case), the readout oversampling cropped;
5. zero-filled root-sum-of-squares of the same lines.
Speed: lpnd's frames/s over the whole TCP session (connect to close, lines sent as fast as
the endpoint takes them, the pipeline's workers as `lpnd run` picks them) and BART's over its
`ecalib` + `pics` runs of the same frames at the chosen r (BART's own OpenMP threads), on the
same machine in the same run, and their ratio.

Every image is compared by magnitude inside the object (the generator's phantom > 0) after
the least-squares scale onto the reference, PSNR at the reference's peak there; the lpnd
image of the fully sampled file too (`lpnd_full`). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import common  # noqa: F401  (sys.path)
import numpy as np

from common import LPND, ROOT, daemon_config, load_pipeline

import ismrmrd  # noqa: E402  (pip install ismrmrd)
from ismrmrd.serialization import ProtocolSerializer  # noqa: E402


def generate(work: str, acceleration: int, calibration: int) -> str:
    path = os.path.join(work, f"sl-a{acceleration}.h5")
    if os.path.exists(path):
        os.remove(path)  # the generator appends to an existing file
    args = ["ismrmrd_generate_cartesian_shepp_logan", "-o", path]
    if acceleration > 1:
        args += ["-a", str(acceleration), "-w", str(calibration)]
    subprocess.run(args, check=True, capture_output=True)
    return path


def reference(full: str) -> tuple[np.ndarray, np.ndarray]:
    """`ismrmrd_recon_cartesian_2d`'s image of the fully sampled file, and the object's support
    (where the file's own phantom is non-zero). Outside the object the root-sum-of-squares image
    is the noise's magnitude (a floor near 11 % of the peak), which no regularised
    reconstruction reproduces: the comparison is inside the object."""
    subprocess.run(["ismrmrd_recon_cartesian_2d", full], check=True, capture_output=True)
    import h5py
    with h5py.File(full, "r") as f:
        image = np.abs(np.asarray(f["dataset/cpp/data"])).reshape(-1, 256, 256)[-1].astype(np.float64)
        phantom = np.asarray(f["dataset/phantom"])
    return image, np.abs(phantom["real"] + 1j * phantom["imag"]).reshape(-1, 256, 256)[0] > 0


def acquisitions(path: str):
    d = ismrmrd.Dataset(path, "dataset", False)
    header = d.read_xml_header()
    lines = [d.read_acquisition(i) for i in range(d.number_of_acquisitions())]
    d.close()
    return header, lines


def kspace_frames(lines) -> dict:
    """repetition -> centred k-space [C, H, os·W] complex, and its sampled rows."""
    frames = {}
    for a in lines:
        k, rows = frames.setdefault(a.idx.repetition, (np.zeros((a.active_channels, 256, a.number_of_samples), np.complex64), set()))
        k[:, a.idx.kspace_encode_step_1, :] = a.data
        rows.add(a.idx.kspace_encode_step_1)
    return frames


def crop_readout(image: np.ndarray) -> np.ndarray:
    """[H, os·W] -> [H, W]: the middle of the oversampled readout."""
    w = image.shape[1] // 2
    return image[:, w // 2: w // 2 + w]


def zero_filled(k: np.ndarray) -> np.ndarray:
    coil = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=(1, 2))), axes=(1, 2))
    return crop_readout(np.sqrt((np.abs(coil) ** 2).sum(0)))


def scaled_psnr(x: np.ndarray, ref: np.ndarray, support: np.ndarray) -> float:
    """PSNR inside `support` after the least-squares scale of |x| onto `ref` (peak: ref's)."""
    x, ref = np.abs(x).astype(np.float64)[support], ref[support]
    a = (x * ref).sum() / max((x * x).sum(), 1e-30)
    return float(20 * np.log10(ref.max() / np.sqrt(((a * x - ref) ** 2).mean())))


def bart(k: np.ndarray, work: str, r: float) -> tuple[np.ndarray, float]:
    """BART's image of one frame and the seconds `ecalib` + `pics` took (their own threads)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from bart import write_cfl, read_cfl
    base = os.path.join(work, "bart")
    write_cfl(base + "-k", np.transpose(k, (2, 1, 0))[:, :, None, :])  # (X, Y, 1, C)
    started = time.perf_counter()
    subprocess.run(["bart", "ecalib", "-m1", base + "-k", base + "-maps"], check=True, capture_output=True)
    subprocess.run(["bart", "pics", "-S", "-l1", "-r", str(r), base + "-k", base + "-maps", base + "-x"], check=True,
                   capture_output=True)
    seconds = time.perf_counter() - started
    x = read_cfl(base + "-x").reshape(k.shape[2], k.shape[1], order="F").T  # (X, Y) -> [H, os·W]
    return crop_readout(np.abs(x)), seconds


def serialized(obj) -> bytes:
    """One MRD message as the official package frames it (id + body)."""
    buffer = io.BytesIO()
    ProtocolSerializer(buffer).serialize(obj)
    return buffer.getvalue()


def lpnd_zmq(pipeline: str, header: str, lines, work: str) -> dict:
    """repetition -> lpnd's image, through `lpnd run` (PULL in, PUB out)."""
    from lpnd_client import Frame, MeasurementSender, OutputReceiver, handshake
    name = load_pipeline(pipeline)["name"]
    config = daemon_config(os.path.join(work, "lpnd.yaml"), "tcp://127.0.0.1:5796", pipeline,
                           {"endpoint": "tcp://127.0.0.1:5795"})
    log = open(os.path.join(work, "lpnd.log"), "w")
    daemon = subprocess.Popen([LPND, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    try:
        sender = MeasurementSender("tcp://127.0.0.1:5795", name, stream="mrd")
        receiver = OutputReceiver("tcp://127.0.0.1:5796", stream="mrd")
        handshake(sender, receiver, timeout=60)
        envelope = json.dumps({"lpnd": 1, "type": "mrd", "stream": "mrd", "pipeline": name}).encode()
        header_message = len(header).to_bytes(4, "little")  # the XML header as id 3 + length + text
        sender.socket.send_multipart([envelope, (3).to_bytes(2, "little") + header_message + header])
        for a in lines:
            sender.socket.send_multipart([envelope, serialized(a)])
        sender.socket.send_multipart([envelope, (4).to_bytes(2, "little")])
        images, errors = {}, []
        reps = sorted({a.idx.repetition for a in lines})
        deadline = time.time() + 600
        while len(images) + len(errors) < len(reps) and time.time() < deadline:
            out = receiver.receive(timeout=5)
            if isinstance(out, Frame):
                images[out.header["seq"]] = (out.image, out.header)
            elif out is not None and out.__class__.__name__ == "ErrorEvent":
                errors.append(out.body)
        return {"images": images, "errors": errors}
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()


def lpnd_tcp(pipeline: str, path: str, work: str) -> dict:
    """repetition -> lpnd's image, through `lpnd run`'s MRD endpoint and clients/mrd's client
    (the official package's serializer)."""
    sys.path.insert(0, os.path.join(ROOT, "clients", "mrd"))
    from mrd_client import free_port, start_lpnd, stream
    port = free_port()
    config = os.path.join(work, "lpnd-tcp.yaml")
    with open(config, "w") as f:
        f.write(f"publish: ipc://{work}/out\nstats_interval: 0\nhttp: off\nmrd: {{listen: 127.0.0.1:{port}}}\n"
                f"pipelines:\n  - file: {os.path.abspath(pipeline)}\n    ingest: {{endpoint: ipc://{work}/in}}\n")
    daemon = start_lpnd(LPND, config, port, os.path.join(work, "lpnd-tcp.log"))
    try:
        started = time.perf_counter()
        images, texts, _ = stream(path, "127.0.0.1", port)
        seconds = time.perf_counter() - started
        import ismrmrd
        return {"images": {i.image_index - 1: (np.abs(i.data).squeeze(),
                                               {"convergence": {"iterations": int(ismrmrd.Meta.deserialize(i.attribute_string)["lpnd.iterations"])},
                                                "flags": ismrmrd.Meta.deserialize(i.attribute_string).get("lpnd.flags")})
                           for i in images},
                "errors": [{"code": t} for t in texts], "seconds": seconds}
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipeline", default=os.path.join(ROOT, "pipelines", "mrd-shepp-logan.yaml"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--skip-bart", action="store_true")
    parser.add_argument("--via", choices=["zmq", "tcp"], default="tcp")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="lpnd-mrd-")
    os.makedirs(work, exist_ok=True)
    full = generate(work, 1, 0)
    ref, support = reference(full)
    undersampled = generate(work, 4, 32)
    header, lines = acquisitions(undersampled)
    frames = kspace_frames(lines)
    result = {"reference": "ismrmrd_recon_cartesian_2d, fully sampled", "frames": len(frames)}
    result["zero_filled"] = [round(scaled_psnr(zero_filled(k), ref, support), 2) for k, _ in frames.values()]
    if not args.skip_bart and shutil.which("bart"):
        best = None
        for r in (0.003, 0.01, 0.03):
            runs = [bart(k, work, r) for k, _ in frames.values()]
            psnrs = [round(scaled_psnr(x, ref, support), 2) for x, _ in runs]
            if best is None or np.mean(psnrs) > np.mean(best[1]):
                best = (r, psnrs, sum(t for _, t in runs))
        result["bart_pics"] = {"r": best[0], "psnr": best[1], "frames_per_second": round(len(frames) / best[2], 3)}
    if args.via == "tcp":
        out = lpnd_tcp(args.pipeline, undersampled, work)
    else:
        out = lpnd_zmq(args.pipeline, header.encode() if isinstance(header, str) else header, lines, work)
    result["via"] = args.via
    result["lpnd"] = {"psnr": [round(scaled_psnr(img, ref, support), 2) for _, (img, _) in sorted(out["images"].items())],
                      "iterations": [h["convergence"]["iterations"] for _, (_, h) in sorted(out["images"].items())],
                      "flags": [h.get("flags") for _, (_, h) in sorted(out["images"].items())],
                      "errors": [e.get("code") for e in out["errors"]]}
    if "seconds" in out:
        # The whole session: connect, header, every line, close, every image back.
        result["lpnd"]["frames_per_second"] = round(len(out["images"]) / out["seconds"], 3)
        if "bart_pics" in result:
            result["lpnd_over_bart_rate"] = round(result["lpnd"]["frames_per_second"] / result["bart_pics"]["frames_per_second"], 2)
    if args.via == "tcp":
        image = lpnd_tcp(args.pipeline, full, work)["images"][0][0]
        result["lpnd_full"] = round(scaled_psnr(image, ref, support), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
