import { errorFromResponse, FastnError, FastnNetworkError, FastnOAuthError } from "./errors.js";
import type {
  Activation,
  Connection,
  CreateConnectionInput,
  EmbedConfig,
  Execution,
  Insights,
  OAuthResult,
  Page,
  Template,
  UpdateConnectionInput,
} from "./types.js";

export interface FastnClientOptions {
  /** The customer session token your backend minted with `POST /api/v1/customers/{id}/sessions`. */
  sessionToken: string;
  /** Where Fastn runs, e.g. `https://fastn.example.com`. */
  baseUrl: string;
  /** A `fetch` to use instead of the global one (tests, instrumentation). */
  fetch?: typeof fetch;
  /** Milliseconds before a call is given up (default 30 000). */
  timeoutMs?: number;
  /** Called once whenever the API answers 401: mint a new session and call `setSessionToken`. */
  onSessionExpired?: (error: FastnError) => void;
}

export interface ListOptions {
  cursor?: string | null;
  limit?: number;
}

export interface ConnectOAuthOptions {
  /**
   * A window opened by the caller, synchronously in the click handler, so that
   * popup blockers let it through (`window.open("", "fastn-oauth", features)`).
   * When absent, one is opened here: call `connectOAuth` straight from a click.
   */
  popup?: Window | null;
  /** Milliseconds to wait for the customer to finish at the provider (default 10 minutes). */
  timeoutMs?: number;
  /** Aborts waiting (and closes the popup). */
  signal?: AbortSignal;
}

const POPUP_FEATURES = "popup=yes,width=520,height=680";
/** The `type` of the message our OAuth callback page posts to its opener. */
export const OAUTH_MESSAGE_TYPE = "fastn:oauth";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A headless client for one customer session: every `/api/v1/embed` endpoint, typed. */
export class FastnClient {
  readonly baseUrl: string;
  private token: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly onSessionExpired?: (error: FastnError) => void;

  constructor(options: FastnClientOptions) {
    if (!options || typeof options.sessionToken !== "string" || options.sessionToken === "") {
      throw new TypeError("createFastnClient: sessionToken is required");
    }
    if (typeof options.baseUrl !== "string" || options.baseUrl === "") {
      throw new TypeError("createFastnClient: baseUrl is required");
    }
    this.baseUrl = new URL(options.baseUrl).origin + new URL(options.baseUrl).pathname.replace(/\/+$/, "");
    this.token = options.sessionToken;
    const impl = options.fetch ?? globalThis.fetch;
    if (typeof impl !== "function") throw new TypeError("createFastnClient: no fetch available; pass options.fetch");
    this.fetchImpl = impl.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.onSessionExpired = options.onSessionExpired;
  }

  /** Use a freshly minted token from now on (after a 401, or before the old one expires). */
  setSessionToken(token: string): void {
    if (typeof token !== "string" || token === "") throw new TypeError("setSessionToken: a token is required");
    this.token = token;
  }

  // --- configuration --------------------------------------------------------------

  /** The widget's configuration for this customer: title, style tokens, integrations (with connection state), templates. */
  getConfig(): Promise<EmbedConfig> {
    return this.request<EmbedConfig>("GET", "/config");
  }

  // --- connections ----------------------------------------------------------------

  /** This customer's connections (every page). */
  listConnections(): Promise<Connection[]> {
    return this.all<Connection>("/connections");
  }

  /** Connect with an API key, a bearer token or a username and password. */
  createConnection(input: CreateConnectionInput): Promise<Connection> {
    return this.request<Connection>("POST", "/connections", input);
  }

  /** One of this customer's connections. */
  getConnection(id: string): Promise<Connection> {
    return this.request<Connection>("GET", `/connections/${encodeURIComponent(id)}`);
  }

  /** Reconnect with new credentials (checked like new ones) or change its settings; not for OAuth apps. */
  updateConnection(id: string, input: UpdateConnectionInput): Promise<Connection> {
    return this.request<Connection>("PATCH", `/connections/${encodeURIComponent(id)}`, input);
  }

  /** Disconnect: the credentials are wiped (and revoked at the provider when it can). */
  async deleteConnection(id: string): Promise<void> {
    await this.request<void>("DELETE", `/connections/${encodeURIComponent(id)}`);
  }

  /** The provider's authorisation URL for this customer (open it in a popup; see `connectOAuth`). */
  authorizeOAuth(connector: string): Promise<{ url: string }> {
    return this.request<{ url: string }>("POST", `/oauth/${encodeURIComponent(connector)}/authorize`);
  }

