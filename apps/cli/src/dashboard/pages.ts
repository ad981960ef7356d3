import { stageNames } from "@hrpipe/contracts";
import type { RunProgress } from "@hrpipe/runtime";

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
thead{background:#f3f3f3}.bar{background:#eee;width:120px;height:10px;display:inline-block}.bar>span{background:#3a7;height:10px;display:block}nav a{margin-right:1rem}</style>
</head><body><nav><a href="/runs">runs</a><a href="/queues">queues</a><a href="/metrics">metrics</a></nav><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function bar(done: number, total: number): string {
  const share = total > 0 ? Math.round((100 * done) / total) : 0;
  return `<span class="bar" title="${done}/${total}"><span style="width:${share}%"></span></span> ${done}/${total}`;
}

export function runsPage(runs: { progress: RunProgress; hasReport: boolean }[]): string {
  if (runs.length === 0)
    return page("Runs", "<p>No runs yet. Start one with <code>hrpipe ingest &lt;dataset&gt;</code>.</p>");
  const rows = runs.map(({ progress, hasReport }) => {
    const cells = stageNames.map((stage) => {
      const s = progress.stages[stage];
      return `<td>${bar(s.done + s.failed, s.done + s.failed + s.pending)}${s.failed ? ` <b>${s.failed} failed</b>` : ""}</td>`;
    });
    const report = hasReport
      ? `<a href="/runs/${encodeURIComponent(progress.runId)}/report.html">report</a>`
      : "-";
    const excluded = progress.manifest?.excluded.length ?? 0;
    return `<tr><td><a href="/runs/${encodeURIComponent(progress.runId)}">${escapeHtml(progress.runId)}</a></td><td>${escapeHtml(progress.manifest?.state ?? "?")}</td>${cells.join("")}<td>${excluded}</td><td>${report}</td></tr>`;
  });
  return page(
    "Runs",
    `<table><thead><tr><th>run</th><th>state</th>${stageNames.map((s) => `<th>${s}</th>`).join("")}<th>excluded</th><th>report</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
  );
}

export function runPage(progress: RunProgress, hasReport: boolean): string {
  const exclusions = (progress.manifest?.excluded ?? []).map(
    (e) =>
      `<tr><td>${e.stage}</td><td>${escapeHtml(e.participant)}</td><td>${escapeHtml(e.videoId ?? "")}</td><td>${escapeHtml(e.reason)}</td></tr>`,
  );
  const failures = progress.failures.map(
    (f) => `<li>${escapeHtml(f.stage)} ${escapeHtml(f.job)}: ${escapeHtml(f.reason)}</li>`,
  );
  return page(
    `Run ${progress.runId}`,
    `<p>State: ${escapeHtml(progress.manifest?.state ?? "?")}${hasReport ? ` &middot; <a href="/runs/${encodeURIComponent(progress.runId)}/report.html">report</a>` : ""}</p>
<table><thead><tr><th>stage</th><th>done</th><th>failed</th><th>pending</th></tr></thead><tbody>${stageNames
      .map(
        (s) =>
          `<tr><td>${s}</td><td>${progress.stages[s].done}</td><td>${progress.stages[s].failed}</td><td>${progress.stages[s].pending}</td></tr>`,
      )
      .join("")}</tbody></table>
<h2>Failures</h2>${failures.length ? `<ul>${failures.join("")}</ul>` : "<p>None.</p>"}
<h2>Exclusions</h2>${exclusions.length ? `<table><thead><tr><th>stage</th><th>participant</th><th>video</th><th>reason</th></tr></thead><tbody>${exclusions.join("")}</tbody></table>` : "<p>None.</p>"}`,
  );
}
