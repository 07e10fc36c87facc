import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: ".",
  // Screenshots of failures land here (git-ignored).
  outputDir: "artifacts",
  // Each test starts its own proxy and mock; two CPUs are shared, so one test at a time.
  workers: 1,
  timeout: 60_000,
  // A page that does not show what a test waits for within 10 s will not show it.
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    // Debian's Chromium: Playwright's own browser downloads cannot reach this machine.
    launchOptions: { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" },
    screenshot: "only-on-failure",
    actionTimeout: 10_000,
  },
});
