/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { FastnConflictError } from "../../js/src/errors";
import { validateAgainstSchema } from "../../js/src/schema";
import type { Integration, Template } from "../../js/src/types";
import { fieldErrorsOf, type HubContext, integrationName } from "./app";
import { type Errors, focusFirstInvalid, initialValues, SchemaFields, type Values } from "./schema-form";

interface WorkflowsProps {
  ctx: HubContext;
  templates: Template[];
  integrations: Integration[];
  onChanged: () => Promise<void>;
  onGoToApps: () => void;
}

export function WorkflowsTab({ ctx, templates, integrations, onChanged, onGoToApps }: WorkflowsProps) {
  if (!templates.length) return <p class="empty">No workflows are offered here yet.</p>;
  return (
    <ul class="grid" aria-label="Workflows">
      {templates.map((template) => (
        <TemplateCard key={template.slug} ctx={ctx} template={template} integrations={integrations} onChanged={onChanged} onGoToApps={onGoToApps} />
      ))}
    </ul>
  );
}

const TRIGGER_TEXT: Record<string, string> = {
  webhook: "Runs when an event is sent to its address",
  scheduler: "Runs on a schedule",
  app_event: "Runs when something happens in a connected app",
};

interface CardProps {
  ctx: HubContext;
  template: Template;
  integrations: Integration[];
  onChanged: () => Promise<void>;
  onGoToApps: () => void;
}

function TemplateCard({ ctx, template, integrations, onChanged, onGoToApps }: CardProps) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const toggleRef = useRef<HTMLButtonElement>(null);
  const useRef_ = useRef<HTMLButtonElement>(null);
  const cardId = `${ctx.uid}-tpl-${template.slug}`;
  const required = template.connectors ?? [];
  const byConnector = new Map(integrations.map((i) => [i.connector, i]));
  const missing = required.filter((slug) => !byConnector.get(slug)?.connected);
  const hasFields = Object.keys(template.config_schema?.properties ?? {}).length > 0;
  const saved = (template.config ?? template.activation?.config ?? null) as Values | null;
  const everUsed = template.enabled || saved !== null;
  const webhookUrl = template.enabled ? ((template.activation?.url as string | undefined) ?? (template.url as string | undefined)) : undefined;

  const enable = async (config: Values): Promise<Errors | null> => {
    setBusy(true);
    setError("");
    try {
      await ctx.client.enableTemplate(template.slug, config);
      ctx.announce(`${template.title} is on.`);
      ctx.emit("fastn:template-enabled", { template: template.slug });
      await onChanged();
      return null;
    } catch (err) {
      const fields = fieldErrorsOf(err, ["config."]);
      const text = err instanceof FastnConflictError ? err.message : ctx.onError(err);
      if (!Object.keys(fields).length) setError(text);
      return Object.keys(fields).length ? fields : { "": text };
    } finally {
      setBusy(false);
    }
  };

  const disable = async () => {
    setBusy(true);
    setError("");
    try {
      await ctx.client.disableTemplate(template.slug);
      ctx.announce(`${template.title} is off.`);
      ctx.emit("fastn:template-disabled", { template: template.slug });
      await onChanged();
    } catch (err) {
      setError(ctx.onError(err));
    } finally {
      setBusy(false);
    }
  };

  const onToggle = async () => {
    if (template.enabled) return disable();
    // Switching on: without fields (or with a saved configuration) at once; otherwise ask first.
    if (!hasFields || saved) {
      const failed = await enable(initialValues(template.config_schema, saved));
      if (failed && Object.keys(failed).some((k) => k !== "")) setOpen(true);
      return;
    }
    setOpen(true);
  };

  return (
    <li class={`card${open ? " wide" : ""}`} aria-labelledby={`${cardId}-title`} data-template={template.slug}>
      <div class="row">
        <div class="card-head">
          <div>
            <h3 id={`${cardId}-title`}>{template.title}</h3>
            <span class="sub">{TRIGGER_TEXT[template.trigger?.type ?? ""] ?? ""}</span>
          </div>
        </div>
        <button
          ref={toggleRef}
          type="button"
          class="switch"
          role="switch"
          aria-checked={template.enabled ? "true" : "false"}
          aria-label={`${template.title}: ${template.enabled ? "on" : "off"}`}
          disabled={busy || (!template.enabled && missing.length > 0)}
          onClick={onToggle}
        />
      </div>
      {template.description ? <p class="desc">{template.description}</p> : null}
      {required.length ? (
        <ul class="chips" aria-label="Needs">
          {required.map((slug) => {
            const integration = byConnector.get(slug);
            const ok = integration?.connected;
            return (
              <li key={slug} class={`chip ${ok ? "ok" : "warn"}`}>
                {integrationName(integration, slug)}
                <span class="sr-only">{ok ? " (connected)" : " (not connected)"}</span>
              </li>
            );
          })}
        </ul>
      ) : null}
      {missing.length && !template.enabled ? (
        <p class="hint warn">
          Connect {missing.map((slug) => integrationName(byConnector.get(slug), slug)).join(" and ")} first.{" "}
          <button type="button" class="btn" onClick={onGoToApps}>
            Go to Apps
          </button>
        </p>
      ) : null}
      {webhookUrl ? <WebhookUrl url={webhookUrl} /> : null}
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      {open ? (
        <ConfigForm
          ctx={ctx}
          template={template}
          saved={saved}
          busy={busy}
          onSubmit={async (values) => {
            const failed = await enable(values);
            if (!failed) {
              setOpen(false);
              toggleRef.current?.focus();
            }
            return failed;
          }}
          onCancel={() => {
            setOpen(false);
            (useRef_.current ?? toggleRef.current)?.focus();
          }}
        />
      ) : (
        <div class="actions">
          {!template.enabled ? (
            <button
              ref={useRef_}
              type="button"
              class="btn primary"
              aria-label={`Use template ${template.title}`}
              disabled={busy || missing.length > 0}
              onClick={() => (hasFields ? setOpen(true) : enable({}))}
            >
              {everUsed ? "Turn on again" : "Use Template"}
            </button>
          ) : hasFields ? (
            <button ref={useRef_} type="button" class="btn" aria-label={`Configure ${template.title}`} disabled={busy} onClick={() => setOpen(true)}>
              Configure
            </button>
          ) : null}
        </div>
      )}
    </li>
  );
}

