// Builds dist/fastn.js: the whole widget (Preact and the headless client
// included) in one minified script, what GET /embed/fastn.js serves.
// `node build.mjs --check` also type-checks the sources with tsc.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
if (process.argv.includes("--check")) {
  execFileSync(`${here}node_modules/.bin/tsc`, ["-p", `${here}tsconfig.json`], { stdio: "inherit" });
}
const result = await esbuild.build({
  entryPoints: [`${here}src/index.tsx`],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  // The headless client's sources sit in ../js; its imports resolve from here.
  nodePaths: [`${here}node_modules`],
  legalComments: "none",
  metafile: true,
  outfile: `${here}dist/fastn.js`,
  logLevel: "warning",
});
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`widget: dist/fastn.js ${bytes} bytes`);
