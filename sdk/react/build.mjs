// Builds dist/: ESM and CommonJS (esbuild; react and @fastn/js stay imports)
// and type declarations (tsc). Needs ../js built first (make does it).
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
rmSync(`${here}dist`, { recursive: true, force: true });
const common = {
  entryPoints: [`${here}src/index.tsx`],
  bundle: true,
  external: ["react", "react-dom", "@fastn/js"],
  target: "es2020",
  jsx: "automatic",
  sourcemap: true,
  logLevel: "warning",
};
await esbuild.build({ ...common, format: "esm", outfile: `${here}dist/index.js` });
await esbuild.build({ ...common, format: "cjs", platform: "neutral", outfile: `${here}dist/index.cjs` });
execFileSync(`${here}node_modules/.bin/tsc`, ["-p", `${here}tsconfig.json`], { stdio: "inherit" });