function WebhookUrl({ url }: { url: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="url">
      <code title={url}>{url}</code>
      <button
        type="button"
        class="btn"
        aria-label="Copy the address"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(url);
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          } catch {
            setCopied(false);
          }
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

interface ConfigFormProps {
  ctx: HubContext;
  template: Template;
  saved: Values | null;
  busy: boolean;
  onSubmit: (values: Values) => Promise<Errors | null>;
  onCancel: () => void;
}

function ConfigForm({ ctx, template, saved, busy, onSubmit, onCancel }: ConfigFormProps) {
  const [values, setValues] = useState<Values>(() => initialValues(template.config_schema, saved));
  const [errors, setErrors] = useState<Errors>({});
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>("input, select, textarea")?.focus();
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const found: Errors = {};
    for (const issue of validateAgainstSchema(template.config_schema, values)) found[issue.path] = issue.message;
    setErrors(found);
    if (Object.keys(found).length) {
      setTimeout(() => focusFirstInvalid(formRef.current), 0);
      return;
    }
    const failed = await onSubmit(values);
    if (failed) {
      setErrors(failed);
      setTimeout(() => focusFirstInvalid(formRef.current), 0);
    }
  };

  const general = errors[""];
  return (
    <form class="fields" ref={formRef} onSubmit={submit} noValidate aria-label={`Configure ${template.title}`}>
      <SchemaFields schema={template.config_schema} values={values} errors={errors} idPrefix={`${ctx.uid}-cfg-${template.slug}`} onChange={setValues} />
      {general ? (
        <p class="error-text" role="alert">
          {general}
        </p>
      ) : null}
      <div class="actions">
        <button type="submit" class="btn primary" disabled={busy} aria-busy={busy ? "true" : undefined}>
          {template.enabled ? "Save" : "Turn on"}
        </button>
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
