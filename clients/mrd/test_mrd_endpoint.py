"""lpnd's MRD endpoint (docs/PROTOCOL.md §9) driven by code nobody on the team wrote: the
official `ismrmrd` package's serializer and types (clients/mrd/mrd_client.py uses nothing
else), files written by Debian's `ismrmrd_generate_cartesian_shepp_logan`, and the reference
image of `ismrmrd_recon_cartesian_2d`.

Needs the lpnd binary (LPND env var, default .build/release/lpnd), ismrmrd-tools, and the
`ismrmrd`, `h5py`, `numpy` and `pytest` packages. Run: python3 -m pytest clients/mrd
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ismrmrd  # noqa: E402
import ismrmrd.xsd  # noqa: E402
from ismrmrd.serialization import ConfigText  # noqa: E402
from mrd_client import Session, free_port, read_file, start_lpnd, stream  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LPND = os.environ.get("LPND", os.path.join(ROOT, ".build", "release", "lpnd"))
PIPELINE = os.path.join(ROOT, "pipelines", "mrd-shepp-logan.yaml")


def generate(directory: str, name: str, *args) -> str:
    path = os.path.join(directory, name)
    subprocess.run(["ismrmrd_generate_cartesian_shepp_logan", "-o", path, *args], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def files():
    directory = tempfile.mkdtemp(prefix="lpnd-mrd-")
    full = generate(directory, "full.h5")
    subprocess.run(["ismrmrd_recon_cartesian_2d", full], check=True, capture_output=True)
    import h5py
    with h5py.File(full, "r") as f:
        reference = np.abs(np.asarray(f["dataset/cpp/data"])).reshape(-1, 256, 256)[-1].astype(np.float64)
        phantom = np.asarray(f["dataset/phantom"])
    support = np.abs(phantom["real"] + 1j * phantom["imag"]).reshape(-1, 256, 256)[0] > 0
    return {"dir": directory, "full": full, "reference": reference, "support": support}


def start_daemon(files, name: str):
    """`lpnd run` with the shipped MRD pipeline (MRD images on PUB too) and its MRD endpoint on
    a free loopback port -> (process, port), once the port answers."""
    port, http = free_port(), free_port()
    files[f"{name}-http"] = http
    config = os.path.join(files["dir"], f"{name}.yaml")
    with open(config, "w") as f:
        f.write(f"publish: ipc://{files['dir']}/{name}-out\nstats_interval: 0\nhttp: 127.0.0.1:{http}\n"
                f"mrd: {{listen: 127.0.0.1:{port}, max_connections: 2, idle_timeout: 5}}\n"
                f"pipelines:\n  - file: {PIPELINE}\n    ingest: {{endpoint: ipc://{files['dir']}/{name}-in}}\n"
                f"    mrd_images: true\n")
    return start_lpnd(LPND, config, port, os.path.join(files["dir"], f"{name}.log")), port


@pytest.fixture(scope="module")
def daemon(files):
    process, port = start_daemon(files, "lpnd")
    yield port
    process.terminate()
    assert process.wait(60) == 0


def psnr_in_object(image, files) -> float:
    x, ref = np.abs(image).astype(np.float64)[files["support"]], files["reference"][files["support"]]
    a = (x * ref).sum() / (x * x).sum()
    return float(20 * np.log10(ref.max() / np.sqrt(((a * x - ref) ** 2).mean())))


def test_a_fully_sampled_scan_comes_back_as_an_image_that_matches_ismrmrds_recon(daemon, files):
    waveform = ismrmrd.Waveform.from_array(np.arange(20, dtype=np.uint32).reshape(2, 10))
    extra = [ConfigText("<gadgetronStreamConfiguration/>"), "a text message from the client", waveform]
    images, texts, closed = stream(files["full"], "127.0.0.1", daemon, config="mrd-shepp-logan", extra=extra)
    assert closed and texts == [] and len(images) == 1
    image = images[0]
    assert list(image.matrix_size) == [256, 256, 1] and image.data_type == ismrmrd.DATATYPE_FLOAT
    assert image.image_type == ismrmrd.IMTYPE_MAGNITUDE and image.slice == 0 and image.image_index == 1
    assert abs(image.field_of_view[0] - 300) < 1e-3
    meta = ismrmrd.Meta.deserialize(image.attribute_string)
    assert meta["lpnd.pipeline"] == "mrd-shepp-logan" and int(meta["lpnd.sampled_lines"]) == 256
    assert psnr_in_object(image.data.squeeze(), files) >= 30


def interleave_two_slices(acquisitions):
    """Every line twice, as slice 0 then slice 1 (the usual order of a 2-D multi-slice scan)."""
    out = []
    for a in acquisitions:
        for s in (0, 1):
            b = ismrmrd.Acquisition.from_bytes(a.to_bytes())
            b.idx.slice = s
            out.append(b)
    return out


def test_interleaved_slices_give_one_image_each(daemon, files):
    images, texts, closed = stream(files["full"], "127.0.0.1", daemon, edit=interleave_two_slices)
    assert closed and texts == []
    assert sorted(i.slice for i in images) == [0, 1]
    for image in images:
        assert psnr_in_object(image.data.squeeze(), files) >= 30


def test_a_hostile_client_beside_a_good_one_loses_the_good_one_nothing(daemon, files):
    hostile = Session("127.0.0.1", daemon, timeout=60)
    _, acquisitions = read_file(files["full"])
    try:
        hostile.send(acquisitions[:3])  # acquisitions before any header
    except (BrokenPipeError, ConnectionResetError):
        pass  # lpnd may have answered and closed after the first
    result = {}
    good = threading.Thread(target=lambda: result.update(zip(("images", "texts", "closed"),
                                                              stream(files["full"], "127.0.0.1", daemon))))
    good.start()
    images, texts = hostile.answers(60)
    assert hostile.closed and images == [] and any("mrd_header" in t for t in texts), texts
    garbage = Session("127.0.0.1", daemon, timeout=60)
    try:
        garbage.send_raw(b"\x07\x00 not an MRD message")
    except (BrokenPipeError, ConnectionResetError):
        pass
    _, texts = garbage.answers(60)
    assert garbage.closed and any("malformed_message" in t and "id 7" in t for t in texts), texts
    good.join(300)
    assert result["closed"] and result["texts"] == [] and len(result["images"]) == 1
    assert psnr_in_object(result["images"][0].data.squeeze(), files) >= 30


def test_a_client_that_never_closes_is_closed_after_the_idle_timeout(daemon, files):
    session = Session("127.0.0.1", daemon, timeout=60)
    header, _ = read_file(files["full"])
    session.send([header])
    started = time.time()
    images, texts = session.answers(60)
    assert session.closed and images == [] and any("idle_timeout" in t for t in texts), texts
    assert time.time() - started < 30


def test_lpnd_listen_writes_the_published_images_to_a_file_the_package_reads(daemon, files):
    out = os.path.join(files["dir"], "listened.h5")
    # The listener subscribes in milliseconds; the frame it waits for takes seconds to reconstruct.
    listen = subprocess.Popen([LPND, "listen", "--endpoint", f"ipc://{files['dir']}/lpnd-out", "--mrd", out, "--count", "1",
                               "--timeout", "120"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    images, texts, closed = stream(files["full"], "127.0.0.1", daemon)
    output, _ = listen.communicate(timeout=180)
    assert listen.returncode == 0 and "wrote 1 MRD image(s)" in output, output
    assert closed and len(images) == 1
    dataset = ismrmrd.Dataset(out, "dataset", False)
    written = dataset.read_image("images", 0)
    assert list(written.matrix_size) == [256, 256, 1] and written.slice == 0
    assert np.array_equal(written.data, images[0].data)
    assert ismrmrd.Meta.deserialize(written.attribute_string)["lpnd.stream"] == \
        ismrmrd.Meta.deserialize(images[0].attribute_string)["lpnd.stream"]
    dataset.close()


def test_bad_sessions_get_a_text_and_close_and_the_endpoint_goes_on(daemon, files):
    header, acquisitions = read_file(files["full"])
    # A header whose channel count is not the pipeline's.
    wrong = ismrmrd.xsd.CreateFromDocument(header.toXML())
    wrong.acquisitionSystemInformation.receiverChannels = 4
    session = Session("127.0.0.1", daemon, timeout=60)
    session.send([wrong])
    _, texts = session.answers(60)
    assert session.closed and any("mrd_header" in t and "receiverChannels 4" in t for t in texts), texts
    # A client that stops in the middle of an acquisition and disconnects.
    session = Session("127.0.0.1", daemon, timeout=60)
    session.send([header])
    session.send_raw(acquisitions[0].to_bytes()[:200])
    session.shutdown()
    # Connections over mrd.max_connections (2): told so and closed; the first two stay open.
    idle = [Session("127.0.0.1", daemon, timeout=60) for _ in range(2)]
    extra = Session("127.0.0.1", daemon, timeout=60)
    _, texts = extra.answers(60)
    assert extra.closed and any("max_connections" in t for t in texts), texts
    for s in idle:
        s.answers(60)  # closed by the idle timeout
    images, texts, closed = stream(files["full"], "127.0.0.1", daemon)
    assert closed and texts == [] and len(images) == 1
    import urllib.request
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{files['lpnd-http']}/metrics", timeout=10).read().decode()
    import re
    refused = re.search(r'lpnd_mrd_connections_total\{outcome="refused"\} (\d+)', metrics)
    assert refused and int(refused.group(1)) >= 1, metrics[-2000:]
    assert "lpnd_mrd_sessions " in metrics


def test_an_image_header_announcing_exabytes_is_refused_and_the_daemon_lives(daemon, files):
    header = bytearray(198)
    header[2:4] = (5).to_bytes(2, "little")  # float32
    for offset in (16, 18, 20, 34):  # matrix x, y, z and channels: 65535 each
        header[offset:offset + 2] = (65535).to_bytes(2, "little")
    session = Session("127.0.0.1", daemon, timeout=60)
    try:
        session.send_raw((1022).to_bytes(2, "little") + bytes(header) + (0).to_bytes(8, "little"))
    except (BrokenPipeError, ConnectionResetError):
        pass
    _, texts = session.answers(60)
    assert session.closed and any("malformed_message" in t and "limit" in t for t in texts), texts
    images, texts, closed = stream(files["full"], "127.0.0.1", daemon)
    assert closed and len(images) == 1


def test_sigterm_during_a_session_tells_the_client_and_exits_cleanly(files):
    process, port = start_daemon(files, "stopping")
    header, acquisitions = read_file(files["full"])
    session = Session("127.0.0.1", port, timeout=60)
    session.send([header] + acquisitions[:100])  # no end of slice yet: the session waits for more
    process.terminate()
    assert process.wait(60) == 0
    _, texts = session.answers(60)
    assert session.closed and any("daemon is stopping" in t for t in texts), texts
