/** Shapes of Fastn's end-user API (`/api/v1/embed/*`), as API.md states them. */

export type AuthType = "none" | "api_key" | "bearer" | "basic" | "oauth2" | "custom";

export type ConnectionStatus = "connected" | "needs_reauth" | "error" | "revoked" | (string & {});

export type ExecutionStatus = "queued" | "running" | "completed" | "failed" | "timeout" | (string & {});

/** Design tokens of the organization's widget: token name → CSS value (`"primary": "#4f46e5"`). */
export type StyleTokens = Record<string, string>;

export interface Customer {
  external_id: string;
  name?: string;
  [key: string]: unknown;
}

/** One customer's connection to one connector. Credentials are never returned. */
export interface Connection {
  id: string;
  connector: string;
  status: ConnectionStatus;
  auth_type?: AuthType;
  config?: Record<string, unknown>;
  scopes?: string[];
  last_error?: string | null;
  last_error_at?: string | null;
  last_verified_at?: string | null;
  created_at?: string;
  updated_at?: string;
  [key: string]: unknown;
}

/** A JSON Schema (the subset a form can be generated from). */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  [key: string]: unknown;
}

/** One field the customer fills in to connect (`credential_fields`, `config_fields`). */
export interface ConnectField {
  name: string;
  label?: string;
  description?: string;
  required: boolean;
  /** A secret: shown as a password field, never sent back. */
  secret?: boolean;
}

/** An integration the organization offers in the widget, with this customer's state. */
export interface Integration {
  connector: string;
  name: string;
  /** The organization's label for it (the connector's name when none was set). */
  label: string;
  description?: string;
  icon?: string | null;
  auth_type: AuthType;
  /** Connects through the OAuth popup (`connectOAuth`) rather than a form. */
  oauth: boolean;
  credential_fields: ConnectField[];
  config_fields: ConnectField[];
  connected: boolean;
  connection?: Connection | null;
  [key: string]: unknown;
}

export interface TriggerRecipe {
  type: "webhook" | "scheduler" | "app_event";
  config?: Record<string, unknown>;
}

/** A template as the customer sees it: with `enabled` and its configuration schema. */
export interface Template {
  slug: string;
  title: string;
  description?: string;
  connectors: string[];
  config_schema: JsonSchema;
  trigger?: TriggerRecipe;
  enabled: boolean;
  /** The customer's saved configuration (kept when disabled: the default on re-enable). */
  config?: Record<string, unknown> | null;
  activation?: Activation | null;
  [key: string]: unknown;
}

/** A customer's activation of a template. A webhook template's activation carries its own `url`. */
export interface Activation {
  template: string;
  enabled?: boolean;
  config: Record<string, unknown>;
  url?: string;
  [key: string]: unknown;
}

export interface EmbedSession {
  expires_at: string;
  integrations: string[] | null;
  allowed_origin: string | null;
}

export interface EmbedConfig {
  customer: Customer;
  session?: EmbedSession;
  title: string;
  subtitle: string;
  style: StyleTokens;
  integrations: Integration[];
  templates: Array<Template | string>;
  [key: string]: unknown;
}

export interface Execution {
  id: string;
  workflow?: string;
  template?: string | null;
  status: ExecutionStatus;
  triggered_by?: string;
  started_at?: string | null;
  finished_at?: string | null;
  created_at?: string;
  duration_ms?: number | null;
  error?: { message?: string; [key: string]: unknown } | string | null;
  [key: string]: unknown;
}

export interface Insights {
  runs_today: number;
  records_processed: number;
  needs_attention: number;
  [key: string]: unknown;
}

/** One page of a keyset-paginated list. */
export interface Page<T> {
  results: T[];
  next_cursor: string | null;
  has_more: boolean;
}

export type Credentials =
  | { api_key: string; [key: string]: unknown }
  | { token: string; [key: string]: unknown }
  | { username: string; password: string; [key: string]: unknown }
  | { access_token: string; refresh_token?: string; expires_at?: string | number; [key: string]: unknown }
  | Record<string, unknown>;

export interface UpdateConnectionInput {
  credentials?: Credentials;
  config?: Record<string, unknown>;
}

export interface CreateConnectionInput {
  connector: string;
  credentials: Credentials;
  /** Non-secret settings the connector declares (`connection_config`). */
  config?: Record<string, unknown>;
}

/** What an OAuth popup reports when it finishes. */
export interface OAuthResult {
  connector: string;
  connection_id?: string;
  status: "connected";
}
