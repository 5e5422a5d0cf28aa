// The board's build: one page, its assets written into pm's package (pm/board/static), which pm
// serves at `/`. Nothing is loaded from anywhere else at run time.
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../pm/board/static",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
