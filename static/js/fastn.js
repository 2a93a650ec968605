/* Fastn dashboard: behaviour shared by pages (no framework, just htmx).
 *
 * - htmx: an error answer that is a fragment (a form with its errors, a failed
 *   run) is swapped in like a success; a full error page (403, 404, 500)
 *   becomes a toast instead of being pasted into the page.
 * - toasts: `HX-Trigger: {"fastn:toast": {"message", "level"}}`.
 * - dialogs: [data-dialog-open="id"], [data-dialog-close]; a dialog opens by
 *   itself when htmx swaps content into it.
 * - tabs: [data-tabs] with role=tab buttons (the URL hash selects a tab).
 * - copy buttons: [data-copy="text"] or [data-copy-target="#selector"].
 * - fields with [data-keep="key"] keep what was typed across page loads of
 *   the tab (sessionStorage): the Test panel's input survives a Deploy.
 * - a checkbox [data-shows="#selector"] shows that block while it is checked
 *   (fields that mean nothing while it is off stay hidden).
 */
(function () {
  "use strict";
  if (window.fastn) return;

  const fastn = (window.fastn = {});

  // --- toasts -------------------------------------------------------------------------
  function toastHost() {
    let host = document.getElementById("toasts");
    if (!host) {
      host = document.createElement("div");
      host.id = "toasts";
      host.className = "toasts";
      host.setAttribute("aria-live", "polite");
      document.body.appendChild(host);
    }
    return host;
  }

  fastn.toast = function (message, level) {
    const item = document.createElement("div");
    item.className = "toast " + (level || "info");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    item.textContent = message;
    toastHost().appendChild(item);
    setTimeout(() => item.classList.add("leaving"), 5000);
    setTimeout(() => item.remove(), 5400);
  };

  document.addEventListener("fastn:toast", (event) => {
    const detail = event.detail || {};
    fastn.toast(detail.message || String(detail.value || ""), detail.level);
  });

  // --- htmx error answers ---------------------------------------------------------------
  function isFullPage(text) {
    return /<html[\s>]/i.test(text || "");
  }

  function pageMessage(xhr) {
    try {
      const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const node = doc.querySelector("main .card p, main.card p, .card.narrow p");
      if (node && node.textContent.trim()) return node.textContent.trim();
    } catch (err) {
      /* fall through */
    }
    if (xhr.status === 403) return "Your role does not allow this.";
    if (xhr.status === 404) return "Not found: it may have been deleted.";
    return "Something went wrong (" + xhr.status + "). Try again.";
  }

  document.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (!xhr || xhr.status < 400) return;
    if (xhr.responseText && xhr.responseText.trim() && !isFullPage(xhr.responseText)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else {
      event.detail.shouldSwap = false;
      fastn.toast(pageMessage(xhr), "error");
    }
  });

  document.addEventListener("htmx:sendError", () => {
    fastn.toast("The server could not be reached. Check your connection and try again.", "error");
  });

  // --- dialogs --------------------------------------------------------------------------
  fastn.openDialog = function (dialog, trigger) {
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    dialog.dispatchEvent(new CustomEvent("fastn:dialog-open", { detail: { trigger: trigger || null } }));
    const first = dialog.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
    if (first) first.focus();
  };

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      event.preventDefault();
      fastn.openDialog(document.getElementById(opener.dataset.dialogOpen), opener);
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      event.preventDefault();
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    // A click on the backdrop (the dialog element itself, outside its box) closes it.
    if (event.target.tagName === "DIALOG") {
      const box = event.target.getBoundingClientRect();
      const inside =
        event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) event.target.close();
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const dialog = event.detail.target && event.detail.target.closest && event.detail.target.closest("dialog");
    if (dialog && !dialog.open) fastn.openDialog(dialog);
  });

  // --- tabs -----------------------------------------------------------------------------
  function selectTab(tabs, tab, updateHash) {
    tabs.querySelectorAll('[role="tab"]').forEach((other) => {
      const selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
    if (updateHash) history.replaceState(null, "", "#" + tab.id.replace(/^tab-/, ""));
  }

  function setupTabs(tabs) {
    const list = Array.from(tabs.querySelectorAll('[role="tab"]'));
    list.forEach((tab) => {
      tab.addEventListener("click", () => selectTab(tabs, tab, true));
      tab.addEventListener("keydown", (event) => {
        const index = list.indexOf(tab);
        let next = null;
        if (event.key === "ArrowRight") next = list[(index + 1) % list.length];
        if (event.key === "ArrowLeft") next = list[(index - 1 + list.length) % list.length];
        if (next) {
          event.preventDefault();
          next.focus();
          selectTab(tabs, next, true);
        }
      });
    });
    const wanted = location.hash && document.getElementById("tab-" + location.hash.slice(1));
    if (wanted && tabs.contains(wanted)) selectTab(tabs, wanted, false);
  }

  fastn.selectTab = function (name) {
    const tab = document.getElementById("tab-" + name);
    const tabs = tab && tab.closest("[data-tabs]");
    if (tabs) selectTab(tabs, tab, true);
  };

  // --- copy -----------------------------------------------------------------------------
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      return ok;
    }
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    event.preventDefault();
    let text = button.dataset.copy;
    if (text === undefined) {
      const target = document.querySelector(button.dataset.copyTarget);
      text = target ? target.textContent : "";
    }
    const ok = await copyText(text);
    const label = button.textContent;
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = label), 1500);
  });

  // --- fields kept across reloads -------------------------------------------------------
  function restoreKept(root) {
    root.querySelectorAll("[data-keep]").forEach((field) => {
      try {
        const kept = sessionStorage.getItem("fastn:" + field.dataset.keep);
        if (kept !== null) field.value = kept;
      } catch (err) {
        /* storage refused (private mode): nothing kept */
      }
    });
  }

  document.addEventListener("input", (event) => {
    const field = event.target.closest && event.target.closest("[data-keep]");
    if (!field) return;
    try {
      sessionStorage.setItem("fastn:" + field.dataset.keep, field.value);
    } catch (err) {
      /* storage full or refused */
    }
  });

  // --- checkboxes that show a block ------------------------------------------------------
  function syncShown(box) {
    document.querySelectorAll(box.dataset.shows).forEach((node) => (node.hidden = !box.checked));
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("input[type=checkbox][data-shows]")) syncShown(event.target);
  });

  // --- small things ---------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, select, textarea")) return;
    if (window.getSelection && String(window.getSelection())) return; // selecting text, not navigating
    location.href = row.dataset.href;
  });

  function autohide(root) {
    root.querySelectorAll("[data-autohide]").forEach((node) => setTimeout(() => node.remove(), 4000));
  }

  function start() {
    document.querySelectorAll("[data-tabs]").forEach(setupTabs);
    // A dialog rendered open by the server (a form sent without JavaScript) becomes modal.
    document.querySelectorAll("dialog[open]").forEach((dialog) => {
      dialog.close();
      fastn.openDialog(dialog);
    });
    autohide(document);
    document.querySelectorAll("input[type=checkbox][data-shows]").forEach(syncShown);
    restoreKept(document);
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    autohide(event.detail.elt || document);
    (event.detail.elt || document).querySelectorAll("input[type=checkbox][data-shows]").forEach(syncShown);
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* Home: a recommended prompt fills the prompt box ([data-prompt], [data-prompt-target]). */
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const chip = event.target.closest && event.target.closest("[data-prompt]");
    if (!chip) return;
    const target = document.querySelector(chip.getAttribute("data-prompt-target") || "textarea");
    if (!target) return;
    target.value = chip.getAttribute("data-prompt");
    target.focus();
  });
})();
