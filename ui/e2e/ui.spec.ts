import { readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import { CLIENT_KEY, MANAGEMENT_KEY, expect, test } from "./yard.ts";

test("signing in asks for the management key and refuses a wrong one", async ({ page, yard }) => {
  await page.goto(`${yard.url}/management.html`);
  await page.getByLabel("Management key").fill("not-the-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("invalid management key");

  await page.getByLabel("Management key").fill(MANAGEMENT_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("endpoint")).toHaveText(yard.url);
  await expect(page.getByTestId("snippet-claude-code")).toContainText(`ANTHROPIC_AUTH_TOKEN=${CLIENT_KEY}`);

  // The key is kept for the tab: a reload stays signed in.
  await page.reload();
  await expect(page.getByTestId("endpoint")).toHaveText(yard.url);
});

test("the endpoint's copy button puts it on the clipboard", async ({ signedIn: page, yard, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: yard.url });
  await page.getByRole("button", { name: "Copy endpoint" }).click();
  await expect(page.getByText("Copied")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(yard.url);
});

/** Logs into the mock Claude account from the Accounts page, the browser step played by `fetch`. */
async function logIntoClaude(page: Page): Promise<void> {
  await page.getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: "Log in with Claude" }).click();
  const url = await page.getByTestId("login-url").getAttribute("href");
  expect(url).toBeTruthy();
  // The mock's authorize page redirects to the proxy's loopback callback, as the real one does after sign-in.
  const res = await fetch(url ?? "");
  expect(res.ok).toBe(true);
  await expect(page.getByRole("status").filter({ hasText: "Logged in as" })).toBeVisible();
}

test("a Claude login finishes when the browser comes back to the loopback callback", async ({ signedIn: page }) => {
  await logIntoClaude(page);
  const account = page.getByTestId("account");
  await expect(account).toHaveCount(1);
  await expect(account).toContainText("Claude");
  await expect(account).toContainText("Ready");
  // The mock reports 12% of the 5-hour window and 40% of the 7-day one.
  await expect(account.getByRole("listitem").filter({ hasText: "5h" })).toContainText("12% used");
  await expect(account.getByRole("listitem").filter({ hasText: "7d" })).toContainText("40% used");
  await expect(account).toContainText(/resets in (1h 5\dm|2h)/);

  // The account now serves Claude's models.
  await page.getByRole("link", { name: "Models" }).click();
  const row = page.getByRole("row").filter({ hasText: "claude-user@example.com" }).first();
  await expect(row).toContainText(/claude-/);
});

test("a login finishes from the address pasted into the fallback field", async ({ signedIn: page }) => {
  await page.getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: "Log in with Claude" }).click();
  const url = await page.getByTestId("login-url").getAttribute("href");
  // Where the browser would have ended up, had it been unable to reach the loopback port.
  const res = await fetch(url ?? "", { redirect: "manual" });
  const redirect = res.headers.get("location");
  expect(redirect).toContain("code=");

  await page.getByLabel(/Paste the address/).fill(redirect ?? "");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Logged in as" })).toBeVisible();
  await expect(page.getByTestId("account")).toHaveCount(1);
});

test("a pasted address that is not one the login expects is explained", async ({ signedIn: page }) => {
  await page.getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: "Log in with Claude" }).click();
  await page.getByLabel(/Paste the address/).fill("http://localhost:1/callback?code=nope&state=wrong");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByTestId("login-progress").getByRole("alert")).not.toBeEmpty();
  // Still waiting: the right address can still be pasted.
  await expect(page.getByRole("button", { name: "Cancel" })).toBeVisible();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByText("Login cancelled.")).toBeVisible();
});

test("a settings change is written to config.yaml with its comments kept", async ({ signedIn: page, yard }) => {
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Routing").selectOption("fill-first");
  await page.getByLabel("Retries").fill("3");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved and applied.")).toBeVisible();

  // The two values changed in place (the editor may quote a string); every other byte, comments
  // included, is as it was.
  const written = readFileSync(yard.configPath, "utf8").replace('"fill-first"', "fill-first");
  expect(written).toBe(
    yard.initialConfig
      .replace("request-retry: 1 # retries", "request-retry: 3 # retries")
      .replace("strategy: round-robin", "strategy: fill-first"),
  );
});

test("the config editor points at a broken line and moves the caret there", async ({ signedIn: page }) => {
  await page.getByRole("link", { name: "Config" }).click();
  const editor = page.getByLabel("config.yaml");
  await expect(editor).toHaveValue(/remote-management/);
  await expect(page.getByText("No errors")).toBeVisible();

  const text = await editor.inputValue();
  await editor.fill(text.replace("request-retry: 1", "request-retry: lots"));
  const problem = page.getByRole("list", { name: "Problems" }).getByRole("listitem").first();
  await expect(problem).toContainText("Line 6:");
  await expect(page.getByText(/1 error|errors/)).toBeVisible();

  await problem.getByRole("button").click();
  await expect(editor).toBeFocused();
  const caretLine = await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(0, el.selectionStart).split("\n").length);
  expect(caretLine).toBe(6);

  // Saving is refused with the problems, and the text typed is still there.
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("nothing was saved");
  await expect(editor).toHaveValue(/request-retry: lots/);
});

