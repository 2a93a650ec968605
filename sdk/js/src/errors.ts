/**
 * Errors of the end-user API, one class per kind of answer, each carrying the
 * API's error `code` (`{"error": {"code", "message", "details"}}`).
 *
 * `instanceof` works across them: every one is a `FastnError`.
 */

export type ErrorDetails = Record<string, unknown>;

export class FastnError extends Error {
  /** The API's snake_case error code (`invalid_config`, `session_expired`…), or a client-side one. */
  readonly code: string;
  /** HTTP status of the answer; 0 when no answer came (network, CORS, abort). */
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FastnError";
    this.code = options.code;
    this.status = options.status;
    this.details = options.details ?? {};
  }
}

/** 400: the request was refused as bad input. `field` names the offending field when the API said which. */
export class FastnValidationError extends FastnError {
  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails }) {
    super(message, options);
    this.name = "FastnValidationError";
  }

  /** Every field the API named, dotted path → first message (`details.fields`). */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    const fields = this.details.fields;
    if (fields && typeof fields === "object" && !Array.isArray(fields)) {
      for (const [name, messages] of Object.entries(fields as Record<string, unknown>)) {
        const first = Array.isArray(messages) ? messages[0] : messages;
        out[name] = typeof first === "string" ? first : this.message;
      }
    } else if (typeof this.details.field === "string") {
      out[this.details.field] = this.message;
    }
    return out;
  }

  /** The field the API named (`details.field`, or the first key of `details.fields`/`details.errors`). */
  get field(): string | undefined {
    const d = this.details;
    if (typeof d.field === "string") return d.field;
    for (const key of ["fields", "errors"]) {
      const value = d[key];
      if (value && typeof value === "object" && !Array.isArray(value)) {
        const first = Object.keys(value)[0];
        if (first !== undefined) return first;
      }
    }
    return undefined;
  }
}

/** 401: the session token is missing, unknown, expired or revoked. Mint a new session. */
export class FastnAuthError extends FastnError {
  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails }) {
    super(message, options);
    this.name = "FastnAuthError";
  }
}

/** 403: the session may not do this (an integration outside its list, a foreign origin). */
export class FastnForbiddenError extends FastnError {
  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails }) {
    super(message, options);
    this.name = "FastnForbiddenError";
  }
}

/** 404: no such connection, template or connector for this customer. */
export class FastnNotFoundError extends FastnError {
  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails }) {
    super(message, options);
    this.name = "FastnNotFoundError";
  }
}

/** 409: the state forbids it (a template whose required connector is not connected…). */
export class FastnConflictError extends FastnError {
  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails }) {
    super(message, options);
    this.name = "FastnConflictError";
  }
}

/** 429: a quota is exhausted; `retryAfter` in seconds when the API said. */
export class FastnRateLimitError extends FastnError {
  readonly retryAfter: number | undefined;

  constructor(message: string, options: { code: string; status: number; details?: ErrorDetails; retryAfter?: number }) {
    super(message, options);
    this.name = "FastnRateLimitError";
    this.retryAfter = options.retryAfter;
  }
}

/** No answer: the network failed, CORS refused the origin, or the call was aborted or timed out. */
export class FastnNetworkError extends FastnError {
  constructor(message: string, options: { code: string; cause?: unknown }) {
    super(message, { ...options, status: 0 });
    this.name = "FastnNetworkError";
  }
}

/** The OAuth popup was blocked, closed before finishing, or the provider refused. */
export class FastnOAuthError extends FastnError {
  constructor(message: string, options: { code: string; details?: ErrorDetails }) {
    super(message, { ...options, status: 0 });
    this.name = "FastnOAuthError";
  }
}

type ErrorBody = { error?: { code?: unknown; message?: unknown; details?: unknown } };

/** The typed error for an answer of status >= 400. */
export function errorFromResponse(status: number, body: unknown, headers?: { get(name: string): string | null }): FastnError {
  const payload = (body && typeof body === "object" ? (body as ErrorBody).error : undefined) ?? {};
  const code = typeof payload.code === "string" ? payload.code : `http_${status}`;
  const message = typeof payload.message === "string" ? payload.message : `The request failed with status ${status}.`;
  const details = payload.details && typeof payload.details === "object" ? (payload.details as ErrorDetails) : {};
  const options = { code, status, details };
  if (status === 400 || status === 413 || status === 422) return new FastnValidationError(message, options);
  if (status === 401) return new FastnAuthError(message, options);
  if (status === 403) return new FastnForbiddenError(message, options);
  if (status === 404) return new FastnNotFoundError(message, options);
  if (status === 409) return new FastnConflictError(message, options);
  if (status === 429) {
    const header = headers?.get("retry-after");
    const retryAfter = header != null && header !== "" && Number.isFinite(Number(header)) ? Number(header) : undefined;
    return new FastnRateLimitError(message, { ...options, retryAfter });
  }
  return new FastnError(message, options);
}
