export { createFastnClient, FastnClient, OAUTH_MESSAGE_TYPE } from "./client.js";
export type { ConnectOAuthOptions, FastnClientOptions, ListOptions } from "./client.js";
export {
  errorFromResponse,
  FastnAuthError,
  FastnConflictError,
  FastnError,
  FastnForbiddenError,
  FastnNetworkError,
  FastnNotFoundError,
  FastnOAuthError,
  FastnRateLimitError,
  FastnValidationError,
} from "./errors.js";
export type { ErrorDetails } from "./errors.js";
export * from "./types.js";
export { validateAgainstSchema } from "./schema.js";
export type { SchemaIssue } from "./schema.js";
