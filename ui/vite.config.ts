import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [svelte()],
  // Relative URLs: the proxy serves the page as /management.html, the desktop window loads dist/index.html.
  base: "./",
  build: {
    outDir: "dist",
    // The proxy routes /management-assets/* to these files, so the folder name is part of the contract.
    assetsDir: "management-assets",
    // Inlined assets would become data: URLs or inline code, which the strict CSP refuses.
    assetsInlineLimit: 0,
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