test("a Codex login can switch to a device code, which the provider then approves", async ({ signedIn: page }) => {
  await page.getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: "Log in with Codex" }).click();
  await page.getByRole("button", { name: "Use a device code instead" }).click();
  await expect(page.getByTestId("user-code")).not.toBeEmpty();
  // The mock approves a device code after a couple of polls, as a person entering it would.
  await expect(page.getByRole("status").filter({ hasText: "Logged in as" })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId("account")).toContainText("Codex");
});

test("a generated client key goes into config.yaml and into the setup snippets", async ({ signedIn: page, yard }) => {
  await page.getByRole("link", { name: "Settings" }).click();
  const keys = page.getByRole("heading", { name: "Client keys" }).locator("..").locator("code");
  await expect(keys).toHaveCount(1);
  await page.getByRole("button", { name: "Generate a key" }).click();
  await expect(keys).toHaveCount(2);
  const added = (await keys.nth(1).textContent()) ?? "";
  expect(readFileSync(yard.configPath, "utf8")).toContain(added);

  await page.getByRole("button", { name: "Revoke" }).first().click();
  await expect(keys).toHaveCount(1);
  expect(readFileSync(yard.configPath, "utf8")).not.toContain(CLIENT_KEY);
  await page.getByRole("link", { name: "Overview" }).click();
  await expect(page.getByTestId("snippet-claude-code")).toContainText(`ANTHROPIC_AUTH_TOKEN=${added}`);
});

test("the Logs page tails the proxy's log live, and pauses, filters and clears", async ({ signedIn: page, yard }) => {
  // Any settings change makes the proxy log that it reloaded its config.
  const change = (retries: number) =>
    fetch(`${yard.url}/v0/management/switchyard/settings`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${MANAGEMENT_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ request_retry: retries }),
    });
  await page.getByRole("link", { name: "Logs" }).click();
  const log = page.getByRole("log");
  const reloaded = log.getByText("config reloaded");
  await change(2);
  await expect(reloaded).toHaveCount(1);

  await page.getByRole("button", { name: "Pause" }).click();
  await change(3);
  await page.waitForTimeout(2500);
  await expect(reloaded).toHaveCount(1);
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(reloaded).toHaveCount(2);

  await page.getByRole("button", { name: "Clear view" }).click();
  await expect(log).toHaveText("No lines yet.");
  await change(4);
  await expect(reloaded).toHaveCount(1);

  await page.getByLabel("Level").selectOption("error");
  await expect(log).toHaveText("No lines yet.");
  await page.getByLabel("Level").selectOption("info");
  await expect(reloaded).toHaveCount(3);
});

test("an account can be renamed, reprioritised, disabled and removed", async ({ signedIn: page }) => {
  await logIntoClaude(page);
  const account = page.getByTestId("account");
  await account.getByRole("button", { name: "Edit" }).click();
  await account.getByLabel("Label").fill("Work");
  await account.getByLabel("Priority").fill("5");
  await account.getByLabel("Prefix").fill("team");
  await account.getByRole("button", { name: "Save" }).click();
  await expect(account.getByRole("heading")).toHaveText("Work");
  await expect(account).toContainText("Priority 5 · models as team/…");

  await account.getByRole("button", { name: "Disable" }).click();
  await expect(account).toContainText("Disabled: not used for requests");
  await account.getByRole("button", { name: "Enable" }).click();
  await expect(account).toContainText("Ready");

  await account.getByRole("button", { name: "Remove…" }).click();
  await expect(account.getByRole("alert")).toHaveText("Remove Work and its tokens?");
  await account.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(account).toHaveCount(0);
  await expect(page.getByText("No accounts yet.")).toBeVisible();
});

test("CLIProxyAPI auth files become accounts, and a file that is not one is explained", async ({ signedIn: page }) => {
  await page.getByRole("link", { name: "Accounts" }).click();
  const authFile = (name: string, body: object) => ({ name, mimeType: "application/json", buffer: Buffer.from(JSON.stringify(body)) });
  const claude = { type: "claude", email: "me@example.com", access_token: "at-file", refresh_token: "rt-file", expired: "2099-01-01T00:00:00Z" };
  const picker = page.getByLabel("Add from auth files…");
  await picker.setInputFiles([authFile("claude-me@example.com.json", claude), authFile("gemini-x.json", { type: "gemini", token: {} })]);

  const done = page.getByRole("status").filter({ hasText: "from claude-me" });
  await expect(done).toHaveText("Added Claude account me@example.com from claude-me@example.com.json.");
  await expect(page.getByRole("alert")).toContainText("gemini-x.json is not a Claude or Codex login");
  const account = page.getByTestId("account");
  await expect(account).toHaveCount(1);
  await expect(account).toContainText("me@example.com");

  // The same login again updates the account instead of adding a second.
  await picker.setInputFiles([authFile("claude-me@example.com.json", { ...claude, access_token: "at-renewed" })]);
  await expect(done).toHaveText("Updated Claude account me@example.com from claude-me@example.com.json.");
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(account).toHaveCount(1);
});
