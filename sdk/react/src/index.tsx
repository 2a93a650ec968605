/**
 * React bindings for Fastn's embedded integrations.
 *
 * - `<FastnHub sessionToken baseUrl />`: the drop-in widget (the same
 *   `<fastn-hub>` element end users get everywhere), loaded from
 *   `{baseUrl}/embed/fastn.js` so it always matches the server.
 * - `<FastnProvider>` + hooks (`useConnections`, `useTemplates`,
 *   `useInsights`, `useExecutions`, `useEmbedConfig`) over the headless
 *   client, to build your own UI.
 */
import {
  createFastnClient,
  type Activation,
  type Connection,
  type CreateConnectionInput,
  type EmbedConfig,
  type Execution,
  type FastnClient,
  type FastnError,
  type Insights,
  type OAuthResult,
  type Template,
} from "@fastn/js";
import {
  createContext,
  createElement,
  type CSSProperties,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";

export * from "@fastn/js";

// --- provider and client ----------------------------------------------------------

const ClientContext = createContext<FastnClient | null>(null);

export interface FastnProviderProps {
  sessionToken?: string;
  baseUrl?: string;
  /** A client you made yourself (instead of sessionToken + baseUrl). */
  client?: FastnClient;
  children?: ReactNode;
}

/** Makes one headless client available to the hooks below it. A new sessionToken is taken without losing state. */
export function FastnProvider({ sessionToken, baseUrl, client, children }: FastnProviderProps) {
  const made = useMemo(() => {
    if (client) return client;
    if (!sessionToken || !baseUrl) throw new TypeError("FastnProvider needs sessionToken and baseUrl, or client.");
    return createFastnClient({ sessionToken, baseUrl });
    // The token is swapped in below, without a new client.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, baseUrl]);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    if (!client && sessionToken) made.setSessionToken(sessionToken);
  }, [sessionToken, client, made]);
  return createElement(ClientContext.Provider, { value: made }, children);
}

/** The client of the nearest FastnProvider (or the one given). */
export function useFastnClient(client?: FastnClient): FastnClient {
  const fromContext = useContext(ClientContext);
  const chosen = client ?? fromContext;
  if (!chosen) throw new Error("Fastn hooks need a <FastnProvider> above them (or a client argument).");
  return chosen;
}

// --- loading state ----------------------------------------------------------------

export interface Resource<T> {
  data: T | undefined;
  error: FastnError | undefined;
  loading: boolean;
  /** Load again; resolves when done (errors land in `error`, they do not reject). */
  refresh: () => Promise<void>;
}

function useResource<T>(load: () => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: FastnError; loading: boolean }>({ loading: true });
  const sequence = useRef(0);
  const alive = useRef(true);
  const refresh = useCallback(async () => {
    const mine = ++sequence.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (alive.current && mine === sequence.current) setState({ data, error: undefined, loading: false });
    } catch (error) {
      if (alive.current && mine === sequence.current) setState((s) => ({ data: s.data, error: error as FastnError, loading: false }));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    alive.current = true;
    refresh();
    return () => {
      alive.current = false;
    };
  }, [refresh]);
  return { data: state.data, error: state.error, loading: state.loading, refresh };
}

// --- hooks ------------------------------------------------------------------------

/** The widget configuration for this customer: title, style tokens, integrations with their state, templates. */
export function useEmbedConfig(client?: FastnClient): Resource<EmbedConfig> {
  const c = useFastnClient(client);
  return useResource(() => c.getConfig(), [c]);
}

export interface ConnectionsHook extends Resource<Connection[]> {
  connections: Connection[];
  /** Connect with credentials (API key, token, username/password); refreshes the list. */
  connect: (input: CreateConnectionInput) => Promise<Connection>;
  /** OAuth in a popup: call it from a click handler; refreshes the list. */
  connectOAuth: (connector: string) => Promise<OAuthResult>;
  disconnect: (id: string) => Promise<void>;
}

/** This customer's connections, and the actions that change them. */
export function useConnections(client?: FastnClient): ConnectionsHook {
  const c = useFastnClient(client);
  const resource = useResource(() => c.listConnections(), [c]);
  const { refresh } = resource;
  const connect = useCallback(
    async (input: CreateConnectionInput) => {
      const made = await c.createConnection(input);
      await refresh();
      return made;
    },
    [c, refresh],
  );
  const connectOAuth = useCallback(
    async (connector: string) => {
      const result = await c.connectOAuth(connector);
      await refresh();
      return result;
    },
    [c, refresh],
  );
  const disconnect = useCallback(
    async (id: string) => {
      await c.deleteConnection(id);
      await refresh();
    },
    [c, refresh],
  );
  return { ...resource, connections: resource.data ?? [], connect, connectOAuth, disconnect };
}

export interface TemplatesHook extends Resource<Template[]> {
  templates: Template[];
  /** Switch on with a configuration (rejects with FastnValidationError naming the field); refreshes. */
  enable: (slug: string, config?: Record<string, unknown>) => Promise<Activation>;
  disable: (slug: string) => Promise<void>;
}

