// Builds the management UI into ui/dist, which the desktop app embeds (tauri.conf.json `frontendDist`).
// Node, not a shell script, so `tauri build` can run it as its beforeBuildCommand on Windows too.
//
//   node scripts/build-ui.mjs
import { execSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ui = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "ui");
const dist = path.join(ui, "dist");

execSync("npm ci --no-audit --no-fund --loglevel=error && npm run build", { cwd: ui, stdio: "inherit" });
if (!fs.existsSync(path.join(dist, "index.html"))) {
  console.error(`build-ui: no ${path.join(dist, "index.html")} after the build`);
  process.exit(1);
}
