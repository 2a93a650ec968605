/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { FastnOAuthError } from "../../js/src/errors";
import { validateAgainstSchema } from "../../js/src/schema";
import type { ConnectField, Integration, JsonSchema } from "../../js/src/types";
import { fieldErrorsOf, type HubContext, integrationName, Logo } from "./app";
import { type Errors, focusFirstInvalid, SchemaFields, type Values } from "./schema-form";

interface AppsProps {
  ctx: HubContext;
  integrations: Integration[];
  onChanged: () => Promise<void>;
}

export function AppsTab({ ctx, integrations, onChanged }: AppsProps) {
  if (!integrations.length) {
    return <p class="empty">No apps are offered here yet.</p>;
  }
  return (
    <ul class="grid" aria-label="Apps">
      {integrations.map((integration) => (
        <IntegrationCard key={integration.connector} ctx={ctx} integration={integration} onChanged={onChanged} />
      ))}
    </ul>
  );
}

const STATUS: Record<string, { text: string; tone: string }> = {
  connected: { text: "Connected", tone: "ok" },
  needs_reauth: { text: "Needs sign-in", tone: "warn" },
  error: { text: "Error", tone: "bad" },
  revoked: { text: "Not connected", tone: "muted" },
};

/** A form schema from the fields the API lists (`credential_fields` / `config_fields`). */
export function fieldsSchema(fields: ConnectField[] | undefined): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const field of fields ?? []) {
    properties[field.name] = {
      type: "string",
      title: field.label || field.name,
      description: field.description || undefined,
      format: field.secret ? "password" : undefined,
      minLength: field.required ? 1 : undefined,
    };
    if (field.required) required.push(field.name);
  }
  return { type: "object", properties, required };
}

