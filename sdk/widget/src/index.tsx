/** @jsxImportSource preact */
/**
 * <fastn-hub session-token="…" base-url="…" tab="apps|workflows|insights">
 *
 * The drop-in widget: a custom element with an open shadow root, so the host
 * page's CSS does not reach in and ours does not leak out. Everything it
 * shows comes from /api/v1/embed/* with the customer session token; it is
 * styled only by the organization's design tokens (`--fastn-*`).
 *
 * Properties: `tokens` (overrides of the organization's style tokens, applied
 * at once — the builder's live preview uses it), `client` (the headless
 * client), `refresh()` (load everything again). Events (bubbling, composed):
 * fastn:ready, fastn:connected, fastn:disconnected, fastn:template-enabled,
 * fastn:template-disabled, fastn:session-expired, fastn:error.
 */
import { render } from "preact";
import { createFastnClient, type FastnClient } from "../../js/src/client";
import { App, type TabName, TABS } from "./app";
import { CSS } from "./styles";
import { applyTokens, DEFAULT_TOKENS, resolveTokens, TOKEN_NAMES } from "./tokens";

const SCRIPT_ORIGIN = (() => {
  // base-url defaults to where this script was served from (GET /embed/fastn.js).
  try {
    const src = (document.currentScript as HTMLScriptElement | null)?.src;
    return src ? new URL(src).origin : "";
  } catch {
    return "";
  }
})();

let sheet: CSSStyleSheet | null = null;
let counter = 0;

function styleInto(root: ShadowRoot): void {
  // A constructed stylesheet: no <style> element, so a host page's CSP
  // without 'unsafe-inline' styles does not block it.
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet !== "undefined" && "replaceSync" in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [sheet];
    return;
  }
  const style = document.createElement("style");
  style.textContent = CSS;
  root.appendChild(style);
}

export class FastnHubElement extends HTMLElement {
  static get observedAttributes(): string[] {
    return ["session-token", "base-url"];
  }

  private readonly root: ShadowRoot;
  private readonly mount: HTMLDivElement;
  private readonly uid = `fh${++counter}`;
  private _client: FastnClient | null = null;
  private _tokens: Record<string, unknown> = {};
  private _orgStyle: Record<string, unknown> = {};
  private generation = 0;
  private connected = false;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    styleInto(this.root);
    this.mount = document.createElement("div");
    this.root.appendChild(this.mount);
  }

  connectedCallback(): void {
    this.connected = true;
    this.renderApp();
  }

  disconnectedCallback(): void {
    this.connected = false;
    render(null, this.mount);
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue) return;
    if (name === "session-token" && this._client && newValue) {
      // A fresh token for the same place: keep the client and what is shown, reload.
      this._client.setSessionToken(newValue);
      this.refresh();
      return;
    }
    this._client = null;
    if (this.connected) this.renderApp();
  }

  /** The headless client this widget uses (null until it has a session token). */
  get client(): FastnClient | null {
    return this.ensureClient();
  }

  /** Style tokens that override the organization's, applied immediately (`{"color-primary": "#0a7"}`). */
  get tokens(): Record<string, unknown> {
    return { ...this._tokens };
  }

  set tokens(value: Record<string, unknown> | null) {
    this._tokens = value && typeof value === "object" ? { ...value } : {};
    this.paint();
  }

  /** The tokens in force: defaults, the organization's, then `tokens`. */
  get resolvedTokens(): Record<string, string> {
    return resolveTokens(this._orgStyle, this._tokens);
  }

  static get tokenNames(): readonly string[] {
    return TOKEN_NAMES;
  }

  static get defaultTokens(): Readonly<Record<string, string>> {
    return DEFAULT_TOKENS;
  }

  /** Load the configuration, templates and runs again (after the organization changed the widget). */
  refresh(): void {
    this.generation += 1;
    if (this.connected) this.renderApp();
  }

  private ensureClient(): FastnClient | null {
    if (this._client) return this._client;
    const token = this.getAttribute("session-token");
    const baseUrl = this.getAttribute("base-url") || SCRIPT_ORIGIN || window.location.origin;
    if (!token) return null;
    this._client = createFastnClient({ sessionToken: token, baseUrl });
    return this._client;
  }

  private paint(): void {
    const hub = this.root.querySelector<HTMLElement>(".hub");
    if (hub) applyTokens(hub, this.resolvedTokens);
  }

  private readonly onStyle = (style: Record<string, unknown>): void => {
    this._orgStyle = style ?? {};
    this.paint();
  };

  private readonly emit = (name: string, detail: Record<string, unknown> = {}): void => {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  };

  private renderApp(): void {
    const client = this.ensureClient();
    if (!client) {
      render(
        <section class="hub" role="alert">
          <p>This widget needs a session token: &lt;fastn-hub session-token="…"&gt;.</p>
        </section>,
        this.mount,
      );
      this.paint();
      return;
    }
    const wanted = this.getAttribute("tab") as TabName | null;
    const initialTab = TABS.some((t) => t.name === wanted) ? (wanted as TabName) : "apps";
    render(
      <App client={client} uid={this.uid} initialTab={initialTab} onStyle={this.onStyle} emit={this.emit} generation={this.generation} />,
      this.mount,
    );
    this.paint();
  }
}

if (typeof customElements !== "undefined" && !customElements.get("fastn-hub")) {
  customElements.define("fastn-hub", FastnHubElement);
}

declare global {
  interface HTMLElementTagNameMap {
    "fastn-hub": FastnHubElement;
  }
}