/** Templates offered to this customer (with `enabled` and `config_schema`), and the actions that switch them. */
export function useTemplates(client?: FastnClient): TemplatesHook {
  const c = useFastnClient(client);
  const resource = useResource(() => c.listTemplates(), [c]);
  const { refresh } = resource;
  const enable = useCallback(
    async (slug: string, config: Record<string, unknown> = {}) => {
      const activation = await c.enableTemplate(slug, config);
      await refresh();
      return activation;
    },
    [c, refresh],
  );
  const disable = useCallback(
    async (slug: string) => {
      await c.disableTemplate(slug);
      await refresh();
    },
    [c, refresh],
  );
  return { ...resource, templates: resource.data ?? [], enable, disable };
}

/** Runs Today, Records Processed, Needs Attention; `pollMs` refreshes them. */
export function useInsights(options: { client?: FastnClient; pollMs?: number } = {}): Resource<Insights> {
  const c = useFastnClient(options.client);
  const resource = useResource(() => c.getInsights(), [c]);
  usePoll(resource.refresh, options.pollMs);
  return resource;
}

/** The newest page of this customer's runs; `pollMs` refreshes it. */
export function useExecutions(options: { client?: FastnClient; limit?: number; pollMs?: number } = {}): Resource<Execution[]> {
  const c = useFastnClient(options.client);
  const resource = useResource(async () => (await c.listExecutions({ limit: options.limit ?? 20 })).results, [c, options.limit]);
  usePoll(resource.refresh, options.pollMs);
  return resource;
}

function usePoll(refresh: () => Promise<void>, pollMs: number | undefined): void {
  useEffect(() => {
    if (!pollMs) return;
    const timer = setInterval(refresh, pollMs);
    return () => clearInterval(timer);
  }, [refresh, pollMs]);
}

// --- the drop-in widget -----------------------------------------------------------

type HubEvent = CustomEvent<Record<string, unknown>>;

export interface FastnHubProps {
  sessionToken: string;
  baseUrl: string;
  /** The tab shown first. */
  tab?: "apps" | "workflows" | "insights";
  /** Design tokens overriding the organization's (`{"color-primary": "#0a7"}`), applied without a reload. */
  tokens?: Record<string, string>;
  className?: string;
  style?: CSSProperties;
  onReady?: (event: HubEvent) => void;
  onConnected?: (event: HubEvent) => void;
  onDisconnected?: (event: HubEvent) => void;
  onTemplateEnabled?: (event: HubEvent) => void;
  onTemplateDisabled?: (event: HubEvent) => void;
  /** The session expired: mint a new one and pass it as sessionToken. */
  onSessionExpired?: (event: HubEvent) => void;
  onError?: (event: HubEvent) => void;
}

const EVENTS: Array<[keyof FastnHubProps, string]> = [
  ["onReady", "fastn:ready"],
  ["onConnected", "fastn:connected"],
  ["onDisconnected", "fastn:disconnected"],
  ["onTemplateEnabled", "fastn:template-enabled"],
  ["onTemplateDisabled", "fastn:template-disabled"],
  ["onSessionExpired", "fastn:session-expired"],
  ["onError", "fastn:error"],
];

const loading = new Map<string, Promise<void>>();

/** Loads `{baseUrl}/embed/fastn.js` once per page (resolves at once when <fastn-hub> is defined). */
export function loadFastnWidget(baseUrl: string): Promise<void> {
  if (typeof window === "undefined" || typeof document === "undefined") return Promise.resolve();
  if (window.customElements?.get("fastn-hub")) return Promise.resolve();
  const src = `${baseUrl.replace(/\/+$/, "")}/embed/fastn.js`;
  let promise = loading.get(src);
  if (!promise) {
    promise = new Promise<void>((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve();
      script.onerror = () => {
        loading.delete(src);
        reject(new Error(`Could not load the Fastn widget from ${src}`));
      };
      document.head.appendChild(script);
    });
    loading.set(src, promise);
  }
  return promise;
}

/** The drop-in widget as a React component. */
export function FastnHub(props: FastnHubProps) {
  const { sessionToken, baseUrl, tab, tokens, className, style } = props;
  const ref = useRef<HTMLElement | null>(null);
  const handlers = useRef(props);
  handlers.current = props;

  useEffect(() => {
    loadFastnWidget(baseUrl).catch((error: Error) => {
      handlers.current.onError?.(new CustomEvent("fastn:error", { detail: { code: "widget_load_failed", message: error.message } }));
    });
  }, [baseUrl]);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const listeners = EVENTS.map(([prop, name]) => {
      const listener = (event: Event) => (handlers.current[prop] as ((e: HubEvent) => void) | undefined)?.(event as HubEvent);
      element.addEventListener(name, listener);
      return [name, listener] as const;
    });
    return () => listeners.forEach(([name, listener]) => element.removeEventListener(name, listener));
  }, []);

  useEffect(() => {
    const element = ref.current as (HTMLElement & { tokens?: Record<string, string> }) | null;
    if (!element) return;
    const apply = () => {
      element.tokens = tokens ?? {};
    };
    // The property exists once the element is upgraded (the script loaded).
    if (window.customElements?.get("fastn-hub")) apply();
    else window.customElements?.whenDefined("fastn-hub").then(apply);
  }, [tokens]);

  return createElement("fastn-hub", {
    ref,
    "session-token": sessionToken,
    "base-url": baseUrl,
    tab,
    className,
    style,
  });
}
