// Builds dist/: ESM and CommonJS bundles (esbuild) and type declarations (tsc).
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
rmSync(`${here}dist`, { recursive: true, force: true });
const common = { entryPoints: [`${here}src/index.ts`], bundle: true, target: "es2020", sourcemap: true, logLevel: "warning" };
await esbuild.build({ ...common, format: "esm", outfile: `${here}dist/index.js` });
await esbuild.build({ ...common, format: "cjs", platform: "neutral", outfile: `${here}dist/index.cjs` });
// tsc both checks the types and writes the .d.ts files.
execFileSync(`${here}node_modules/.bin/tsc`, ["-p", `${here}tsconfig.json`], { stdio: "inherit" });