function IntegrationCard({ ctx, integration, onChanged }: { ctx: HubContext; integration: Integration; onChanged: () => Promise<void> }) {
  const name = integrationName(integration, integration.connector);
  const connection = integration.connection ?? null;
  const status = integration.connected ? (connection?.status ?? "connected") : (connection?.status ?? "");
  const shown = STATUS[status] ?? (integration.connected ? STATUS.connected : { text: "Not connected", tone: "muted" });
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState<"" | "connect" | "disconnect">("");
  const [error, setError] = useState("");
  const [confirming, setConfirming] = useState(false);
  const cardId = `${ctx.uid}-app-${integration.connector}`;
  const openerRef = useRef<HTMLButtonElement>(null);
  const isOAuth = integration.oauth === true;
  const needsForm = !isOAuth && (integration.credential_fields?.length > 0 || integration.config_fields?.length > 0);
  const lastError = (connection?.last_error as string | undefined) || "";

  const connectOAuth = async () => {
    setError("");
    setBusy("connect");
    try {
      await ctx.client.connectOAuth(integration.connector);
      ctx.announce(`${name} is connected.`);
      ctx.emit("fastn:connected", { connector: integration.connector });
      await onChanged();
    } catch (err) {
      const text = err instanceof FastnOAuthError && err.code === "popup_closed" ? "The sign-in window was closed before finishing." : ctx.onError(err);
      setError(text);
      ctx.announce(`${name}: ${text}`);
    } finally {
      setBusy("");
    }
  };

  const connectNone = async () => {
    setError("");
    setBusy("connect");
    try {
      await ctx.client.createConnection({ connector: integration.connector, credentials: {} });
      ctx.announce(`${name} is connected.`);
      ctx.emit("fastn:connected", { connector: integration.connector });
      await onChanged();
    } catch (err) {
      setError(ctx.onError(err));
    } finally {
      setBusy("");
    }
  };

  const disconnect = async () => {
    if (!connection) return;
    setError("");
    setBusy("disconnect");
    try {
      await ctx.client.deleteConnection(connection.id);
      setConfirming(false);
      setOpen(false);
      ctx.announce(`${name} is disconnected.`);
      ctx.emit("fastn:disconnected", { connector: integration.connector });
      await onChanged();
    } catch (err) {
      setError(ctx.onError(err));
    } finally {
      setBusy("");
    }
  };

  const primary = () => {
    if (isOAuth) return connectOAuth();
    if (!needsForm) return connectNone();
    setOpen(!open);
  };

  return (
    <li class={`card${open ? " wide" : ""}`} aria-labelledby={`${cardId}-name`} data-connector={integration.connector}>
      <div class="card-head">
        <Logo name={name} icon={integration.icon as string | undefined} />
        <div>
          <h3 id={`${cardId}-name`}>{name}</h3>
          <span class={`badge ${shown.tone}`} data-testid="status">
            {shown.text}
          </span>
        </div>
      </div>
      {integration.description ? <p class="desc">{integration.description as string}</p> : null}
      {lastError && status !== "connected" ? (
        <p class="error-text" data-testid="last-error">
          <span class="sr-only">Last error: </span>
          {lastError}
        </p>
      ) : null}
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      {open && needsForm ? (
        <CredentialForm
          ctx={ctx}
          integration={integration}
          replacing={!!connection && status !== "revoked"}
          onDone={async () => {
            setOpen(false);
            ctx.announce(`${name} is connected.`);
            ctx.emit("fastn:connected", { connector: integration.connector });
            await onChanged();
            openerRef.current?.focus();
          }}
          onCancel={() => {
            setOpen(false);
            openerRef.current?.focus();
          }}
        />
      ) : null}
      {confirming ? (
        <div class="notice" role="group" aria-label={`Disconnect ${name}?`}>
          <p>Disconnect {name}? Workflows that use it stop working for you.</p>
          <div class="actions" style={{ marginTop: "8px" }}>
            <button type="button" class="btn danger" aria-busy={busy === "disconnect" ? "true" : undefined} disabled={busy !== ""} onClick={disconnect}>
              Disconnect
            </button>
            <button type="button" class="btn" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}
      {!open && !confirming ? (
        <div class="actions">
          {integration.connected && status === "connected" ? (
            needsForm || isOAuth ? (
              <button
                ref={openerRef}
                type="button"
                class="btn"
                aria-label={`Configure ${name}`}
                aria-expanded="false"
                disabled={busy !== ""}
                onClick={() => (isOAuth ? connectOAuth() : setOpen(true))}
              >
                {isOAuth && busy === "connect" ? "Waiting for sign-in…" : isOAuth ? "Reconnect" : "Configure"}
              </button>
            ) : null
          ) : (
            <button
              ref={openerRef}
              type="button"
              class="btn primary"
              aria-label={`Connect ${name}`}
              aria-expanded={needsForm ? "false" : undefined}
              aria-busy={busy === "connect" ? "true" : undefined}
              disabled={busy !== ""}
              onClick={primary}
            >
              {busy === "connect" ? (isOAuth ? "Waiting for sign-in…" : "Connecting…") : status && status !== "revoked" ? "Reconnect" : "Connect"}
            </button>
          )}
          {connection && status !== "revoked" ? (
            <button type="button" class="btn danger" aria-label={`Disconnect ${name}`} disabled={busy !== ""} onClick={() => setConfirming(true)}>
              Disconnect
            </button>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

interface CredentialFormProps {
  ctx: HubContext;
  integration: Integration;
  replacing: boolean;
  onDone: () => void;
  onCancel: () => void;
}

function CredentialForm({ ctx, integration, replacing, onDone, onCancel }: CredentialFormProps) {
  const secretSchema = fieldsSchema(integration.credential_fields);
  const configSchema = integration.config_fields?.length ? fieldsSchema(integration.config_fields) : undefined;
  const [secrets, setSecrets] = useState<Values>({});
  const [config, setConfig] = useState<Values>(() => ({ ...((integration.connection?.config as Values | undefined) ?? {}) }));
  const [errors, setErrors] = useState<Errors>({});
  const [problem, setProblem] = useState("");
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const name = integrationName(integration, integration.connector);
  const prefix = `${ctx.uid}-cred-${integration.connector}`;

  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>("input, select, textarea")?.focus();
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const found: Errors = {};
    for (const issue of validateAgainstSchema(secretSchema, secrets)) found[issue.path] = issue.message;
    for (const issue of validateAgainstSchema(configSchema, config)) found[`config:${issue.path}`] = issue.message;
    setErrors(found);
    setProblem("");
    if (Object.keys(found).length) {
      setTimeout(() => focusFirstInvalid(formRef.current), 0);
      return;
    }
    setBusy(true);
    try {
      const extra = configSchema ? { config } : {};
      if (replacing && integration.connection) {
        // New credentials are checked with the provider like new ones; the old ones stay until they pass.
        await ctx.client.updateConnection(integration.connection.id, { credentials: secrets, ...extra });
      } else {
        await ctx.client.createConnection({ connector: integration.connector, credentials: secrets, ...extra });
      }
      onDone();
    } catch (err) {
      const byField = fieldErrorsOf(err, ["credentials."]);
      const mapped: Errors = {};
      for (const [key, text] of Object.entries(byField)) {
        if (key.startsWith("config.")) mapped[`config:${key.slice(7)}`] = text;
        else mapped[key] = text;
      }
      setErrors(mapped);
      const text = ctx.onError(err);
      setProblem(text);
      setTimeout(() => focusFirstInvalid(formRef.current), 0);
    } finally {
      setBusy(false);
    }
  };

  const configErrors: Errors = {};
  for (const [key, text] of Object.entries(errors)) if (key.startsWith("config:")) configErrors[key.slice(7)] = text;

  return (
    <form class="fields" ref={formRef} onSubmit={submit} noValidate aria-label={`Connect ${name}`}>
      {configSchema ? (
        <SchemaFields schema={configSchema} values={config} errors={configErrors} idPrefix={`${prefix}-config`} onChange={setConfig} />
      ) : null}
      <SchemaFields schema={secretSchema} values={secrets} errors={errors} idPrefix={prefix} onChange={setSecrets} />
      {problem ? (
        <p class="error-text" role="alert">
          {problem}
        </p>
      ) : null}
      <p class="hint muted">Your credentials are encrypted and never shown again.</p>
      <div class="actions">
        <button type="submit" class="btn primary" disabled={busy} aria-busy={busy ? "true" : undefined}>
          {busy ? "Checking…" : replacing ? "Save" : "Connect"}
        </button>
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
