/** @jsxImportSource preact */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Execution, Insights, Template } from "../../js/src/types";
import type { HubContext } from "./app";

const POLL_MS = 5000;

const STATUS: Record<string, { text: string; tone: string }> = {
  queued: { text: "Queued", tone: "muted" },
  running: { text: "Running", tone: "warn" },
  completed: { text: "Completed", tone: "ok" },
  failed: { text: "Failed", tone: "bad" },
  timeout: { text: "Timed out", tone: "bad" },
};

export function InsightsTab({ ctx, templates }: { ctx: HubContext; templates: Template[] }) {
  const [insights, setInsights] = useState<Insights | null>(null);
  const [runs, setRuns] = useState<Execution[] | null>(null);
  const [error, setError] = useState("");

  const load = useCallback(async () => {
    try {
      const [nextInsights, page] = await Promise.all([ctx.client.getInsights(), ctx.client.listExecutions({ limit: 20 })]);
      setInsights(nextInsights);
      setRuns(page.results);
      setError("");
    } catch (err) {
      setError(ctx.onError(err));
    }
  }, [ctx.client]);

  useEffect(() => {
    load();
    // Refresh while shown and the page is visible: runs finish in the background.
    const timer = setInterval(() => {
      if (typeof document === "undefined" || document.visibilityState === "visible") load();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [load]);

  const titles = new Map(templates.map((t) => [t.slug, t.title]));
  const kpis: Array<[string, number | undefined, string]> = [
    ["Runs Today", insights?.runs_today, ""],
    ["Records Processed", insights?.records_processed, ""],
    ["Needs Attention", insights?.needs_attention, insights?.needs_attention ? "attention" : ""],
  ];

  return (
    <div>
      <dl class="kpis">
        {kpis.map(([label, value, extra]) => (
          <div class={`kpi ${extra}`} key={label} data-kpi={label}>
            <dt>{label}</dt>
            <dd>{value === undefined ? "–" : formatNumber(value)}</dd>
          </div>
        ))}
      </dl>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      <div class="row" style={{ marginBottom: "6px" }}>
        <span />
        <button type="button" class="btn" onClick={load} aria-label="Refresh runs">
          Refresh
        </button>
      </div>
      {runs === null ? (
        <p class="empty" role="status">
          Loading…
        </p>
      ) : runs.length === 0 ? (
        <p class="empty">No runs yet. Turn a workflow on and it shows here.</p>
      ) : (
        <table class="runs">
          <caption>Recent runs</caption>
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => {
              const shown = STATUS[run.status] ?? { text: run.status, tone: "muted" };
              const name = (run.template && titles.get(run.template)) || (run.template_title as string) || run.template || run.workflow || "Run";
              const errorText = typeof run.error === "string" ? run.error : run.error?.message;
              const started = run.started_at ?? run.created_at ?? null;
              return (
                <tr key={run.id} data-execution={run.id}>
                  <td>
                    {name}
                    {errorText ? <div class="error-text">{errorText}</div> : null}
                  </td>
                  <td>
                    <span class={`badge ${shown.tone}`}>{shown.text}</span>
                  </td>
                  <td>{started ? <time dateTime={started}>{relative(started)}</time> : "–"}</td>
                  <td>{run.duration_ms == null ? "–" : formatDuration(run.duration_ms)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function formatNumber(n: number): string {
  return new Intl.NumberFormat().format(n);
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

function relative(iso: string): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return iso;
  const seconds = Math.round((Date.now() - then) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(then).toLocaleString();
}
