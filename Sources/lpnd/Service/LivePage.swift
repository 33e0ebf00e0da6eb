/// The live view page, self-contained (no CDN, fonts or scripts from elsewhere): one card per
/// pipeline and stream with the latest frame, its numbers and its convergence curves, fed by
/// Server-Sent Events from `/live`. Each card exposes `data-seq`, `data-points` (curve points
/// drawn), `data-delay-ms` (publication → shown) and `data-frames-per-second` (the stream's
/// rate from the stats events) for the browser test.
enum LivePage {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lpnd live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; background: #f4f4f4; color: #222 }
h1 { font-size: 18px; margin: 0 0 8px } #state { color: #666; margin-bottom: 12px }
#cards { display: flex; flex-wrap: wrap; gap: 12px }
.card { background: #fff; border-radius: 6px; padding: 10px; box-shadow: 0 1px 3px #0002; width: 560px }
.card h2 { font-size: 15px; margin: 0 0 6px } .row { display: flex; gap: 10px }
.card img { width: 256px; height: 256px; image-rendering: pixelated; background: #000 }
table { border-collapse: collapse; font-size: 13px } td { padding: 1px 6px 1px 0; vertical-align: top }
.flag { color: #b00; font-weight: 600 } canvas { background: #fafafa; border: 1px solid #ddd; margin-top: 6px }
.legend span { margin-right: 10px; font-size: 12px } #queues { margin-top: 12px; font-size: 13px }
</style></head><body>
<h1>lpnd live view</h1><div id="state">connecting…</div><div id="cards"></div><div id="queues"></div>
<script>
const colors = { relativeChange: "#1f77b4", dataResidual: "#d62728", primalResidual: "#2ca02c", dualResidual: "#9467bd" };
const cards = {};
function fmt(v, d) { return v === undefined || v === null ? "–" : Number(v).toFixed(d); }
function card(key, title) {
  if (cards[key]) return cards[key];
  const el = document.createElement("div"); el.className = "card"; el.id = "card-" + key.replace(/[^A-Za-z0-9_.-]/g, "_");
  el.innerHTML = `<h2></h2><div class="row"><img alt="latest frame"><table></table></div>
    <canvas width="540" height="180"></canvas><div class="legend">${Object.entries(colors).map(([k, c]) =>
    `<span style="color:${c}">■ ${k}</span>`).join("")}</div>`;
  el.querySelector("h2").textContent = title;
  document.getElementById("cards").appendChild(el); cards[key] = el; return el;
}
function plot(canvas, records) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 28;
  g.clearRect(0, 0, w, h); let points = 0;
  const series = Object.keys(colors).map(k => [k, records.map(r => r[k]).filter(v => v > 0)]).filter(([, v]) => v.length);
  const all = series.flatMap(([, v]) => v.map(Math.log10)); if (!all.length) return 0;
  const lo = Math.floor(Math.min(...all)), hi = Math.max(Math.ceil(Math.max(...all)), lo + 1), n = Math.max(records.length - 1, 1);
  g.strokeStyle = "#ccc"; g.fillStyle = "#666"; g.font = "10px sans-serif";
  for (let e = lo; e <= hi; e++) { const y = h - pad - (e - lo) / (hi - lo) * (h - 2 * pad);
    g.beginPath(); g.moveTo(pad, y); g.lineTo(w - 4, y); g.stroke(); g.fillText("1e" + e, 0, y + 3); }
  for (const [k, v] of series) {
    g.strokeStyle = colors[k]; g.beginPath();
    v.forEach((val, i) => { const x = pad + i / n * (w - pad - 4), y = h - pad - (Math.log10(val) - lo) / (hi - lo) * (h - 2 * pad);
      i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke(); if (k === "relativeChange") points = v.length;
  }
  g.fillStyle = "#666"; g.fillText("iteration →", w - 70, h - 6); return points;
}
const source = new EventSource("live");
source.onopen = () => { document.getElementById("state").textContent = "connected: frames appear as they are published"; };
source.onerror = () => { document.getElementById("state").textContent = "disconnected; retrying…"; };
source.addEventListener("frame", ev => {
  const f = JSON.parse(ev.data), h = f.header, d = f.diagnostics, key = f.pipeline + "/" + f.stream;
  const el = card(key, `${f.pipeline} · stream ${f.stream}`);
  if (f.png) el.querySelector("img").src = "data:image/png;base64," + f.png;
  const prior = h.prior ? `φ ${fmt(h.prior.phi, 4)} (range ${h.prior.phi_range ? h.prior.phi_range.map(v => fmt(v, 4)).join("…") : "–"})` : "–";
  const flags = (h.flags || []).length ? `<span class="flag">${h.flags.join(", ")}</span>` : "none";
  if (h.check) el.dataset.check = `${fmt(h.check.difference_db, 2)} dB against TV (seq ${h.seq})`;
  const made = h.choice ? `<span class="choice">${h.choice.prior === "tv" ? "TV" : "learned (LPN)"}</span>${h.choice.switched ? " (switched at this frame)" : ""}` : "–";
  el.querySelector("table").innerHTML = [["seq", h.seq], ["generation", h.generation], ["latency", fmt(h.timings.total_ms, 1) + " ms"],
    ["stream", `<span class="rate">${el.dataset.rate || "–"}</span>`],
    ["reconstruct", fmt(h.timings.reconstruct_ms, 1) + " ms"], ["iterations", h.convergence.iterations], ["stop", h.convergence.stop_reason],
    ["PSNR", h.psnr === undefined ? "–" : fmt(h.psnr, 2) + " dB"], ["SSIM", fmt(h.ssim, 4)], ["prior", prior], ["check", el.dataset.check || "–"], ["made by", made], ["flags", flags]]
    .map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join("");
  const points = plot(el.querySelector("canvas"), d.records || []);
  el.dataset.seq = h.seq; el.dataset.points = points; el.dataset.iterations = h.convergence.iterations;
  el.dataset.delayMs = Date.now() - f.published_ms;
});
source.addEventListener("stats", ev => {
  const s = JSON.parse(ev.data);
  document.getElementById("queues").innerHTML = `generation ${s.generation} · ` + s.pipelines.map(p =>
    `<b>${p.pipeline}</b>: received ${p.received}, frames ${p.frames}, errors ${p.errors}, dropped ${p.dropped}, in flight ${p.in_flight}; ` +
    p.stages.map(st => `${st.name.split(".").pop()} ${st.depth}/${st.capacity} (${st.busy_workers} busy)`).join(", ")).join("<br>");
  for (const p of s.pipelines) for (const st of p.streams || []) {
    const el = cards[p.pipeline + "/" + st.stream]; if (!el) continue;
    el.dataset.rate = `${fmt(st.frames_per_second, 1)} frames/s · latency p50 ${fmt(st.latency_p50_ms, 0)} ms, p99 ${fmt(st.latency_p99_ms, 0)} ms`;
    el.dataset.framesPerSecond = st.frames_per_second;
    const span = el.querySelector(".rate"); if (span) span.textContent = el.dataset.rate;
  }
});
</script></body></html>
"""#
}
