import type { JsonSchema } from "./types.js";

/** One problem found in a value: the dotted path of the field and a sentence for a person. */
export interface SchemaIssue {
  path: string;
  message: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks `value` against the parts of JSON Schema a configuration form uses
 * (type, required, enum, const, bounds, lengths, pattern, email/uri formats,
 * array items), so a form can say what is wrong before sending. The API
 * validates the whole schema again and stays the judge: its 400 names the
 * field too. A full validator (Ajv) would multiply the widget's size for
 * checks the server makes anyway.
 */
export function validateAgainstSchema(schema: JsonSchema | null | undefined, value: unknown, path = ""): SchemaIssue[] {
  if (!schema || typeof schema !== "object") return [];
  const issues: SchemaIssue[] = [];
  const here = (message: string) => issues.push({ path, message });
  const label = (schema.title as string | undefined) ?? (path.split(".").pop() || "This value");

  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    here(`${label} must be ${JSON.stringify(schema.const)}.`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    here(`${label} must be one of: ${schema.enum.map((o) => String(o)).join(", ")}.`);
    return issues;
  }
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length && !types.some((t) => isType(value, t))) {
    here(`${label} must be ${types.map(article).join(" or ")}.`);
    return issues;
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) {
      here(schema.minLength === 1 ? `${label} is required.` : `${label} needs at least ${schema.minLength} characters.`);
    }
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
      here(`${label} takes at most ${schema.maxLength} characters.`);
    }
    if (schema.pattern !== undefined) {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema.pattern, "u");
      } catch {
        re = undefined;
      }
      if (re && !re.test(value)) here(`${label} is not in the expected format.`);
    }
    if (schema.format === "email" && !EMAIL.test(value)) here(`${label} must be an e-mail address.`);
    if ((schema.format === "uri" || schema.format === "url") && !isUrl(value)) here(`${label} must be a URL.`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) here(`${label} must be at least ${schema.minimum}.`);
    if (schema.maximum !== undefined && value > schema.maximum) here(`${label} must be at most ${schema.maximum}.`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      here(`${label} must be more than ${schema.exclusiveMinimum}.`);
    }
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
      here(`${label} must be less than ${schema.exclusiveMaximum}.`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) here(`${label} needs at least ${schema.minItems} items.`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) here(`${label} takes at most ${schema.maxItems} items.`);
    if (schema.items) value.forEach((item, i) => issues.push(...validateAgainstSchema(schema.items, item, join(path, String(i)))));
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (record[name] === undefined || record[name] === null || record[name] === "") {
        const title = (schema.properties?.[name]?.title as string | undefined) ?? name;
        issues.push({ path: join(path, name), message: `${title} is required.` });
      }
    }
    for (const [name, sub] of Object.entries(schema.properties ?? {})) {
      if (record[name] === undefined) continue;
      if (record[name] === "" && !(schema.required ?? []).includes(name)) continue;
      issues.push(...validateAgainstSchema({ title: name, ...sub }, record[name], join(path, name)));
    }
  }
  return issues;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return true;
  }
}

function article(type: string): string {
  return { integer: "a whole number", number: "a number", string: "text", boolean: "true or false", array: "a list", object: "an object", null: "empty" }[type] ?? type;
}

function isUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
