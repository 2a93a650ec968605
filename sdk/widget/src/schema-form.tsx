/** @jsxImportSource preact */
import type { JsonSchema } from "../../js/src/types";

/**
 * Form fields generated from a JSON Schema (an object's properties): text,
 * e-mail, URL, long text, numbers, booleans, choices (enum), lists of plain
 * values (one per line) and nested objects (a fieldset). Each field has a
 * label, a hint from `description`, and its error linked by aria-describedby.
 */

export type Values = Record<string, unknown>;
export type Errors = Record<string, string>;

interface FieldsProps {
  schema: JsonSchema;
  values: Values;
  errors: Errors;
  idPrefix: string;
  path?: string;
  onChange: (values: Values) => void;
}

export function SchemaFields({ schema, values, errors, idPrefix, path = "", onChange }: FieldsProps) {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  return (
    <>
      {properties.map(([name, sub]) => (
        <SchemaField
          key={name}
          name={name}
          schema={sub}
          required={required.has(name)}
          value={values?.[name]}
          errors={errors}
          idPrefix={idPrefix}
          path={path ? `${path}.${name}` : name}
          onChange={(value) => {
            const next = { ...(values ?? {}) };
            if (value === undefined) delete next[name];
            else next[name] = value;
            onChange(next);
          }}
        />
      ))}
    </>
  );
}

interface FieldProps {
  name: string;
  schema: JsonSchema;
  required: boolean;
  value: unknown;
  errors: Errors;
  idPrefix: string;
  path: string;
  onChange: (value: unknown) => void;
}

function primaryType(schema: JsonSchema): string {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  if (t) return t;
  if (schema.properties) return "object";
  if (Array.isArray(schema.enum)) return typeof schema.enum[0];
  return "string";
}

function SchemaField({ name, schema, required, value, errors, idPrefix, path, onChange }: FieldProps) {
  const id = `${idPrefix}-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const label = (schema.title as string) || humanize(name);
  const error = errors[path];
  const hintId = schema.description ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  const type = primaryType(schema);
  const common = {
    id,
    name: path,
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": describedBy,
    "aria-required": required ? ("true" as const) : undefined,
  };
  const hint = schema.description ? (
    <span class="hint" id={hintId}>
      {schema.description}
    </span>
  ) : null;
  const errorLine = error ? (
    <span class="error-text" id={errorId} role="alert">
      {error}
    </span>
  ) : null;
  const labelEl = (
    <label for={id}>
      {label}
      {required ? (
        <span class="req" aria-hidden="true">
          *
        </span>
      ) : null}
    </label>
  );

  if (type === "object" && schema.properties) {
    return (
      <fieldset aria-describedby={describedBy}>
        <legend>{label}</legend>
        {hint}
        <SchemaFields
          schema={schema}
          values={(value as Values) ?? {}}
          errors={errors}
          idPrefix={idPrefix}
          path={path}
          onChange={(v) => onChange(v)}
        />
        {errorLine}
      </fieldset>
    );
  }
  if (type === "boolean") {
    return (
      <div class="field">
        <div class="field check">
          <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked)} />
          {labelEl}
        </div>
        {hint}
        {errorLine}
      </div>
    );
  }
  if (Array.isArray(schema.enum)) {
    const options = schema.enum;
    const index = options.findIndex((o) => JSON.stringify(o) === JSON.stringify(value));
    return (
      <div class="field">
        {labelEl}
        <select
          {...common}
          value={index >= 0 ? String(index) : ""}
          onChange={(e) => {
            const i = (e.currentTarget as HTMLSelectElement).value;
            onChange(i === "" ? undefined : options[Number(i)]);
          }}
        >
          <option value="">{required ? "Choose…" : "—"}</option>
          {options.map((option, i) => (
            <option key={i} value={String(i)}>
              {String(option)}
            </option>
          ))}
        </select>
        {hint}
        {errorLine}
      </div>
    );
  }
  if (type === "array") {
    // Lists of plain values: one per line.
    const itemType = schema.items ? primaryType(schema.items) : "string";
    const text = Array.isArray(value) ? value.map((v) => String(v)).join("\n") : "";
    return (
      <div class="field">
        {labelEl}
        <textarea
          {...common}
          rows={3}
          value={text}
          onInput={(e) => {
            const lines = (e.currentTarget as HTMLTextAreaElement).value.split("\n").map((l) => l.trim()).filter(Boolean);
            onChange(lines.length ? lines.map((l) => (itemType === "number" || itemType === "integer" ? toNumber(l) : l)) : undefined);
          }}
        />
        <span class="hint">One per line.</span>
        {hint}
        {errorLine}
      </div>
    );
  }
  if (type === "number" || type === "integer") {
    return (
      <div class="field">
        {labelEl}
        <input
          {...common}
          type="number"
          inputMode={type === "integer" ? "numeric" : "decimal"}
          step={type === "integer" ? "1" : "any"}
          min={schema.minimum as number | undefined}
          max={schema.maximum as number | undefined}
          value={value === undefined || value === null ? "" : String(value)}
          onInput={(e) => {
            const raw = (e.currentTarget as HTMLInputElement).value;
            onChange(raw === "" ? undefined : toNumber(raw));
          }}
        />
        {hint}
        {errorLine}
      </div>
    );
  }
  const long = (schema.maxLength ?? 0) > 200 || schema.format === "textarea";
  const inputType = schema.format === "email" ? "email" : schema.format === "uri" || schema.format === "url" ? "url" : schema.format === "password" || schema.writeOnly ? "password" : "text";
  return (
    <div class="field">
      {labelEl}
      {long ? (
        <textarea {...common} rows={4} value={(value as string) ?? ""} onInput={(e) => onChange((e.currentTarget as HTMLTextAreaElement).value)} />
      ) : (
        <input
          {...common}
          type={inputType}
          autoComplete="off"
          value={value === undefined || value === null ? "" : String(value)}
          onInput={(e) => onChange((e.currentTarget as HTMLInputElement).value)}
        />
      )}
      {hint}
      {errorLine}
    </div>
  );
}

function toNumber(raw: string): number | string {
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
}

export function humanize(name: string): string {
  const words = name.replace(/[_-]+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Starting values: what the customer saved before, else the schema's defaults. */
export function initialValues(schema: JsonSchema | undefined, saved: Values | null | undefined): Values {
  const out: Values = {};
  for (const [name, sub] of Object.entries(schema?.properties ?? {})) {
    if (saved && saved[name] !== undefined) out[name] = saved[name];
    else if (sub.default !== undefined) out[name] = sub.default;
    else if (primaryType(sub) === "object" && sub.properties) {
      const nested = initialValues(sub, undefined);
      if (Object.keys(nested).length) out[name] = nested;
    }
  }
  return out;
}

/** Focus the first invalid control of a form (after a failed submit). */
export function focusFirstInvalid(form: HTMLFormElement | null): void {
  const first = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
  first?.focus();
}
