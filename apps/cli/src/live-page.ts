import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { knownHostOnly, securityHeaders } from "./dashboard/server.ts";

/** What the page shows after each update: the estimate, the newest window's pulse, the face box. */
export interface LivePageUpdate {
  tS: number;
  hrBpm: number | null;
  confidence: number | null;
  lowQuality: boolean;
  rmssdMs: number | null;
  method: string;
  latencyS: number;
  /** The newest window's cleaned pulse, one value per frame. */
  pulse: number[];
  /** The face box in frame pixels, or null without a face. */
  box: { x: number; y: number; width: number; height: number } | null;
  frame: { width: number; height: number; index: number };
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hrpipe live</title>
<link rel="stylesheet" href="/live.css">
<script src="/live.js" defer></script>
</head>
<body>
<h1>hrpipe live <span id="source"></span></h1>
<div class="row">
  <div id="picture"><img id="frame" alt="the newest frame"><div id="box" hidden></div></div>
  <div id="numbers">
    <p><span id="hr">-</span> <small>bpm</small></p>
    <p id="quality">waiting for the first window</p>
    <p>RMSSD (last 60 s): <span id="rmssd">-</span></p>
    <p>latency: <span id="latency">-</span> s</p>
  </div>
</div>
<h2>Pulse (newest window)</h2>
<svg id="wave" viewBox="0 0 600 120" preserveAspectRatio="none"><polyline points=""></polyline></svg>
<h2>Heart rate</h2>
<svg id="trend" viewBox="0 0 600 160" preserveAspectRatio="none"><polyline points=""></polyline></svg>
</body>
</html>
`;

const style = `body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
.row{display:flex;gap:2rem;align-items:flex-start}
#picture{position:relative;width:480px}#frame{width:100%;display:block;background:#000;min-height:200px}
#box{position:absolute;border:2px solid #2ca02c}
#hr{font-size:4rem;font-weight:700}#numbers p{margin:.3rem 0}
svg{width:600px;background:#f7f7f7;border:1px solid #ddd}polyline{fill:none;stroke:#d62728;stroke-width:2}
#trend polyline{stroke:#1f77b4}.low{color:#999}`;

/** The page's only script, served as a file: the CSP runs no inline script. */
const script = `"use strict";
const $ = (id) => document.getElementById(id);
const trend = [];
const line = (svg, values, low, high) => {
  const { width, height } = svg.viewBox.baseVal;
  const span = high - low || 1;
  svg.querySelector("polyline").setAttribute("points", values
    .map((v, i) => (i * width / Math.max(1, values.length - 1)).toFixed(1) + "," + (height - (v - low) / span * height).toFixed(1))
    .join(" "));
};
const events = new EventSource("/events");
events.addEventListener("estimate", (event) => {
  const u = JSON.parse(event.data);
  $("hr").textContent = u.hrBpm === null ? "-" : u.hrBpm.toFixed(0);
  $("hr").className = u.lowQuality ? "low" : "";
  $("quality").textContent = "t " + u.tS + " s, " + u.method + (u.lowQuality ? ", low quality" : ", confidence " + (u.confidence ?? 0).toFixed(2));
  $("rmssd").textContent = u.rmssdMs === null ? "- (needs 60 s)" : u.rmssdMs.toFixed(0) + " ms";
  $("latency").textContent = u.latencyS.toFixed(3);
  $("frame").src = "/frame.jpg?n=" + u.frame.index;
  const box = $("box");
  box.hidden = u.box === null;
  if (u.box) {
    const scale = 100 / u.frame.width, vscale = 100 / u.frame.height;
    box.style.left = u.box.x * scale + "%"; box.style.top = u.box.y * vscale + "%";
    box.style.width = u.box.width * scale + "%"; box.style.height = u.box.height * vscale + "%";
  }
  if (u.pulse.length > 1) line($("wave"), u.pulse, Math.min(...u.pulse), Math.max(...u.pulse));
  if (u.hrBpm !== null) trend.push(u.hrBpm);
  if (trend.length > 300) trend.shift();
  if (trend.length > 1) line($("trend"), trend, Math.min(40, ...trend), Math.max(160, ...trend));
});
`;

/**
 * `hrpipe live --http PORT`: a page that shows the newest frame with the face box, the pulse wave, the
 * heart-rate trend and the current number, pushed by Server-Sent Events. Loopback only, with the
 * dashboard's security headers; the page runs no inline script and nothing from elsewhere.
 */
export class LivePage {
  private readonly clients = new Set<ServerResponse>();
  private frameJpeg: Uint8Array | undefined;

  private constructor(private readonly server: Server) {}

  static async start(port: number): Promise<{ page: LivePage; url: string }> {
    const app = express();
    app.disable("x-powered-by");
    app.use(securityHeaders());
    app.use(knownHostOnly([], "hrpipe live answers on loopback only", "hrpipe live"));
    let live: LivePage | undefined;
    app.get("/", (_req, res) => res.type("html").send(page));
    app.get("/live.js", (_req, res) => res.type("application/javascript").send(script));
    app.get("/live.css", (_req, res) => res.type("css").send(style));
    app.get("/frame.jpg", (_req, res) => {
      if (!live?.frameJpeg) res.status(404).type("text/plain").send("no frame yet\n");
      else res.type("jpeg").set("Cache-Control", "no-store").send(Buffer.from(live.frameJpeg));
    });
    app.get("/events", (req, res) => {
      res.writeHead(200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-store",
        Connection: "keep-alive",
      });
      res.write(": hrpipe live\n\n");
      live!.clients.add(res);
      req.on("close", () => live!.clients.delete(res));
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(port, "127.0.0.1", () => resolve(listening)).once("error", reject);
    });
    live = new LivePage(server);
    const { port: bound } = server.address() as AddressInfo;
    return { page: live, url: `http://127.0.0.1:${bound}/` };
  }

  /** Pushes an update to every open page; the frame is served at /frame.jpg until the next one. */
  publish(update: LivePageUpdate, frameJpeg: Uint8Array): void {
    this.frameJpeg = frameJpeg;
    const message = `event: estimate\ndata: ${JSON.stringify(update)}\n\n`;
    for (const client of this.clients) client.write(message);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