  /**
   * The whole OAuth dance in a popup: open it (or use `options.popup`), send it
   * to the provider, and resolve when our callback page posts the outcome back.
   * Rejects with `FastnOAuthError` (`popup_blocked`, `popup_closed`,
   * `oauth_timeout`, or the provider's error code).
   */
  async connectOAuth(connector: string, options: ConnectOAuthOptions = {}): Promise<OAuthResult> {
    const win = typeof window === "undefined" ? undefined : window;
    if (!win) throw new FastnOAuthError("connectOAuth needs a browser window.", { code: "no_window" });
    const popup = options.popup ?? win.open("", "fastn-oauth", POPUP_FEATURES);
    if (!popup) {
      throw new FastnOAuthError("The browser blocked the sign-in window; allow pop-ups for this site.", {
        code: "popup_blocked",
      });
    }
    let url: string;
    try {
      ({ url } = await this.authorizeOAuth(connector));
    } catch (error) {
      popup.close();
      throw error;
    }
    const apiOrigin = new URL(this.baseUrl).origin;
    const started = Date.now();
    return new Promise<OAuthResult>((resolve, reject) => {
      let settled = false;
      const timeout = setTimeout(
        () => finish(new FastnOAuthError("The sign-in took too long.", { code: "oauth_timeout" })),
        options.timeoutMs ?? 600_000,
      );
      const poll = setInterval(() => {
        if (!popup.closed) return;
        clearInterval(poll);
        // The message may still be queued behind the close, or a provider's
        // opener policy cut the line back to us: give the message a moment,
        // then ask the API whether the connection arrived anyway.
        setTimeout(() => {
          if (settled) return;
          this.listConnections().then(
            (connections) => {
              const made = connections.find((c) => c.connector === connector && c.status === "connected" && isNewer(c, started));
              if (made) finish(undefined, { connector, status: "connected", connection_id: made.id });
              else finish(new FastnOAuthError("The sign-in window was closed before finishing.", { code: "popup_closed" }));
            },
            (error: FastnError) => finish(error),
          );
        }, 300);
      }, 250);
      const onAbort = () => finish(new FastnOAuthError("The sign-in was cancelled.", { code: "aborted" }));
      const onMessage = (event: MessageEvent) => {
        if (event.origin !== apiOrigin) return;
        const data = event.data as Record<string, unknown> | null;
        if (!data || typeof data !== "object" || data.type !== OAUTH_MESSAGE_TYPE) return;
        if (typeof data.connector === "string" && data.connector !== connector) return;
        if (data.status === "connected") {
          finish(undefined, {
            connector,
            status: "connected",
            connection_id: typeof data.connection_id === "string" ? data.connection_id : undefined,
          });
        } else {
          const code = typeof data.error === "string" ? data.error : "oauth_failed";
          const message =
            typeof data.error_description === "string" && data.error_description
              ? data.error_description
              : typeof data.message === "string"
                ? data.message
                : "The provider refused the sign-in.";
          finish(new FastnOAuthError(message, { code, details: { connector } }));
        }
      };
      const finish = (error?: FastnError, result?: OAuthResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        clearInterval(poll);
        win.removeEventListener("message", onMessage);
        options.signal?.removeEventListener("abort", onAbort);
        if (!popup.closed) popup.close();
        if (error) reject(error);
        else resolve(result as OAuthResult);
      };
      win.addEventListener("message", onMessage);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort);
      popup.location.href = url;
    });
  }

  // --- templates ------------------------------------------------------------------

  /** Templates offered to this customer, each with `enabled` and its `config_schema`. */
  listTemplates(): Promise<Template[]> {
    return this.all<Template>("/templates");
  }

  /** Switch a template on with a configuration (400 naming the field when it breaks the schema; 409 when a required connector is not connected). */
  enableTemplate(slug: string, config: Record<string, unknown> = {}): Promise<Activation> {
    return this.request<Activation>("POST", `/templates/${encodeURIComponent(slug)}/enable`, { config });
  }

  /** Switch a template off: its triggers stop; the configuration is kept for next time. */
  async disableTemplate(slug: string): Promise<void> {
    await this.request<void>("DELETE", `/templates/${encodeURIComponent(slug)}`);
  }

  // --- runs -----------------------------------------------------------------------

  /** One page of this customer's runs, newest first. */
  listExecutions(options: ListOptions = {}): Promise<Page<Execution>> {
    return this.request<Page<Execution>>("GET", "/executions" + query(options));
  }

  /** Runs Today, Records Processed and Needs Attention for this customer. */
  getInsights(): Promise<Insights> {
    return this.request<Insights>("GET", "/insights");
  }

  // --- transport ------------------------------------------------------------------

  private async all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const answer: Page<T> | T[] = await this.request<Page<T> | T[]>("GET", path + query({ cursor, limit: 100 }));
      if (Array.isArray(answer)) return answer;
      items.push(...answer.results);
      if (!answer.has_more || !answer.next_cursor) break;
      cursor = answer.next_cursor;
    }
    return items;
  }

  /** One call to `/api/v1/embed{path}`: JSON in, JSON out, a typed error for any status >= 400. */
  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    const init: RequestInit = { method, headers, credentials: "omit", mode: "cors" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    init.signal = controller.signal;
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}/api/v1/embed${path}`, init);
    } catch (cause) {
      clearTimeout(timer);
      const timedOut = controller.signal.aborted;
      throw new FastnNetworkError(
        timedOut ? `Fastn did not answer within ${this.timeoutMs} ms.` : "Fastn could not be reached (network or CORS).",
        { code: timedOut ? "timeout" : "network_error", cause },
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      throw new FastnNetworkError("The answer from Fastn was cut off.", { code: "network_error", cause });
    } finally {
      clearTimeout(timer);
    }
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        if (response.ok) {
          throw new FastnError("Fastn answered with something that is not JSON.", {
            code: "invalid_response",
            status: response.status,
          });
        }
      }
    }
    if (!response.ok) {
      const error = errorFromResponse(response.status, data, response.headers);
      if (response.status === 401) this.onSessionExpired?.(error);
      throw error;
    }
    return data as T;
  }
}

function isNewer(connection: Connection, since: number): boolean {
  const stamp = connection.updated_at ?? connection.created_at;
  if (typeof stamp !== "string") return false;
  // Server and browser clocks differ a little; a minute of slack is enough to tell this sign-in from an old one.
  return Date.parse(stamp) >= since - 60_000;
}

function query(options: ListOptions): string {
  const params = new URLSearchParams();
  if (options.cursor) params.set("cursor", options.cursor);
  if (options.limit !== undefined) params.set("limit", String(options.limit));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** A client for one customer session. */
export function createFastnClient(options: FastnClientOptions): FastnClient {
  return new FastnClient(options);
}
