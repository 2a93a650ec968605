/**
 * The widget's only stylesheet, adopted by its shadow root. Every colour,
 * font, radius and shadow comes from a `--fastn-*` token set on `.hub`
 * (never inherited from the host page: `:host { all: initial }` cuts the
 * inheritance of ordinary properties, and `.hub` redefines every token).
 */
export const CSS = `
:host { all: initial; display: block; contain: content; }
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
.hub {
  font-family: var(--fastn-font-family); font-size: var(--fastn-font-size); line-height: var(--fastn-line-height);
  color: var(--fastn-color-text); background: var(--fastn-color-background);
  border: 1px solid var(--fastn-color-border); border-radius: var(--fastn-radius-card);
  box-shadow: var(--fastn-shadow-card); padding: var(--fastn-spacing); min-height: 240px;
  -webkit-font-smoothing: antialiased;
}
h2, h3, p { margin: 0; }
.head h2 { font-size: var(--fastn-font-size-title); font-weight: var(--fastn-font-weight-title); }
.head p { color: var(--fastn-color-text-muted); margin-top: 2px; }
button, input, select, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 2px solid var(--fastn-color-primary); outline-offset: 2px; }
.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--fastn-color-border); margin: var(--fastn-spacing) 0; }
.tab {
  appearance: none; background: none; border: 0; border-bottom: 2px solid transparent; margin-bottom: -1px;
  padding: 8px 12px; cursor: pointer; color: var(--fastn-color-text-muted); font-weight: 500;
}
.tab[aria-selected="true"] { color: var(--fastn-color-primary); border-bottom-color: var(--fastn-color-primary); }
.tab .count { margin-left: 6px; font-size: 0.8em; padding: 0 6px; border-radius: 999px; background: var(--fastn-color-surface); border: 1px solid var(--fastn-color-border); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; list-style: none; margin: 0; padding: 0; }
.card {
  background: var(--fastn-color-surface); border: 1px solid var(--fastn-color-border); border-radius: var(--fastn-radius);
  box-shadow: var(--fastn-shadow-card); padding: 14px; display: flex; flex-direction: column; gap: 10px; min-width: 0;
}
.card.wide { grid-column: 1 / -1; }
.card-head { display: flex; align-items: center; gap: 10px; min-width: 0; }
.card-head h3 { font-size: 1em; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card-head .sub { color: var(--fastn-color-text-muted); font-size: 0.86em; }
.card-head > div { min-width: 0; flex: 1; }
.logo {
  width: 34px; height: 34px; flex: none; border-radius: var(--fastn-radius-button); display: grid; place-items: center;
  background: var(--fastn-color-background); border: 1px solid var(--fastn-color-border); font-weight: 700; color: var(--fastn-color-primary);
  overflow: hidden;
}
.logo img { width: 24px; height: 24px; object-fit: contain; }
.desc { color: var(--fastn-color-text-muted); font-size: 0.93em; }
.badge { display: inline-flex; align-items: center; gap: 5px; font-size: 0.8em; font-weight: 600; padding: 2px 8px; border-radius: 999px; border: 1px solid currentColor; white-space: nowrap; }
.badge::before { content: ""; width: 6px; height: 6px; border-radius: 50%; background: currentColor; }
.ok { color: var(--fastn-color-success); }
.warn { color: var(--fastn-color-warning); }
.bad { color: var(--fastn-color-danger); }
.muted { color: var(--fastn-color-text-muted); }
.error-text { color: var(--fastn-color-danger); font-size: 0.9em; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: auto; }
.btn {
  appearance: none; cursor: pointer; border-radius: var(--fastn-radius-button); padding: 7px 12px; font-weight: 600;
  border: 1px solid var(--fastn-color-border); background: var(--fastn-color-background); color: var(--fastn-color-text);
}
.btn:hover { border-color: var(--fastn-color-primary); }
.btn.primary { background: var(--fastn-color-primary); border-color: var(--fastn-color-primary); color: var(--fastn-color-primary-text); }
.btn.primary:hover { filter: brightness(1.07); }
.btn.danger { color: var(--fastn-color-danger); }
.btn[disabled], .btn[aria-busy="true"] { opacity: 0.6; cursor: default; }
form.fields { display: flex; flex-direction: column; gap: 10px; }
.field { display: flex; flex-direction: column; gap: 4px; }
.field > label, .field > .label { font-weight: 600; font-size: 0.9em; }
.field .hint { color: var(--fastn-color-text-muted); font-size: 0.85em; }
.field input:not([type=checkbox]), .field select, .field textarea {
  width: 100%; padding: 7px 9px; border: 1px solid var(--fastn-color-border); border-radius: var(--fastn-radius-button);
  background: var(--fastn-color-background);
}
.field [aria-invalid="true"] { border-color: var(--fastn-color-danger); }
.field.check { flex-direction: row; align-items: center; gap: 8px; }
fieldset { border: 1px solid var(--fastn-color-border); border-radius: var(--fastn-radius-button); padding: 10px; margin: 0; display: flex; flex-direction: column; gap: 10px; }
legend { font-weight: 600; font-size: 0.9em; padding: 0 4px; }
.req { color: var(--fastn-color-danger); margin-left: 2px; }
.switch {
  appearance: none; cursor: pointer; position: relative; width: 40px; height: 22px; flex: none; border-radius: 999px; padding: 0;
  border: 1px solid var(--fastn-color-border); background: var(--fastn-color-border);
}
.switch::after { content: ""; position: absolute; top: 2px; left: 2px; width: 16px; height: 16px; border-radius: 50%; background: var(--fastn-color-background); box-shadow: var(--fastn-shadow-card); transition: transform .15s; }
.switch[aria-checked="true"] { background: var(--fastn-color-primary); border-color: var(--fastn-color-primary); }
.switch[aria-checked="true"]::after { transform: translateX(18px); }
.switch[disabled] { opacity: 0.5; cursor: default; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; list-style: none; margin: 0; padding: 0; }
.chip { font-size: 0.8em; padding: 2px 8px; border-radius: 999px; border: 1px solid var(--fastn-color-border); background: var(--fastn-color-background); }
.kpis { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; margin-bottom: var(--fastn-spacing); }
.kpi { background: var(--fastn-color-surface); border: 1px solid var(--fastn-color-border); border-radius: var(--fastn-radius); padding: 12px 14px; }
.kpi dt { color: var(--fastn-color-text-muted); font-size: 0.85em; }
.kpi dd { margin: 2px 0 0; font-size: 1.6em; font-weight: 700; }
.kpi.attention dd { color: var(--fastn-color-danger); }
.runs { width: 100%; border-collapse: collapse; font-size: 0.93em; }
.runs caption { text-align: left; font-weight: 600; padding-bottom: 6px; }
.runs th { text-align: left; color: var(--fastn-color-text-muted); font-weight: 500; font-size: 0.85em; border-bottom: 1px solid var(--fastn-color-border); padding: 6px 8px; }
.runs td { border-bottom: 1px solid var(--fastn-color-border); padding: 8px; vertical-align: top; }
.runs td.err { color: var(--fastn-color-danger); overflow-wrap: anywhere; }
.row { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.url { display: flex; gap: 6px; align-items: center; }
.url code { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: 0.85em; padding: 5px 7px; background: var(--fastn-color-background); border: 1px solid var(--fastn-color-border); border-radius: var(--fastn-radius-button); }
.notice { padding: 10px 12px; border-radius: var(--fastn-radius-button); border: 1px solid var(--fastn-color-border); background: var(--fastn-color-surface); }
.notice.bad { border-color: var(--fastn-color-danger); }
.empty { color: var(--fastn-color-text-muted); padding: 18px 0; text-align: center; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.foot { margin-top: var(--fastn-spacing); font-size: 0.78em; color: var(--fastn-color-text-muted); text-align: right; }
@media (prefers-reduced-motion: reduce) { .switch::after { transition: none; } }
`;
