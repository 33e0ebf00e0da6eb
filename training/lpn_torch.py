"""PyTorch model of lpnd's learned proximal network (layout "lpn_128").

The convex potential psi and its gradient f = grad psi follow docs/MODELS.md ("The
network" and "Whole frames").  Parameter names and shapes equal the reference state_dict so that
reference checkpoints load unchanged.  The model is written to / read from lpnd's
model format: one safetensors file, F32 tensors, string metadata
(see docs/MODELS.md, "File format").
"""
from __future__ import annotations

import json
import struct
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "lpn"
FORMAT_VERSION = "1"
ARCHITECTURE = "lpn_128"

def frame_index(length: int, size: int, padding: str):
    """For each padded index along one axis, the source index (-1: zero), as lpnd's
    FramePadding: reflect (symmetric, N/2 a side), circular (N-8 after), zero (N-8 a side),
    none; every mode also rounds the side up to a multiple of 8."""
    up = (8 - length % 8) % 8
    before, after = {"reflect": (size // 2, size // 2 + up), "circular": (0, size - 8 + up),
                     "zero": (size - 8, size - 8 + up), "none": (0, 0)}[padding]
    out = []
    for i in range(before + length + after):
        t = i - before
        if 0 <= t < length:
            out.append(t)
        elif padding in ("zero", "none"):
            out.append(-1)
        elif padding == "circular":
            out.append(t % length)
        else:
            m = t % (2 * length)
            out.append(m if m < length else 2 * length - 1 - m)
    return out


# indices of the weights that must stay >= 0 for psi to be convex
CONSTRAINED = [f"lin.{k}.weight" for k in range(1, 8)]


def expected_shapes(in_channels: int, hidden: int, size: int) -> Dict[str, tuple]:
    """state_dict key -> shape for the lpn_128 layout."""
    c, h, k = in_channels, hidden, size // 8
    shapes = {"lin.0.weight": (h, c, 3, 3), "lin.0.bias": (h,)}
    for i in range(1, 6):
        shapes[f"lin.{i}.weight"] = (h, h, 3, 3)
    shapes["lin.6.weight"] = (64, h, k, k)
    shapes["lin.7.weight"] = (1, 64)
    shapes["lin.7.bias"] = (1,)
    for i in range(0, 5):
        shapes[f"res.{i}.weight"] = (h, c, 3, 3)
        shapes[f"res.{i}.bias"] = (h,)
    shapes["res.5.weight"] = (64, c, k, k)
    shapes["res.5.bias"] = (64,)
    return shapes


class LPN(nn.Module):
    """psi(x) = ICNN(x) + alpha*||x||^2, f(x) = grad psi(x)."""

    def __init__(self, in_channels: int = 1, hidden: int = 256, beta: float = 100.0,
                 alpha: float = 1e-6, size: int = 128):
        super().__init__()
        if size % 8 != 0 or size < 8:
            raise ValueError(f"size must be a positive multiple of 8, got {size}")
        self.in_channels = int(in_channels)
        self.hidden = int(hidden)
        self.beta = float(beta)
        self.alpha = float(alpha)
        self.size = int(size)
        c, h, k = self.in_channels, self.hidden, self.size // 8

        def conv(cin, cout, ks, stride, pad, bias):
            return nn.Conv2d(cin, cout, ks, stride=stride, padding=pad, bias=bias)

        # z path: strides 1,2,1,2,1,2 then a full-size "dense" conv to 1x1, then a linear
        self.lin = nn.ModuleList([
            conv(c, h, 3, 1, 1, True),
            conv(h, h, 3, 2, 1, False),
            conv(h, h, 3, 1, 1, False),
            conv(h, h, 3, 2, 1, False),
            conv(h, h, 3, 1, 1, False),
            conv(h, h, 3, 2, 1, False),
            conv(h, 64, k, 1, 0, False),
            nn.Linear(64, 1),
        ])
        # passthrough path from (resized) x into each layer
        self.res = nn.ModuleList([
            conv(c, h, 3, 2, 1, True),   # x at N, stride 2 -> N/2
            conv(c, h, 3, 1, 1, True),   # D2 x, stride 1 -> N/2
            conv(c, h, 3, 2, 1, True),   # D2 x, stride 2 -> N/4
            conv(c, h, 3, 1, 1, True),   # D4 x -> N/4
            conv(c, h, 3, 2, 1, True),   # D4 x, stride 2 -> N/8
            conv(c, 64, k, 1, 0, True),  # D8 x, kernel N/8 -> 1x1
        ])
        self.act = nn.Softplus(beta=self.beta, threshold=20.0)

    # ------------------------------------------------------------------ network
    @staticmethod
    def _down(x: torch.Tensor, size) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                             antialias=False)

    def scalar(self, x: torch.Tensor, padding: Optional[str] = None) -> torch.Tensor:
        """psi(x) per sample, shape [B].

        padding None: the model on N x N images. Otherwise the whole-frame potential of any
        H x W frame (lpnd's WholeFrameProx): pad by `padding`, run every layer on the larger
        map (the last one slides over P = Pr*Pc positions), scale the network part by
        s = P / (min(N/8, Pr) * min(N/8, Pc)), add alpha*||x||^2 of the unpadded frame."""
        n = self.size
        if padding is None:
            if x.shape[-1] != n or x.shape[-2] != n:
                raise ValueError(f"expected input [B,{self.in_channels},{n},{n}], got {list(x.shape)}")
            xp = x
        else:
            h, w = x.shape[-2], x.shape[-1]
            rows, cols = frame_index(h, n, padding), frame_index(w, n, padding)
            dev = x.device
            ri = (torch.tensor([max(r, 0) for r in rows], device=dev),
                  torch.tensor([max(c, 0) for c in cols], device=dev))
            xp = x[..., ri[0], :][..., ri[1]]
            if min(rows) < 0 or min(cols) < 0:
                mask = torch.outer(torch.tensor([r >= 0 for r in rows], dtype=x.dtype, device=dev),
                                   torch.tensor([c >= 0 for c in cols], dtype=x.dtype, device=dev))
                xp = xp * mask
        hp, wp = xp.shape[-2], xp.shape[-1]
        d2 = self._down(xp, (hp // 2, wp // 2))
        d4 = self._down(xp, (hp // 4, wp // 4))
        d8 = self._down(xp, (hp // 8, wp // 8))
        a = self.act
        z = a(self.lin[0](xp))
        z = a(self.lin[1](z) + self.res[0](xp))
        z = a(self.lin[2](z) + self.res[1](d2))
        z = a(self.lin[3](z) + self.res[2](d2))
        z = a(self.lin[4](z) + self.res[3](d4))
        z = a(self.lin[5](z) + self.res[4](d4))
        z = a(self.lin[6](z) + self.res[5](d8))          # [B,64,Pr,Pc] (1x1 on N x N)
        k, (pr, pc) = n // 8, z.shape[-2:]
        scale = (pr * pc) / (min(k, pr) * min(k, pc))
        z = z.mean(dim=(2, 3))                             # [B,64]
        out = scale * self.lin[7](z).squeeze(1)            # [B]
        return out + self.current_alpha() * x.pow(2).flatten(1).sum(1)

    def current_alpha(self):
        """alpha: the float from the file, or the trainable parameter after learn_alpha()."""
        return self.alpha_param if hasattr(self, "alpha_param") else self.alpha

    def relax(self, theta: float) -> None:
        """Replace f by theta*f + (1 - theta)*x, exactly: scale the network part of psi by theta
        (lin.7's weight; its bias does not reach f) and set alpha to theta*alpha + (1 - theta)/2.
        Still the gradient of a convex function, so still a prox (docs/MATH.md)."""
        with torch.no_grad():
            self.lin[7].weight.mul_(theta)
        self.alpha = theta * self.alpha + (1.0 - theta) / 2.0

    def learn_alpha(self) -> None:
        """Make alpha a trainable parameter (kept >= 1e-6 by clamp_weights): the identity part
        of f = grad psi, which a low-noise denoiser needs most of, no longer has to be built
        by the network."""
        self.alpha_param = nn.Parameter(torch.tensor(float(self.alpha)))

    def forward(self, x: torch.Tensor, create_graph: Optional[bool] = None) -> torch.Tensor:
        """f(x) = grad psi(x) (the learned proximal operator)."""
        if create_graph is None:
            create_graph = self.training
        with torch.enable_grad():
            xg = x if (x.requires_grad and create_graph) else x.detach().requires_grad_(True)
            psi = self.scalar(xg, getattr(self, "frame_padding", None))
            (g,) = torch.autograd.grad(psi.sum(), xg, create_graph=create_graph)
        return g

    @torch.no_grad()
    def clamp_weights(self) -> None:
        """Project the constrained weights (lin.1..lin.6, lin.7.weight) onto >= 0."""
        for k in range(1, 8):
            self.lin[k].weight.clamp_(min=0.0)
        if hasattr(self, "alpha_param"):
            self.alpha_param.clamp_(min=1e-6)

    def convexity_violations(self) -> Dict[str, float]:
        """Most negative entry of each constrained weight that has one (empty = valid)."""
        sd = self.state_dict()
        return {k: float(sd[k].min()) for k in CONSTRAINED if float(sd[k].min()) < 0}

    # ------------------------------------------------------------------ file format
    def metadata(self, noise_level: float, name: Optional[str] = None,
                 description: Optional[str] = None) -> Dict[str, str]:
        md = {
            "lpnd.format": FORMAT,
            "lpnd.format_version": FORMAT_VERSION,
            "architecture": ARCHITECTURE,
            "in_channels": str(self.in_channels),
            "hidden": str(self.hidden),
            "beta": repr(float(self.beta)),
            "alpha": repr(float(torch.as_tensor(self.current_alpha()).detach())),
            "size": str(self.size),
            "noise_level": repr(float(noise_level)),
        }
        if name is not None:
            md["name"] = str(name)
        if description is not None:
            md["description"] = str(description)
        return md

    def save_lpnd(self, path: str, noise_level: float, name: Optional[str] = None,
                  description: Optional[str] = None) -> None:
        tensors = {k: v.detach().to(torch.float32).contiguous().cpu()
                   for k, v in self.state_dict().items() if k != "alpha_param"}
        check_state_dict(tensors, self.in_channels, self.hidden, self.size)
        write_safetensors(path, tensors, self.metadata(noise_level, name, description))


def check_state_dict(sd: Dict[str, torch.Tensor], in_channels: int, hidden: int,
                     size: int) -> None:
    """Raise ValueError with a readable message if keys/shapes do not match the layout."""
    want = expected_shapes(in_channels, hidden, size)
    missing = sorted(set(want) - set(sd))
    extra = sorted(set(sd) - set(want))
    errors = []
    if missing:
        errors.append("missing tensors: " + ", ".join(missing))
    if extra:
        errors.append("unexpected tensors: " + ", ".join(extra))
    for k in sorted(set(want) & set(sd)):
        if tuple(sd[k].shape) != want[k]:
            errors.append(f"{k}: shape {list(sd[k].shape)}, expected {list(want[k])} "
                          f"(in_channels={in_channels}, hidden={hidden}, size={size})")
    if errors:
        raise ValueError("state_dict does not match the lpn_128 layout:\n  " + "\n  ".join(errors))


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor],
                      metadata: Dict[str, str]) -> None:
    """Standard safetensors writer (F32 only), tensors in sorted key order."""
    header: Dict[str, object] = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for key in sorted(tensors):
        t = tensors[key].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4", copy=False).tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hbytes)))
        fh.write(hbytes)
        for b in blobs:
            fh.write(b)


def read_safetensors(path: str):
    """-> (dict of float32 tensors, metadata dict)."""
    import numpy as np
    with open(path, "rb") as fh:
        raw = fh.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + hlen
    tensors = {}
    for key, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {key} has dtype {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[base + a:base + b], dtype="<f4").reshape(info["shape"])
        tensors[key] = torch.from_numpy(arr.copy())
    return tensors, meta


def load_lpnd(path: str) -> "LPN":
    """Read an lpnd model file; returns an LPN (eval mode) with .noise_level/.meta set."""
    tensors, meta = read_safetensors(path)
    if meta.get("lpnd.format") != FORMAT:
        raise ValueError(f"{path}: not an lpnd model (lpnd.format={meta.get('lpnd.format')!r})")
    if meta.get("architecture") != ARCHITECTURE:
        raise ValueError(f"{path}: unsupported architecture {meta.get('architecture')!r}")
    model = LPN(in_channels=int(meta["in_channels"]), hidden=int(meta["hidden"]),
                beta=float(meta["beta"]), alpha=float(meta["alpha"]), size=int(meta["size"]))
    check_state_dict(tensors, model.in_channels, model.hidden, model.size)
    model.load_state_dict(tensors)
    model.noise_level = float(meta.get("noise_level", "nan"))
    model.meta = meta
    model.eval()
    return model
