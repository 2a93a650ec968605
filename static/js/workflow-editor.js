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
  function Editor(root) {
    const textarea = root.querySelector("textarea");
    const gutter = root.querySelector(".gutter-lines");
    const mark = root.querySelector(".line-mark");
    const position = root.querySelector("[data-cursor-pos]");
    let lines = 0;
    let markedLine = null;
    let escaped = false;

    function metrics() {
      const style = getComputedStyle(textarea);
      return { lineHeight: parseFloat(style.lineHeight) || 20, top: parseFloat(style.paddingTop) || 0 };
    }

    function renderGutter() {
      const count = textarea.value.split("\n").length;
      if (count === lines) return;
      lines = count;
      const parts = new Array(count);
      for (let i = 0; i < count; i++) parts[i] = String(i + 1);
      gutter.textContent = parts.join("\n");
    }

    function syncScroll() {
      gutter.style.transform = "translateY(" + -textarea.scrollTop + "px)";
      if (markedLine !== null) placeMark();
    }

    function updateBytes() {
      // The page header shows the size of the code being edited (the saved size until then).
      if (textarea.readOnly) return;
      const label = byteLabel(encoder.encode(textarea.value).length);
      document.querySelectorAll("[data-byte-count]").forEach((node) => (node.textContent = label));
    }

    function updatePosition() {
      if (!position) return;
      const before = textarea.value.slice(0, textarea.selectionStart);
      const line = before.split("\n").length;
      const column = before.length - before.lastIndexOf("\n");
      position.textContent = "Ln " + line + ", Col " + column;
    }

    function placeMark() {
      const m = metrics();
      mark.style.top = m.top + (markedLine - 1) * m.lineHeight - textarea.scrollTop + "px";
      mark.style.height = m.lineHeight + "px";
    }

    function clearMark() {
      markedLine = null;
      mark.hidden = true;
      root.classList.remove("has-error");
      // The error described code that has changed since.
      document.querySelectorAll("[data-testid=compile-error]").forEach((node) => node.remove());
    }

    function offsetOf(line, column) {
      const all = textarea.value.split("\n");
      line = Math.max(1, Math.min(line, all.length));
      let offset = 0;
      for (let i = 0; i < line - 1; i++) offset += all[i].length + 1;
      return offset + Math.max(0, Math.min((column || 1) - 1, all[line - 1].length));
    }

    function highlight(line, column) {
      line = Number(line);
      if (!line) return;
      markedLine = line;
      root.classList.add("has-error");
      mark.hidden = false;
      const m = metrics();
      const wanted = (line - 1) * m.lineHeight - textarea.clientHeight / 3;
      textarea.scrollTop = Math.max(0, wanted);
      placeMark();
      const at = offsetOf(line, Number(column) || 1);
      textarea.focus({ preventScroll: true });
      textarea.setSelectionRange(at, at);
      syncScroll();
    }

    function insert(text) {
      // execCommand keeps the browser's undo history; setRangeText is the fallback.
      if (!document.execCommand("insertText", false, text)) {
        const start = textarea.selectionStart;
        textarea.setRangeText(text, start, textarea.selectionEnd, "end");
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }

    function selectedLineRange() {
      const value = textarea.value;
      const start = value.lastIndexOf("\n", textarea.selectionStart - 1) + 1;
      let end = textarea.selectionEnd;
      if (end > start && value[end - 1] === "\n") end -= 1;
      const lineEnd = value.indexOf("\n", end);
      return [start, lineEnd === -1 ? value.length : lineEnd];
    }

    function indentLines(outdent) {
      const [start, end] = selectedLineRange();
      const block = textarea.value.slice(start, end);
      const changed = block
        .split("\n")
        .map((line) => {
          if (!outdent) return INDENT + line;
          if (line.startsWith(INDENT)) return line.slice(INDENT.length);
          return line.replace(/^[ \t]/, "");
        })
        .join("\n");
      textarea.setSelectionRange(start, end);
      insert(changed);
      textarea.setSelectionRange(start, start + changed.length);
    }

    function onKeydown(event) {
      if (textarea.readOnly) return;
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        const form = document.getElementById(textarea.getAttribute("form"));
        if (form) form.requestSubmit();
        return;
      }
      if (event.key === "Escape") {
        escaped = true; // the next Tab leaves the editor (keyboard users are not trapped)
        return;
      }
      if (event.key === "Tab") {
        if (escaped) {
          escaped = false;
          return;
        }
        event.preventDefault();
        const multiline = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd).includes("\n");
        if (event.shiftKey || multiline) indentLines(event.shiftKey);
        else insert(INDENT);
        return;
      }
      escaped = false;
      if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey) {
        const value = textarea.value;
        const lineStart = value.lastIndexOf("\n", textarea.selectionStart - 1) + 1;
        const before = value.slice(lineStart, textarea.selectionStart);
        let indent = (before.match(/^[ \t]*/) || [""])[0];
        if (/[{[(]\s*$/.test(before)) indent += INDENT;
        event.preventDefault();
        insert("\n" + indent);
      }
    }

    textarea.addEventListener("input", () => {
      renderGutter();
      updateBytes();
      if (markedLine !== null) clearMark();
    });
    textarea.addEventListener("scroll", syncScroll);
    textarea.addEventListener("keydown", onKeydown);
    ["keyup", "click", "focus", "input"].forEach((name) => textarea.addEventListener(name, updatePosition));
    renderGutter();
    updateBytes();
    updatePosition();
    if (root.dataset.errorLine) highlight(root.dataset.errorLine, 1);

    return { textarea, highlight, clearMark, refresh: updateBytes };
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
    });
    setupDeployDialog();

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
    document.addEventListener("fastn:error-line", (event) => editor.highlight(event.detail.line, event.detail.column));
    window.addEventListener("beforeunload", (event) => {
      if (!leaving && isDirty()) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
