// The workflow editor: CodeMirror 6 with what Fastn's runtime knows.
// Bundled by esbuild (`make static`) into static/vendor/fastn-editor.js,
// which defines window.FastnEditor. The page logic is static/js/workflow-editor.js.
import { EditorState, Compartment } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, dropCursor, rectangularSelection, crosshairCursor, highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting, defaultHighlightStyle,
} from "@codemirror/language";
import { javascript, javascriptLanguage } from "@codemirror/lang-javascript";
import { searchKeymap, highlightSelectionMatches, search } from "@codemirror/search";
import {
  autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, snippetCompletion,
} from "@codemirror/autocomplete";
import { linter, lintGutter, lintKeymap, forceLinting } from "@codemirror/lint";
import { MergeView } from "@codemirror/merge";

const CTX_FIELDS = [
  ["input", "The trigger payload (webhook body, schedule metadata, app event, manual JSON)"],
  ["headers", "Request headers of webhook runs (credentials stripped)"],
  ["customer", "The customer this run is for, or null"],
  ["execution", "id, attempt, tier, version, environment, triggered_by"],
  ["config", "The customer's template settings (activations)"],
];
const SUB_FIELDS = {
  execution: ["id", "attempt", "tier", "version", "environment", "triggered_by", "workflow"],
  customer: ["id", "external_id", "name", "tier", "region", "metadata"],
};
const FASTN_API = {
  "": [
    ["connector", "fastn.connector['slug'].action(params): a connector action with the customer's connection"],
    ["db", "fastn.db.query(sql, params) / execute(sql, params)"],
    ["state", "fastn.state.get/set/delete(key, {scope, ttl})"],
    ["secrets", "fastn.secrets.get(name)"],
  ],
  db: [
    ["query", "await fastn.db.query(\"${SELECT * FROM t WHERE id = $1}\", [${id}])", "→ array of row objects"],
    ["execute", "await fastn.db.execute(\"${INSERT INTO t (a) VALUES ($1)}\", [${a}])", "→ {rowCount}"],
  ],
  state: [
    ["get", "await fastn.state.get(\"${key}\")", "→ the stored JSON value or null"],
    ["set", "await fastn.state.set(\"${key}\", ${value})", "{scope: 'ORG' | 'INVOCATION', ttl: seconds}"],
    ["delete", "await fastn.state.delete(\"${key}\")", "→ true when it existed"],
  ],
  secrets: [["get", "await fastn.secrets.get(\"${NAME}\")", "→ the string (redacted from output and logs)"]],
};

function paramSnippet(params) {
  if (!params || !params.length) return "{}";
  const required = params.filter((p) => p.required);
  const shown = required.length ? required : params.slice(0, 3);
  return "{ " + shown.map((p) => p.name + ": ${" + p.name + "}").join(", ") + " }";
}

function actionInfo(connector, action) {
  const lines = [(action.method || "") + " " + (action.path || ""), action.description || ""];
  if (action.params && action.params.length) {
    lines.push("Parameters: " + action.params.map((p) => p.name + (p.required ? "*" : "") + (p.type ? ": " + p.type : "")).join(", "));
  }
  return lines.filter(Boolean).join("\n");
}

export function connectorCall(connector, action) {
  // What the sidebar inserts (plain text, placeholders filled with the parameter names).
  const params = action.params || [];
  const shown = params.filter((p) => p.required).length ? params.filter((p) => p.required) : params.slice(0, 3);
  const args = shown.length ? "{ " + shown.map((p) => p.name + ": " + p.name).join(", ") + " }" : "{}";
  return "await fastn.connector['" + connector.slug + "']." + action.name + "(" + args + ")";
}

function inputTree(paths) {
  const root = {};
  for (const path of paths || []) {
    let node = root;
    for (const part of path.split(".")) node = node[part] = node[part] || {};
  }
  return root;
}

