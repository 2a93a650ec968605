/* The workflow page: a plain <textarea> code editor (line numbers, Tab
 * indentation, auto-indent, live byte count, error-line highlight, Ctrl+S),
 * the configuration panel (timeout slider following the tier's range, retry
 * schedule), unsaved-change tracking, and the deploy dialog's summary.
 * No dependencies; htmx events connect it to the server's answers.
 */
(function () {
  "use strict";

  const INDENT = "  ";
  const encoder = new TextEncoder();

  function humanMs(ms) {
    ms = Number(ms);
    if (!isFinite(ms)) return "—";
    if (ms < 1000) return Math.round(ms) + " ms";
    const s = ms / 1000;
    if (s < 60) return (Math.round(s * 100) / 100).toString() + " s";
    let minutes = Math.floor(Math.round(s) / 60);
    const seconds = Math.round(s) % 60;
    if (minutes < 60) return seconds ? minutes + " min " + seconds + " s" : minutes + " min";
    const hours = Math.floor(minutes / 60);
    minutes %= 60;
    return minutes ? hours + " h " + minutes + " min" : hours + " h";
  }

  function byteLabel(n) {
    return n.toLocaleString("en-US") + (n === 1 ? " byte" : " bytes");
  }

  // --- the code editor ----------------------------------------------------------------
  // CodeMirror 6 (static/vendor/fastn-editor.js, built by `make static`) mounted over the
  // <textarea name=code>, which stays the form field: every change is copied back to it,
  // so Save, Test and hx-include="#code" send the editor's code.
  function Editor(root) {
    const textarea = root.querySelector("textarea");
    const host = root.querySelector("[data-editor-host]");
    const position = root.querySelector("[data-cursor-pos]");
    const summary = root.querySelector("[data-diag-summary]");
    const contextNode = document.getElementById("editor-context");
    const readOnly = textarea.readOnly;
    const listeners = [];

    function updateBytes() {
      if (readOnly) return;
      const label = byteLabel(encoder.encode(textarea.value).length);
      document.querySelectorAll("[data-byte-count]").forEach((node) => (node.textContent = label));
    }

    function changed(code) {
      textarea.value = code;
      updateBytes();
      root.classList.remove("has-error");
      document.querySelectorAll("[data-testid=compile-error]").forEach((node) => node.remove());
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
      listeners.forEach((fn) => fn(code));
    }

    function showDiagnostics(body) {
      if (!summary) return;
      const list = body.diagnostics || [];
      const errors = list.filter((d) => d.severity === "error").length;
      const warnings = list.length - errors;
      summary.textContent = errors ? errors + " error" + (errors > 1 ? "s" : "") + (warnings ? ", " + warnings + " warning" + (warnings > 1 ? "s" : "") : "")
        : warnings ? warnings + " warning" + (warnings > 1 ? "s" : "") : "Compiles";
      summary.className = "diag-summary small " + (errors ? "error-text" : warnings ? "warn-text" : "ok-text");
      summary.title = list.map((d) => "Line " + d.line + ": " + d.message).join("\n");
    }

    if (!window.FastnEditor) {
      // The bundle is missing (run `make static`): the plain textarea still edits and saves.
      textarea.addEventListener("input", updateBytes);
      return {
        textarea, highlight() {}, clearMark() {}, refresh: updateBytes, insert() {}, getCode: () => textarea.value,
        setCode(code) { textarea.value = code; updateBytes(); }, onChange(fn) { textarea.addEventListener("input", () => fn(textarea.value)); },
      };
    }
    window.FastnEditor._context = contextNode ? JSON.parse(contextNode.textContent) : null;
    const csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
    const cm = window.FastnEditor.create({
      parent: host,
      doc: textarea.value,
      readOnly,
      compileUrl: readOnly ? null : root.dataset.compileUrl,
      csrf,
      onChange: changed,
      onDiagnostics: showDiagnostics,
      onCursor(line, column) {
        if (position) position.textContent = "Ln " + line + ", Col " + column;
      },
      onSave() {
        const form = document.getElementById(textarea.getAttribute("form"));
        if (form) form.requestSubmit();
      },
    });
    textarea.hidden = true;
    root.classList.add("cm-ready");
    window.fastnEditor = cm; // for the browser tests and the console
    updateBytes();
    if (root.dataset.errorLine) cm.goto(root.dataset.errorLine, root.dataset.errorColumn);

    return {
      textarea,
      highlight(line, column) {
        root.classList.add("has-error");
        cm.goto(line, column);
      },
      clearMark() { root.classList.remove("has-error"); },
      goto: (line, column) => cm.goto(line, column),
      refresh: updateBytes,
      insert: (text) => cm.insert(text),
      getCode: () => cm.getCode(),
      setCode: (code) => cm.setCode(code),
      onChange: (fn) => listeners.push(fn),
    };
  }

  // --- configuration panel --------------------------------------------------------------
  function tierSpecs() {
    const node = document.getElementById("tier-specs");
    return node ? JSON.parse(node.textContent) : null;
  }

  function niceStep(ms) {
    if (ms <= 120000) return 1000;
    if (ms <= 900000) return 5000;
    return 60000;
  }

  function setupConfig(form, specs) {
    const tier = form.querySelector("select[name=tier]");
    const slider = form.querySelector("[data-timeout-slider]");
    if (!tier || !slider || !specs) return;
    const label = form.querySelector("[data-timeout-label]");
    const minLabel = form.querySelector("[data-timeout-min]");
    const maxLabel = form.querySelector("[data-timeout-max]");
    const seconds = form.querySelector("[data-timeout-seconds]");
    const help = form.querySelector("[data-tier-help]");
    let value = Number(slider.getAttribute("value")) || Number(slider.value);

    function render() {
      const spec = specs[tier.value];
      slider.value = value;
      label.textContent = humanMs(value);
      minLabel.textContent = humanMs(spec.min);
      maxLabel.textContent = humanMs(spec.max);
      seconds.min = spec.min / 1000;
      seconds.max = spec.max / 1000;
      if (document.activeElement !== seconds) seconds.value = value / 1000;
      const mode = spec.synchronous ? "Synchronous: the caller waits for the result." : "Asynchronous: 202 and an execution id.";
      help.textContent = mode + " Timeout " + humanMs(spec.min) + " – " + humanMs(spec.max) + ", default " + humanMs(spec.default) + ".";
    }

    function applyTier() {
      const spec = specs[tier.value];
      slider.min = spec.min;
      slider.max = spec.max;
      // As the service does: keep the timeout when it fits the new tier, else take its default.
      if (!(value >= spec.min && value <= spec.max)) value = spec.default;
      render();
    }

    slider.addEventListener("input", () => {
      const spec = specs[tier.value];
      const raw = Number(slider.value);
      const step = niceStep(raw);
      value = Math.min(spec.max, Math.max(spec.min, Math.round(raw / step) * step));
      render();
    });
    seconds.addEventListener("input", () => {
      const spec = specs[tier.value];
      const ms = Math.round(Number(seconds.value) * 1000);
      if (!isFinite(ms) || ms <= 0) return;
      value = Math.min(spec.max, Math.max(spec.min, ms));
      slider.value = value;
      label.textContent = humanMs(value);
      form.dispatchEvent(new Event("input", { bubbles: true }));
    });
    seconds.addEventListener("blur", render);
    tier.addEventListener("change", applyTier);
    slider.min = specs[tier.value].min;
    slider.max = specs[tier.value].max;
    render();

    const retryToggle = form.querySelector("[name=retry_enabled]");
    const retryFields = form.querySelector("[data-retry-fields]");
    const schedule = form.querySelector("[data-retry-schedule]");
    function renderRetry() {
      if (!retryToggle || !retryFields) return;
      retryFields.classList.toggle("off", !retryToggle.checked);
      const number = (name) => Number(form.querySelector("[name=" + name + "]").value);
      const attempts = number("retry_max_attempts");
      const initial = number("retry_initial_interval_ms");
      const coefficient = number("retry_backoff_coefficient");
      const cap = number("retry_max_interval_ms");
      if (!retryToggle.checked) {
        schedule.textContent = "A failed or timed-out run is not retried.";
        return;
      }
      if (!(attempts >= 1 && initial > 0 && coefficient >= 1 && cap > 0)) {
        schedule.textContent = "";
        return;
      }
      const delays = [];
      for (let attempt = 1; attempt < Math.min(attempts, 10); attempt++) {
        delays.push(humanMs(Math.min(initial * Math.pow(coefficient, attempt - 1), cap)));
      }
      schedule.textContent =
        attempts <= 1
          ? "One attempt only: nothing is retried."
          : "Up to " + attempts + " attempts; waits " + delays.join(", ") + " before each retry.";
    }
    form.addEventListener("input", renderRetry);
    form.addEventListener("change", renderRetry);
    renderRetry();
  }

  // The deploy dialog: preselect what its button asked for, and say what will change.
  function setupDeployDialog() {
    const deployDialog = document.getElementById("deploy-dialog");
    const deployedNode = document.getElementById("deployed-versions");
    if (deployDialog) {
      const deployed = deployedNode ? JSON.parse(deployedNode.textContent) : null;
      const form = deployDialog.querySelector("form");
      const version = form.querySelector("[name=version]");
      const environment = form.querySelector("[name=environment]");
      const summary = form.querySelector("[data-deploy-summary]");
      const describe = () => {
        if (!deployed || !summary) return;
        const env = environment.value;
        const wanted = Number(version.value);
        const current = deployed[env];
        if (!current) summary.textContent = env + " runs no version yet: v" + wanted + " will run there.";
        else if (current === wanted) summary.textContent = env + " already runs v" + wanted + ".";
        else if (wanted < current) summary.textContent = "Rollback: " + env + " goes from v" + current + " back to v" + wanted + ".";
        else summary.textContent = env + " goes from v" + current + " to v" + wanted + ".";
        summary.classList.toggle("warn-text", !!current && wanted < current);
      };
      version.addEventListener("change", describe);
      environment.addEventListener("change", describe);
      deployDialog.addEventListener("fastn:dialog-open", (event) => {
        const trigger = event.detail.trigger;
        if (trigger && trigger.dataset.deployVersion) version.value = trigger.dataset.deployVersion;
        if (trigger && trigger.dataset.deployEnvironment) environment.value = trigger.dataset.deployEnvironment;
        describe();
      });
      describe();
    }
  }

  // --- a save that lost the race: show both versions, let the person choose -------------
  function setupConflict(editor, configForm) {
    const dialog = document.getElementById("conflict-dialog");
    if (!dialog) return;
    let latest = null;
    let view = null;
    document.addEventListener("fastn:draft-conflict", (event) => {
      latest = event.detail;
      dialog.querySelector("[data-conflict-who]").textContent =
        (latest.updated_by || "Someone") + " saved at " + new Date(latest.loaded_at).toLocaleTimeString() + ".";
      const box = dialog.querySelector("[data-conflict-diff]");
      if (view) view.destroy();
      if (window.FastnEditor) view = window.FastnEditor.diff(box, { saved: latest.code, mine: editor.getCode() });
      if (window.fastn && window.fastn.openDialog) window.fastn.openDialog(dialog);
      else dialog.showModal();
    });
    const accept = () => {
      const form = configForm();
      const loaded = form && form.querySelector("[name=loaded_at]");
      if (loaded && latest) loaded.value = latest.loaded_at;
    };
    dialog.querySelector("[data-conflict-keep]").addEventListener("click", () => {
      accept();
      dialog.close();
      const form = configForm();
      if (form) form.requestSubmit();
    });
    dialog.querySelector("[data-conflict-take]").addEventListener("click", () => {
      accept();
      if (latest) editor.setCode(latest.code);
      dialog.close();
    });
  }

  // --- the page -------------------------------------------------------------------------
  function start() {
    const editors = Array.from(document.querySelectorAll("[data-editor]")).map(Editor);
    const editor = editors[0];
    const specs = tierSpecs();
    const configForm = () => document.getElementById("wf-form");
    const prepareConfig = () => {
      const form = configForm();
      if (form && !form.dataset.ready) {
        form.dataset.ready = "1";
        setupConfig(form, specs);
      }
    };
    prepareConfig();

    document.addEventListener("click", (event) => {
      const go = event.target.closest("[data-goto-line]");
      if (go && editor) {
        event.preventDefault();
        editor.highlight(go.dataset.gotoLine, go.dataset.gotoColumn);
      }
      const insert = event.target.closest("[data-insert-connector]");
      if (insert && editor && window.FastnEditor) {
        const context = window.FastnEditor._context || { connectors: [] };
        const connector = context.connectors.find((c) => c.slug === insert.dataset.insertConnector);
        const action = connector && connector.actions.find((a) => a.name === insert.dataset.insertAction);
        if (connector && action) editor.insert(window.FastnEditor.connectorCall(connector, action));
      }
      const toggle = event.target.closest("[data-toggle-target]");
      if (toggle) {
        const target = document.querySelector(toggle.dataset.toggleTarget);
        if (target) {
          target.hidden = !target.hidden;
          const first = !target.hidden && target.querySelector("input, textarea, select");
          if (first) first.focus();
        }
      }
    });
    setupDeployDialog();
    window.fastnWorkflowEditor = editor;

    if (!editor || editor.textarea.readOnly || !configForm()) return;

    // Unsaved changes: the code and the configuration as last saved.
    const snapshot = () => {
      const form = configForm();
      const data = new FormData(form);
      data.delete("csrfmiddlewaretoken");
      data.delete("loaded_at");
      data.delete("code");
      return new URLSearchParams(data).toString();
    };
    let savedCode = editor.textarea.value;
    let savedConfig = snapshot();
    let submittedCode = null;
    let saved = false;
    let leaving = false;

    const isDirty = () => editor.textarea.value !== savedCode || snapshot() !== savedConfig;
    function renderDirty() {
      const dirty = isDirty();
      document.querySelectorAll("[data-dirty-flag], [data-when-dirty]").forEach((node) => (node.hidden = !dirty));
      document.title = (dirty ? "• " : "") + document.title.replace(/^• /, "");
    }
    document.addEventListener("input", (event) => {
      if (event.target === editor.textarea || (event.target.form && event.target.form === configForm())) renderDirty();
    });
    document.addEventListener("change", renderDirty);

    document.addEventListener("htmx:beforeRequest", (event) => {
      const elt = event.detail.elt;
      if (elt === configForm()) submittedCode = editor.textarea.value;
      if (elt.closest && elt.closest("[data-discard], .danger-zone")) leaving = true;
    });
    document.addEventListener("fastn:saved", () => {
      saved = true;
    });
    document.addEventListener("htmx:afterSettle", () => {
      prepareConfig(); // the panel comes back re-rendered after a save
      editor.refresh(); // so does the header, with the saved size
      if (saved) {
        saved = false;
        if (submittedCode !== null) savedCode = submittedCode;
        savedConfig = snapshot();
      }
      renderDirty();
    });
    document.addEventListener("fastn:compile-error", (event) => editor.highlight(event.detail.line, event.detail.column));
    setupConflict(editor, configForm, () => {
      leaving = false;
    });
    document.addEventListener("fastn:error-line", (event) => editor.highlight(event.detail.line, event.detail.column));
    window.addEventListener("beforeunload", (event) => {
      if (!leaving && isDirty()) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    // Links inside the page (breadcrumbs, navigation, Activity) ask first too,
    // with a message that says what is at stake.
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[href]");
      if (!link || leaving || !isDirty() || link.hasAttribute("download") || link.target === "_blank") return;
      const href = link.getAttribute("href");
      if (!href || href.startsWith("#")) return;
      if (!window.confirm("You have unsaved changes to this workflow. Leave without saving?")) {
        event.preventDefault();
        event.stopImmediatePropagation();
      } else {
        leaving = true;
      }
    }, true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
