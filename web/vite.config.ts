// Builds the UI into the gateway's package (git-ignored): hashed asset names, no inline scripts.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../gateway/src/crm_gateway/web_dist",
    emptyOutDir: true,
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
