#!/usr/bin/env python3
"""Send k-space frames of a phantom to a running `lpnd run` (pipeline mri-4x) and print the
reconstructions' PSNR. The operator is built here from `lpnd operator export` output.

    lpnd operator export --pipeline pipelines/mri-4x.yaml --output /tmp/mri-op
    python3 clients/python/example.py --operator /tmp/mri-op
"""
import argparse
import json
import os

import numpy as np

from lpnd_client import Diagnostics, ErrorEvent, Frame, MeasurementSender, OutputReceiver


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--operator", required=True, help="folder written by `lpnd operator export`")
    parser.add_argument("--ingest", default="tcp://127.0.0.1:5555")
    parser.add_argument("--publish", default="tcp://127.0.0.1:5556")
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    description = json.load(open(os.path.join(args.operator, "operator.json")))
    mask = np.load(os.path.join(args.operator, "mask.npy"))
    h, w = mask.shape
    receiver = OutputReceiver(args.publish, stream="py")
    sender = MeasurementSender(args.ingest, pipeline=description["pipeline"], stream="py")
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(args.frames):
        image = (((yy - h / 2) ** 2 + (xx - w / 2 - 4 * i) ** 2) < (h / 3) ** 2).astype(np.float32) * 0.8
        kspace = np.fft.fft2(image, norm="ortho") * mask
        sender.send(kspace.astype(np.complex64), reference=image)
    got = 0
    while got < args.frames:
        out = receiver.receive(timeout=60)
        if out is None:
            raise SystemExit("timed out")
        if isinstance(out, Frame):
            got += 1
            flags = out.header.get("flags") or []
            print(f"frame {out.header['seq']}: PSNR {out.header.get('psnr', float('nan')):.2f} dB, "
                  f"{out.header['convergence']['iterations']} iterations"
                  + (f", flagged: {', '.join(flags)}" if flags else ""))
        elif isinstance(out, ErrorEvent):
            got += 1
            print("error:", out.body)


if __name__ == "__main__":
    main()
