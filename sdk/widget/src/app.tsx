/** @jsxImportSource preact */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { FastnClient } from "../../js/src/client";
import { FastnAuthError, FastnError, FastnValidationError } from "../../js/src/errors";
import type { EmbedConfig, Integration, Template } from "../../js/src/types";
import { AppsTab } from "./apps";
import { InsightsTab } from "./insights";
import { WorkflowsTab } from "./workflows";

export type TabName = "apps" | "workflows" | "insights";
export const TABS: Array<{ name: TabName; label: string }> = [
  { name: "apps", label: "Apps" },
  { name: "workflows", label: "Workflows" },
  { name: "insights", label: "Insights" },
];

/** What every tab gets: the client, a way to tell the host page and screen readers, and a refresh. */
export interface HubContext {
  client: FastnClient;
  uid: string;
  announce: (message: string) => void;
  emit: (name: string, detail?: Record<string, unknown>) => void;
  reload: () => Promise<void>;
  onError: (error: unknown) => string;
}

interface AppProps {
  client: FastnClient;
  uid: string;
  initialTab: TabName;
  /** Applies the organization's style tokens (the element owns the custom properties). */
  onStyle: (style: Record<string, unknown>) => void;
  emit: (name: string, detail?: Record<string, unknown>) => void;
  /** Bumped by the element's refresh(): load everything again. */
  generation: number;
}

export function App({ client, uid, initialTab, onStyle, emit, generation }: AppProps) {
  const [config, setConfig] = useState<EmbedConfig | null>(null);
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [fatal, setFatal] = useState<FastnError | null>(null);
  const [tab, setTab] = useState<TabName>(initialTab);
  const [message, setMessage] = useState("");
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});

  const announce = useCallback((text: string) => {
    // Clear first so the same sentence twice is read twice.
    setMessage("");
    setTimeout(() => setMessage(text), 30);
  }, []);

  const onError = useCallback(
    (error: unknown): string => {
      if (error instanceof FastnAuthError) {
        setFatal(error);
        emit("fastn:session-expired", { code: error.code });
      }
      const text = error instanceof Error ? error.message : "Something went wrong.";
      emit("fastn:error", { code: error instanceof FastnError ? error.code : "unknown", message: text });
      return text;
    },
    [emit],
  );

  const reload = useCallback(async () => {
    try {
      const [nextConfig, nextTemplates] = await Promise.all([client.getConfig(), client.listTemplates()]);
      setConfig(nextConfig);
      setTemplates(nextTemplates);
      setFatal(null);
      onStyle(nextConfig.style ?? {});
    } catch (error) {
      if (error instanceof FastnError) setFatal(error);
      onError(error);
    }
  }, [client, onStyle, onError]);

  useEffect(() => {
    let first = config === null;
    reload().then(() => {
      if (first) emit("fastn:ready", {});
      first = false;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, generation]);

  const onTabKey = (event: KeyboardEvent) => {
    const index = TABS.findIndex((t) => t.name === tab);
    let next = -1;
    if (event.key === "ArrowRight") next = (index + 1) % TABS.length;
    else if (event.key === "ArrowLeft") next = (index + TABS.length - 1) % TABS.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = TABS.length - 1;
    if (next < 0) return;
    event.preventDefault();
    setTab(TABS[next].name);
    tabRefs.current[TABS[next].name]?.focus();
  };

  const ctx: HubContext = { client, uid, announce, emit, reload, onError };
  const title = config?.title || "Integrations";
  const headingId = `${uid}-title`;

  let body;
  if (fatal && !config) {
    body = <Problem error={fatal} onRetry={reload} />;
  } else if (!config) {
    body = (
      <p class="empty" role="status">
        Loading…
      </p>
    );
  } else {
    const counts: Record<TabName, number | undefined> = {
      apps: config.integrations.filter((i) => i.connected).length,
      workflows: templates?.filter((t) => t.enabled).length,
      insights: undefined,
    };
    body = (
      <>
        {fatal ? <Problem error={fatal} onRetry={reload} /> : null}
        <div class="tabs" role="tablist" aria-label={`${title} sections`} onKeyDown={onTabKey}>
          {TABS.map((t) => (
            <button
              key={t.name}
              ref={(el) => {
                tabRefs.current[t.name] = el;
              }}
              class="tab"
              role="tab"
              type="button"
              id={`${uid}-tab-${t.name}`}
              aria-selected={tab === t.name ? "true" : "false"}
              aria-controls={`${uid}-panel-${t.name}`}
              tabIndex={tab === t.name ? 0 : -1}
              onClick={() => setTab(t.name)}
            >
              {t.label}
              {counts[t.name] ? (
                <span class="count">
                  <span class="sr-only">(</span>
                  {counts[t.name]}
                  <span class="sr-only"> {t.name === "apps" ? "connected" : "on"})</span>
                </span>
              ) : null}
            </button>
          ))}
        </div>
        {TABS.map((t) => (
          <div
            key={t.name}
            role="tabpanel"
            id={`${uid}-panel-${t.name}`}
            aria-labelledby={`${uid}-tab-${t.name}`}
            hidden={tab !== t.name}
            tabIndex={0}
          >
            {tab === t.name && t.name === "apps" ? (
              <AppsTab ctx={ctx} integrations={config.integrations} onChanged={reload} />
            ) : null}
            {tab === t.name && t.name === "workflows" ? (
              <WorkflowsTab
                ctx={ctx}
                templates={templates ?? []}
                integrations={config.integrations}
                onChanged={reload}
                onGoToApps={() => {
                  setTab("apps");
                  tabRefs.current.apps?.focus();
                }}
              />
            ) : null}
            {tab === t.name && t.name === "insights" ? <InsightsTab ctx={ctx} templates={templates ?? []} /> : null}
          </div>
        ))}
      </>
    );
  }

  return (
    <section class="hub" aria-labelledby={headingId} part="hub">
      <header class="head">
        <h2 id={headingId}>{title}</h2>
        {config?.subtitle ? <p>{config.subtitle}</p> : null}
      </header>
      {body}
      <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">
        {message}
      </div>
    </section>
  );
}

function Problem({ error, onRetry }: { error: FastnError; onRetry: () => void }) {
  const expired = error instanceof FastnAuthError;
  return (
    <div class="notice bad" role="alert">
      <p>
        {expired
          ? "This session has expired. Reload the page to continue."
          : error.message || "The integrations could not be loaded."}
      </p>
      {expired ? null : (
        <div class="actions" style={{ marginTop: "8px" }}>
          <button type="button" class="btn" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
    </div>
  );
}

/** The integration's display name: the organization's label, else the connector's name. */
export function integrationName(integration: Integration | undefined, fallback = ""): string {
  return (integration?.label as string) || integration?.name || fallback;
}

export function fieldErrorsOf(error: unknown, strip: string[] = []): Record<string, string> {
  if (!(error instanceof FastnValidationError)) return {};
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(error.fieldErrors)) {
    let key = name;
    for (const prefix of strip) if (key.startsWith(prefix)) key = key.slice(prefix.length);
    out[key] = text;
  }
  return out;
}

export function Logo({ name, icon }: { name: string; icon?: string }) {
  const [failed, setFailed] = useState(false);
  if (icon && /^(https?:|data:image\/)/.test(icon) && !failed) {
    return (
      <span class="logo" aria-hidden="true">
        <img src={icon} alt="" loading="lazy" onError={() => setFailed(true)} />
      </span>
    );
  }
  return (
    <span class="logo" aria-hidden="true">
      {(name.trim()[0] ?? "?").toUpperCase()}
    </span>
  );
}