function fastnCompletions(context) {
  const data = window.FastnEditor._context || { connectors: [], input_paths: [], secrets: [] };
  const connectors = data.connectors || [];
  let m;
  // fastn.connector['slug'].act|  or  fastn.connector.slug.act|
  if ((m = context.matchBefore(/fastn\.connector(?:\[\s*['"]([\w.-]+)['"]\s*\]|\.([\w$]+))\.([\w$]*)$/))) {
    const slug = m.text.match(/fastn\.connector(?:\[\s*['"]([\w.-]+)['"]\s*\]|\.([\w$]+))/);
    const connector = connectors.find((c) => c.slug === (slug[1] || slug[2]));
    if (!connector) return null;
    const word = context.matchBefore(/[\w$]*$/);
    return {
      from: word.from,
      options: connector.actions.map((action) =>
        snippetCompletion(action.name + "(" + paramSnippet(action.params) + ")", {
          label: action.name, type: "method", detail: (action.method || "").toUpperCase(),
          info: actionInfo(connector, action),
        })),
      validFor: /^[\w$]*$/,
    };
  }
  // fastn.connector['sl|  or fastn.connector.call('sl|
  if ((m = context.matchBefore(/fastn\.connector(?:\[\s*|\.call\(\s*)['"]([\w.-]*)$/))) {
    const word = context.matchBefore(/[\w.-]*$/);
    return {
      from: word.from,
      options: connectors.map((c) => ({ label: c.slug, type: "namespace", detail: c.name, info: c.actions.length + " actions" })),
      validFor: /^[\w.-]*$/,
    };
  }
  // fastn.connector.call('slug', 'act|
  if ((m = context.matchBefore(/fastn\.connector\.call\(\s*['"]([\w.-]+)['"]\s*,\s*['"]([\w$]*)$/))) {
    const slug = m.text.match(/call\(\s*['"]([\w.-]+)/)[1];
    const connector = connectors.find((c) => c.slug === slug);
    if (!connector) return null;
    const word = context.matchBefore(/[\w$]*$/);
    return { from: word.from, options: connector.actions.map((a) => ({ label: a.name, type: "method", detail: a.method, info: actionInfo(connector, a) })) };
  }
  if ((m = context.matchBefore(/fastn\.connector\.([\w$]*)$/))) {
    const word = context.matchBefore(/[\w$]*$/);
    const options = [{ label: "call", type: "function", detail: "(slug, action, params)" }];
    for (const c of connectors) if (/^[A-Za-z_$][\w$]*$/.test(c.slug)) options.push({ label: c.slug, type: "namespace", detail: c.name });
    return { from: word.from, options };
  }
  if ((m = context.matchBefore(/fastn\.secrets\.get\(\s*['"]([\w.-]*)$/))) {
    const word = context.matchBefore(/[\w.-]*$/);
    return { from: word.from, options: (data.secrets || []).map((name) => ({ label: name, type: "constant", detail: "secret" })) };
  }
  if ((m = context.matchBefore(/fastn\.(db|state|secrets)\.([\w$]*)$/))) {
    const space = m.text.split(".")[1];
    const word = context.matchBefore(/[\w$]*$/);
    const prefix = "fastn." + space + ".";
    return {
      from: m.from,
      options: FASTN_API[space].map(([name, snippet, detail]) =>
        snippetCompletion(snippet.replace(/^await /, ""), { label: prefix + name, type: "method", detail })),
      validFor: /^[\w$.]*$/,
    };
  }
  if ((m = context.matchBefore(/\bfastn\.([\w$]*)$/))) {
    const word = context.matchBefore(/[\w$]*$/);
    return { from: word.from, options: FASTN_API[""].map(([name, info]) => ({ label: name, type: "namespace", info })) };
  }
  // ctx.input.a.b|
  if ((m = context.matchBefore(/\bctx\.input((?:\.[\w$]+)*)\.([\w$]*)$/))) {
    const parts = m.text.split(".").slice(2, -1);
    let node = inputTree(data.input_paths);
    for (const part of parts) node = (node && node[part]) || null;
    if (!node) return null;
    const word = context.matchBefore(/[\w$]*$/);
    return { from: word.from, options: Object.keys(node).map((key) => ({ label: key, type: "property", detail: "ctx.input" })) };
  }
  if ((m = context.matchBefore(/\bctx\.(execution|customer)\.([\w$]*)$/))) {
    const word = context.matchBefore(/[\w$]*$/);
    return { from: word.from, options: SUB_FIELDS[m.text.split(".")[1]].map((f) => ({ label: f, type: "property" })) };
  }
  if ((m = context.matchBefore(/\bctx\.([\w$]*)$/))) {
    const word = context.matchBefore(/[\w$]*$/);
    return { from: word.from, options: CTX_FIELDS.map(([name, info]) => ({ label: name, type: "property", info })) };
  }
  return null;
}

function toPosition(doc, line, column) {
  const l = doc.line(Math.max(1, Math.min(line || 1, doc.lines)));
  return Math.min(l.from + Math.max(0, (column || 1) - 1), l.to);
}

function compileLinter(url, csrf, onResult) {
  return linter(async (view) => {
    const code = view.state.doc.toString();
    let body;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ code }),
        credentials: "same-origin",
      });
      if (!response.ok) return [];
      body = await response.json();
    } catch (error) {
      return [];
    }
    if (view.state.doc.toString() !== code) return [];
    if (onResult) onResult(body);
    return (body.diagnostics || []).map((d) => {
      const from = toPosition(view.state.doc, d.line, d.column);
      const word = view.state.wordAt(from);
      const to = d.end_line ? toPosition(view.state.doc, d.end_line, d.end_column) : (word && word.from === from ? word.to : Math.min(from + 1, view.state.doc.length));
      return { from, to: Math.max(to, from), severity: d.severity || "error", message: d.message, source: d.source || "QuickJS" };
    });
  }, { delay: 350 });
}

export function create(options) {
  const readOnly = new Compartment();
  const extensions = [
    lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(),
    drawSelection(), dropCursor(), EditorState.allowMultipleSelections.of(true), indentOnInput(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }), bracketMatching(), closeBrackets(),
    autocompletion({ activateOnTyping: true }), rectangularSelection(), crosshairCursor(),
    highlightActiveLine(), highlightSelectionMatches(), search({ top: true }), lintGutter(),
    javascript(), javascriptLanguage.data.of({ autocomplete: fastnCompletions }),
    keymap.of([
      { key: "Mod-s", preventDefault: true, run: () => { if (options.onSave) options.onSave(); return true; } },
      ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
      ...completionKeymap, ...lintKeymap, indentWithTab,
    ]),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && options.onChange) options.onChange(update.state.doc.toString());
      if (update.selectionSet && options.onCursor) {
        const head = update.state.selection.main.head;
        const line = update.state.doc.lineAt(head);
        options.onCursor(line.number, head - line.from + 1);
      }
    }),
    readOnly.of(EditorState.readOnly.of(!!options.readOnly)),
    EditorView.contentAttributes.of({ "aria-label": "Workflow code", "data-testid": "code-editor" }),
  ];
  if (options.compileUrl && !options.readOnly) extensions.push(compileLinter(options.compileUrl, options.csrf, options.onDiagnostics));
  const view = new EditorView({ doc: options.doc || "", extensions, parent: options.parent });
  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    insert(text) {
      const range = view.state.selection.main;
      view.dispatch({ changes: { from: range.from, to: range.to, insert: text }, selection: { anchor: range.from + text.length }, scrollIntoView: true });
      view.focus();
    },
    goto(line, column) {
      const pos = toPosition(view.state.doc, Number(line), Number(column) || 1);
      view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
      view.focus();
    },
    relint: () => forceLinting(view),
    focus: () => view.focus(),
  };
}

// The save conflict: the newer saved code next to the editor's, side by side.
export function diff(parent, { saved, mine }) {
  parent.textContent = "";
  return new MergeView({
    a: { doc: saved, extensions: [javascript(), syntaxHighlighting(defaultHighlightStyle), EditorState.readOnly.of(true), EditorView.editable.of(false), EditorView.lineWrapping, lineNumbers()] },
    b: { doc: mine, extensions: [javascript(), syntaxHighlighting(defaultHighlightStyle), EditorState.readOnly.of(true), EditorView.editable.of(false), EditorView.lineWrapping, lineNumbers()] },
    parent,
    collapseUnchanged: { margin: 3, minSize: 6 },
  });
}

window.FastnEditor = { create, diff, connectorCall, _context: null };
