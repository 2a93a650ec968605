// Parts of the client that need no server: argument checks, error mapping,
// the form validator. Everything that talks HTTP is in server.test.mjs,
// against a real Fastn.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createFastnClient,
  errorFromResponse,
  FastnAuthError,
  FastnConflictError,
  FastnError,
  FastnNetworkError,
  FastnRateLimitError,
  FastnValidationError,
  validateAgainstSchema,
} from "../dist/index.js";

test("createFastnClient refuses a missing token or base URL", () => {
  assert.throws(() => createFastnClient({ baseUrl: "http://x" }), /sessionToken is required/);
  assert.throws(() => createFastnClient({ sessionToken: "t" }), /baseUrl is required/);
  assert.throws(() => createFastnClient({ sessionToken: "t", baseUrl: "not a url" }), TypeError);
});

test("the base URL loses its trailing slashes", () => {
  assert.equal(createFastnClient({ sessionToken: "t", baseUrl: "http://fastn.test:8000/" }).baseUrl, "http://fastn.test:8000");
});

test("each status becomes its error class with the API's code, message and details", () => {
  const body = (code, details = {}) => ({ error: { code, message: `m-${code}`, details } });
  const invalid = errorFromResponse(400, body("invalid_input", { fields: { "config.channel": ["Required."] } }));
  assert.ok(invalid instanceof FastnValidationError && invalid instanceof FastnError);
  assert.equal(invalid.code, "invalid_input");
  assert.equal(invalid.field, "config.channel");
  assert.deepEqual(invalid.fieldErrors, { "config.channel": "Required." });
  assert.ok(errorFromResponse(401, body("session_expired")) instanceof FastnAuthError);
  assert.ok(errorFromResponse(409, body("connector_not_connected")) instanceof FastnConflictError);
  const limited = errorFromResponse(429, body("quota_exceeded"), new Headers({ "retry-after": "12" }));
  assert.ok(limited instanceof FastnRateLimitError);
  assert.equal(limited.retryAfter, 12);
  const odd = errorFromResponse(502, "<html>");
  assert.equal(odd.code, "http_502");
  assert.equal(odd.status, 502);
});

test("an unreachable server is a FastnNetworkError with status 0", async () => {
  const client = createFastnClient({ sessionToken: "t", baseUrl: "http://127.0.0.1:9", timeoutMs: 3000 });
  await assert.rejects(client.getConfig(), (error) => error instanceof FastnNetworkError && error.status === 0);
});

test("the form validator names each failing field", () => {
  const schema = {
    type: "object",
    required: ["channel", "size"],
    properties: {
      channel: { type: "string", title: "Channel", minLength: 2, pattern: "^#" },
      size: { type: "integer", minimum: 1, maximum: 10 },
      mode: { enum: ["fast", "safe"] },
      email: { type: "string", format: "email" },
      tags: { type: "array", items: { type: "string" }, maxItems: 2 },
    },
  };
  assert.deepEqual(validateAgainstSchema(schema, { channel: "#ops", size: 3 }), []);
  const issues = validateAgainstSchema(schema, { channel: "x", size: 11, mode: "slow", email: "nope", tags: ["a", "b", "c"] });
  const paths = issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ["channel", "channel", "email", "mode", "size", "tags"]);
  assert.match(issues.find((i) => i.path === "size").message, /at most 10/);
  const missing = validateAgainstSchema(schema, {});
  assert.deepEqual(missing.map((i) => i.message), ["Channel is required.", "size is required."]);
  assert.match(validateAgainstSchema(schema, { channel: "#a", size: 1.5 })[0].message, /whole number/);
});
