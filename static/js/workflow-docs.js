/* The workflow page's Docs tab: the flow graph (laid out by dagre in
 * static/vendor/fastn-flow.js), the generated reference, and the Sequence of
 * a chosen execution next to the graph. Also opens a run's Sequence from the
 * Executions tab. Data comes from the page's own endpoints; no inline code.
 */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    (children || []).forEach((child) => child && node.appendChild(child));
    return node;
  }

  function code(text) {
    return el("code", { text });
  }

  function section(title, items, empty) {
    const box = el("section", { class: "ref-section" }, [el("h4", { text: title })]);
    if (!items.length) box.appendChild(el("p", { class: "muted small", text: empty }));
    else box.appendChild(el("ul", {}, items.map((item) => el("li", {}, Array.isArray(item) ? item : [item]))));
    return box;
  }

  function renderReference(pane, ref) {
    pane.textContent = "";
    const wf = ref.workflow;
    const retry = wf.retry_policy || {};
    pane.appendChild(el("h3", { text: (wf.name || wf.slug) + (wf.version ? " · v" + wf.version : " · draft") }));
    if (wf.description) pane.appendChild(el("p", { text: wf.description }));
    pane.appendChild(el("p", { class: "small", "data-testid": "ref-runtime",
      text: "Tier " + wf.tier + " · timeout " + wf.timeout_ms + " ms · " + (retry.enabled
        ? "retries: up to " + retry.max_attempts + " attempts, " + retry.initial_interval_ms + " ms ×" + retry.backoff_coefficient + " (max " + retry.max_interval_ms + " ms)"
        : "no retries") }));
    pane.appendChild(section("Inputs (ctx.input)", ref.inputs.map((p) => code("ctx.input." + p)), "The code reads no ctx.input field."));
    if (ref.headers.length) pane.appendChild(section("Headers", ref.headers.map((h) => code(h)), ""));
    if (ref.config.length) pane.appendChild(section("Customer settings (ctx.config)", ref.config.map((c) => code(c)), ""));
    const calls = el("section", { class: "ref-section" }, [el("h4", { text: "Connector calls" })]);
    if (!ref.connectors.length) calls.appendChild(el("p", { class: "muted small", text: "None." }));
    else {
      const table = el("table", { class: "table compact", "data-testid": "ref-connectors" });
      table.appendChild(el("thead", {}, [el("tr", {}, ["Connector", "Action", "Method", "Parameters", "Lines"].map((h) => el("th", { text: h })))]));
      const body = el("tbody");
      for (const call of ref.connectors) {
        body.appendChild(el("tr", {}, [
          el("td", {}, [code(call.connector), call.installed ? null : el("span", { class: "pill failed", text: "not installed" })]),
          el("td", {}, [code(call.action)]),
          el("td", { text: (call.method || "?").toUpperCase() }),
          el("td", { text: call.params.join(", ") || "—" }),
          el("td", { text: call.lines.join(", ") }),
        ]));
      }
      table.appendChild(body);
      calls.appendChild(table);
    }
    pane.appendChild(calls);
    pane.appendChild(section("Outputs", ref.outputs.map((o) => [
      el("span", { class: "muted", text: "line " + o.line + (o.outcome === "error" ? " (error) " : o.early ? " (early return) " : " ") }),
      o.keys.length ? code("{" + o.keys.join(", ") + "}") : code(o.label),
    ]), "Nothing is returned."));
    pane.appendChild(section("Secrets read", ref.secrets.map((s) => code(s)), "None."));
    if (ref.state_keys.length) pane.appendChild(section("State keys", ref.state_keys.map((k) => code(k)), ""));
    if (ref.sql.length) pane.appendChild(section("Database statements", ref.sql.map((s) => [code(s.op), document.createTextNode(" "), code(s.sql)]), ""));
    pane.appendChild(section("Triggers", ref.triggers.map((t) =>
      document.createTextNode([t.type, "environment " + t.environment, t.customer ? "customer " + t.customer : "", t.schedule, t.enabled ? "" : "disabled"].filter(Boolean).join(" · "))),
      "None: runs start from the API or the dashboard."));
  }

  function start() {
    const panel = document.querySelector("[data-docs]");
    if (!panel) return;
    const canvas = panel.querySelector("[data-flow-canvas]");
    const referencePane = panel.querySelector("[data-docs-pane=reference]");
    const flowPane = panel.querySelector("[data-docs-pane=flow]");
    const source = panel.querySelector("[data-docs-source]");
    const download = panel.querySelector("[data-docs-download]");
    const errors = panel.querySelector("[data-docs-errors]");
    const pick = panel.querySelector("[data-sequence-pick]");
    const csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
    let drawn = null;
    let graph = null;
    let loadedFor = null;
    let timer = null;

    const visible = () => !panel.hidden;
    const editor = () => window.fastnWorkflowEditor;

    async function load() {
      const version = source.value;
      const codeNow = editor() ? editor().getCode() : null;
      const key = version || "code:" + codeNow;
      if (key === loadedFor) return;
      loadedFor = key;
      const url = panel.dataset.docsUrl + (version ? "?version=" + encodeURIComponent(version) : "");
      const response = version
        ? await fetch(url, { credentials: "same-origin" })
        : await fetch(url, { method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify({ code: codeNow }) });
      if (!response.ok) {
        canvas.textContent = "The flow graph could not be drawn (HTTP " + response.status + ").";
        return;
      }
      const body = await response.json();
      graph = body.graph;
      if (!window.FastnFlow) {
        canvas.textContent = "The graph library is missing: run make static.";
        return;
      }
      drawn = window.FastnFlow.render(canvas, graph, {
        onNodeClick(node) {
          const ed = editor();
          if (ed && ed.goto && !source.value) ed.goto(node.line, 1);
        },
      });
      canvas.dataset.nodes = String(graph.nodes.length);
      renderReference(referencePane, body.reference);
      errors.textContent = "";
      if (graph.errors.length) {
        errors.appendChild(el("p", { class: "callout warn small", text: "The code has syntax errors (line " + graph.errors.map((e) => e.line).join(", ") + "); the graph shows what could be read." }));
      }
      markSequence();
    }

    function schedule(delay) {
      clearTimeout(timer);
      timer = setTimeout(() => { if (visible()) load(); }, delay);
    }

    // Draw when the tab is shown; redraw as the code changes while it is shown.
    new MutationObserver(() => { if (visible()) schedule(0); }).observe(panel, { attributes: true, attributeFilter: ["hidden"] });
    if (visible()) schedule(0);
    document.addEventListener("input", (event) => {
      if (event.target.id === "code" && !source.value) schedule(800);
    });
    source.addEventListener("change", () => {
      download.href = download.dataset.baseHref + (source.value ? "?version=" + source.value : "");
      schedule(0);
    });

    panel.querySelectorAll("[data-docs-view]").forEach((button) => button.addEventListener("click", () => {
      const view = button.dataset.docsView;
      panel.querySelectorAll("[data-docs-view]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      flowPane.hidden = view !== "flow";
      referencePane.hidden = view !== "reference";
    }));
    panel.querySelectorAll("[data-flow-zoom]").forEach((button) => button.addEventListener("click", () => {
      if (!drawn) return;
      const how = button.dataset.flowZoom;
      drawn.zoom(how === "in" ? 1.25 : how === "out" ? 0.8 : null);
    }));

    // --- the Sequence view --------------------------------------------------------------
    function markSequence() {
      if (!drawn) return;
      const steps = Array.from(document.querySelectorAll("#sequence-body [data-testid=sequence-step]"));
      const seen = steps.map((s) => ({ op: s.dataset.op, target: s.dataset.target }));
      drawn.highlight((node) => seen.some((step) => {
        const d = node.detail || {};
        if (step.op !== d.op) return false;
        if (step.op === "connector.call") return step.target === d.connector + "." + d.action;
        if (step.op === "secrets.get") return !d.name || step.target === d.name;
        if (step.op.startsWith("state.")) return !d.key || step.target === d.key;
        return true;
      }));
    }

    async function openSequence(id) {
      const body = document.getElementById("sequence-body");
      if (!id) {
        body.textContent = "";
        markSequence();
        return;
      }
      if (pick && !Array.from(pick.options).some((o) => o.value === id)) {
        pick.appendChild(el("option", { value: id, text: id.slice(0, 8) }));
      }
      if (pick) pick.value = id;
      const response = await fetch(panel.dataset.sequenceUrl.replace("EXECUTION", encodeURIComponent(id)), { credentials: "same-origin" });
      body.innerHTML = response.ok ? await response.text() : "";
      if (!response.ok) body.textContent = "This execution could not be read (HTTP " + response.status + ").";
      markSequence();
    }

    if (pick) pick.addEventListener("change", () => openSequence(pick.value));
    document.addEventListener("click", (event) => {
      const opener = event.target.closest("[data-open-sequence]");
      if (!opener || event.target.closest("a")) return;
      event.preventDefault();
      if (window.fastn && window.fastn.selectTab) window.fastn.selectTab("docs");
      openSequence(opener.dataset.openSequence);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
