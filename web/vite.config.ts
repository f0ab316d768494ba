import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The dashboard is built into dist/web, which the server serves at `/` (src/http/dashboard.ts).
// `npm run web:dev` serves it with hot reload and passes /graphql (HTTP and WebSocket) to a server on :4000.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // Everything the page needs comes from this origin: no CDN, no inlined data URLs for fonts.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { "/graphql": { target: "http://localhost:4000", ws: true } },
  },
});
