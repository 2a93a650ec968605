/**
 * The widget's design tokens: every colour, font, radius and shadow it uses.
 * The organization sets them in Dashboard → Widgets (`style` of /api/v1/widget);
 * inside the shadow root each is the CSS custom property `--fastn-<name>`.
 * Names not listed here are ignored, values are applied through the CSSOM
 * (`style.setProperty`), so a token can never add a CSS rule of its own.
 */
export const DEFAULT_TOKENS: Readonly<Record<string, string>> = Object.freeze({
  // The same names and defaults as the server's catalogue (apps/widgets/style.py).
  "color-primary": "#4f46e5",
  "color-primary-text": "#ffffff",
  "color-background": "#ffffff",
  "color-surface": "#f8fafc",
  "color-text": "#0f172a",
  "color-text-muted": "#64748b",
  "color-border": "#e2e8f0",
  "color-success": "#16a34a",
  "color-warning": "#d97706",
  "color-danger": "#dc2626",
  "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  "font-size": "14px",
  "font-size-title": "20px",
  "font-weight-title": "600",
  "line-height": "1.5",
  radius: "8px",
  "radius-card": "12px",
  "radius-button": "6px",
  "shadow-card": "0 1px 3px rgba(15, 23, 42, 0.08)",
  spacing: "16px",
});

export const TOKEN_NAMES: readonly string[] = Object.keys(DEFAULT_TOKENS);

/** Longest value accepted for one token (a font stack or a double shadow fits easily). */
const MAX_VALUE = 200;

/** The tokens to apply: defaults, then the organization's, then overrides; unknown names and odd values dropped. */
export function resolveTokens(...layers: Array<Record<string, unknown> | null | undefined>): Record<string, string> {
  const out: Record<string, string> = { ...DEFAULT_TOKENS };
  for (const layer of layers) {
    if (!layer || typeof layer !== "object") continue;
    for (const [name, value] of Object.entries(layer)) {
      if (!(name in DEFAULT_TOKENS)) continue;
      if (typeof value !== "string" && typeof value !== "number") continue;
      const text = String(value).trim();
      // No braces, semicolons or markup: a value is one CSS value, nothing more.
      if (!text || text.length > MAX_VALUE || /[{};<>\\]/.test(text)) continue;
      out[name] = text;
    }
  }
  return out;
}

/** Applies tokens to an element as `--fastn-*` custom properties. */
export function applyTokens(element: HTMLElement, tokens: Record<string, string>): void {
  for (const [name, value] of Object.entries(tokens)) element.style.setProperty(`--fastn-${name}`, value);
}
