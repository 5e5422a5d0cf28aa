// /docs, the API's reference, served by pm from its own package (pm/board/static/api-docs): the
// Swagger UI files of swagger-ui-dist, installed from the lockfile like the board's own, and the
// few lines that start it. Nothing is loaded from a CDN, so /docs works offline.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const out = join(here, "..", "..", "pm", "board", "static", "api-docs");
mkdirSync(out, { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"]) {
  copyFileSync(join(dist, name), join(out, name));
}
for (const name of ["index.html", "start.js"]) {
  copyFileSync(join(here, "..", "api-docs", name), join(out, name));
}
