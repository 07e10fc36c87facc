import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import type { UsageEvent } from "../src/api/types.ts";
import { compact, modelText } from "../src/lib/usage.ts";
import { CLIENT_KEY, MANAGEMENT_KEY, expect, test, type Yard } from "./yard.ts";

const SCREENSHOTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../docs/screenshots");
const API = "/v0/management/switchyard/";

async function management(yard: Yard, path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(yard.url + API + path, {
    ...init,
    headers: { Authorization: `Bearer ${MANAGEMENT_KEY}`, "Content-Type": "application/json" },
  });
  expect(res.ok, `${path}: ${res.status}`).toBe(true);
  return res.json();
}

/**
 * A week of history for two accounts and three models, as a Switchyard export document: a fixed
 * pseudo-random walk (the same every run) with times relative to now, so the "7 d" range holds all of it.
 */
function history(now: number): UsageEvent[] {
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const models = [
    { model: "claude-sonnet-4-5", upstream: "claude-sonnet-4-5-20250929", credential: "claude-work", provider: "claude" },
    { model: "gpt-5-codex", upstream: "gpt-5-codex", credential: "codex-home", provider: "codex" },
    { model: "claude-haiku-4-5", upstream: "claude-haiku-4-5-20251001", credential: "claude-work", provider: "claude" },
  ];
  const keys = ["key-1a2b3c4d", "key-9f8e7d6c"];
  return Array.from({ length: 60 }, (_, i) => {
    const m = models[Math.floor(next() * models.length)] ?? models[0]!;
    const failed = next() < 0.12;
    const input = failed ? 0 : Math.round(500 + next() * 20_000);
    const output = failed ? 0 : Math.round(100 + next() * 4000);
    return {
      request_id: `e2e-${String(i).padStart(3, "0")}`,
      // Newest about 5 minutes ago, oldest under 6.5 days back.
      time: new Date(now - 5 * 60_000 - i * 2.6 * 3_600_000).toISOString().replace(/\.\d+Z$/, "Z"),
      client_key: keys[i % 2] ?? null,
      format: m.provider === "claude" ? "anthropic" : "openai-responses",
      provider: m.provider,
      credential: m.credential,
      model: m.model,
      upstream_model: m.upstream,
      stream: next() < 0.6,
      status: failed ? 429 : 200,
      error_class: failed ? "rate_limited" : null,
      latency_ms: Math.round(400 + next() * 9000),
      ttfb_ms: failed ? null : Math.round(150 + next() * 900),
      input_tokens: input,
      output_tokens: output,
      cached_tokens: Math.round(input * 0.3),
      reasoning_tokens: m.provider === "codex" ? Math.round(output * 0.4) : 0,
      retries: failed ? 1 : 0,
      failovers: 0,
    };
  });
}

async function seed(yard: Yard): Promise<UsageEvent[]> {
  const events = history(Date.now());
  const doc = { version: 1, exported_at: new Date().toISOString(), usage: {}, switchyard: { version: 1, events } };
  const result = await management(yard, "usage/import", { method: "POST", body: JSON.stringify(doc) });
  expect(result).toMatchObject({ added: events.length, skipped: 0 });
  return events;
}

async function openUsage(page: Page): Promise<void> {
  await page.getByRole("navigation").getByRole("link", { name: "Usage" }).click();
  await expect(page.getByRole("heading", { name: "Usage", level: 1 })).toBeVisible();
}

const sum = (events: UsageEvent[], pick: (e: UsageEvent) => number) => events.reduce((n, e) => n + pick(e), 0);

test("the Usage page shows a week of history: totals, charts, filters and a request's detail", async ({ signedIn: page, yard }) => {
  const events = await seed(yard);
  await openUsage(page);

  // The 7-day range (the default) holds every event.
  await expect(page.getByRole("button", { name: "7 d" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("tile-requests").locator("dd")).toHaveText(String(events.length));
  const errors = events.filter((e) => e.error_class !== null);
  await expect(page.getByTestId("tile-errors").locator("dd")).toHaveText(String(errors.length));
  await expect(page.getByTestId("tile-input").locator("dd")).toHaveText(compact(sum(events, (e) => e.input_tokens)));
  await expect(page.getByTestId("tile-output").locator("dd")).toHaveText(compact(sum(events, (e) => e.output_tokens)));

  // Both time charts draw a column per UTC day the 7 days touch (8, or 7 at midnight), some with bars.
  const tokens = page.getByRole("figure").filter({ hasText: "Tokens per day" });
  await expect(tokens.getByTestId("column").nth(6)).toBeAttached();
  expect(await tokens.getByTestId("column").count()).toBeLessThanOrEqual(8);
  expect(await tokens.locator("rect.bar.input").count()).toBeGreaterThan(4);
  const requests = page.getByRole("figure").filter({ hasText: "Requests per day" });
  expect(await requests.locator("rect.bar.errors").count()).toBeGreaterThan(0);
  await expect(page.getByRole("img", { name: /Tokens per day/ })).toBeVisible();

  // The table lists the newest first, 50 to a page; Load more brings the rest.
  const rows = page.getByTestId("event");
  await expect(rows).toHaveCount(50);
  await page.getByRole("button", { name: "Load more" }).click();
  await expect(rows).toHaveCount(events.length);
  await expect(page.getByRole("button", { name: "Load more" })).toHaveCount(0);

  // Filtering by a model narrows the table to it.
  const haiku = events.filter((e) => e.model === "claude-haiku-4-5");
  await page.getByLabel("Model", { exact: true }).selectOption("claude-haiku-4-5");
  await expect(rows).toHaveCount(haiku.length);
  for (const text of await rows.locator("td.model").allTextContents()) expect(text).toContain("claude-haiku-4-5");
  await page.getByLabel("Errors only").check();
  await expect(rows).toHaveCount(haiku.filter((e) => e.error_class !== null).length);
  await page.getByLabel("Model", { exact: true }).selectOption("");
  await expect(rows).toHaveCount(errors.length);
  await page.getByLabel("Errors only").uncheck();
  await expect(rows).toHaveCount(50);

  // A row opens the request's detail; without the request log there are no bodies to show.
  const newest = events[0]!;
  await rows.first().click();
  await expect(page).toHaveURL(new RegExp(`#/usage/request/${newest.request_id}$`));
  const fields = page.getByTestId("request-fields");
  await expect(fields).toContainText(newest.request_id);
  await expect(fields).toContainText(modelText(newest));
  await expect(page.getByTestId("no-log")).toContainText("request log is off");
  // Back on the page, the table is as it was left (its first page).
  await page.getByRole("link", { name: "← Usage" }).click();
  await expect(rows).toHaveCount(50);
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("");

  // Today alone holds only the events since local midnight.
  await page.getByRole("button", { name: "Today" }).click();
  await expect(page.getByTestId("tile-requests").locator("dd")).toHaveText(String(sinceMidnight(events).length));
});

/** The events since local midnight: what "Today" shows. */
function sinceMidnight(events: UsageEvent[]): UsageEvent[] {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  return events.filter((e) => Date.parse(e.time) >= midnight.getTime());
}

test("export downloads the history, and importing it again adds nothing", async ({ signedIn: page, yard }) => {
  const events = await seed(yard);
  await openUsage(page);
  await expect(page.getByTestId("tile-requests").locator("dd")).toHaveText(String(events.length));

  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export all" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^switchyard-usage-\d{4}-\d{2}-\d{2}\.json$/);
  const path = await file.path();
  const doc = JSON.parse(readFileSync(path, "utf8")) as { switchyard: { events: UsageEvent[] }; usage: { total_requests: number } };
  expect(doc.switchyard.events).toHaveLength(events.length);
  expect(doc.usage.total_requests).toBe(events.length);

  await page.getByLabel("Import…").setInputFiles(path);
  await expect(page.getByRole("status").filter({ hasText: "Imported" })).toContainText(`added 0, skipped ${events.length}`);
  await expect(page.getByTestId("tile-requests").locator("dd")).toHaveText(String(events.length));

  // A file that is not JSON is refused in words.
  await page.getByLabel("Import…").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await expect(page.getByRole("alert")).toHaveText("notes.txt is not a JSON file.");

  // "Export range" holds what the page shows: here Today's requests, in a file named for the day.
  await page.getByRole("button", { name: "Today" }).click();
  const today = sinceMidnight(events);
  await expect(page.getByTestId("tile-requests").locator("dd")).toHaveText(String(today.length));
  const ranged = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export range" }).click();
  const part = await ranged;
  expect(part.suggestedFilename()).toMatch(/^switchyard-usage-\d{4}-\d{2}-\d{2}\.json$/);
  const partDoc = JSON.parse(readFileSync(await part.path(), "utf8")) as { switchyard: { events: UsageEvent[] } };
  const ids = (list: UsageEvent[]) => list.map((e) => e.request_id).sort();
  expect(ids(partDoc.switchyard.events)).toEqual(ids(today));
});

test("Settings turns usage history off, and the Usage page says so", async ({ signedIn: page, yard }) => {
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByLabel("Usage history")).toBeChecked();
  await expect(page.getByLabel("Request log")).not.toBeChecked();
  await page.getByLabel("Usage history").uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved and applied.")).toBeVisible();
  expect(readFileSync(yard.configPath, "utf8")).toMatch(/usage-statistics-enabled: false/);

  await openUsage(page);
  const notice = page.getByRole("note");
  await expect(notice).toContainText("Usage history is off");
  await notice.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
});

// The docs' screenshots: written to docs/screenshots with UPDATE_SCREENSHOTS=1, else to the test's
// output folder, so a test run never changes tracked files.
test.describe("screenshots", () => {
  for (const scheme of ["light", "dark"] as const) {
    test(`usage-${scheme}.png`, async ({ signedIn: page, yard }, info) => {
      await seed(yard);
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width: 1280, height: 1500 });
      await openUsage(page);
      await expect(page.getByTestId("event")).toHaveCount(50);
      const name = `usage-${scheme}.png`;
      await page.screenshot({ path: process.env.UPDATE_SCREENSHOTS ? join(SCREENSHOTS, name) : info.outputPath(name) });
    });
  }
});

/** Real requests through the proxy to the mock upstream: what the request path records. */
test.describe("requests through the proxy", () => {
  test.use({
    yardConfig: `claude-api-key:
  - api-key: "sk-mock-claude"
    base-url: http://{mock}/anthropic
`,
  });

  test("are counted on the Usage page and open with their detail", async ({ signedIn: page, yard }) => {
    const ask = (body: Record<string, unknown>) =>
      fetch(`${yard.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01", "Content-Type": "application/json" },
        body: JSON.stringify({ model: "claude-sonnet-4-5-20250929", max_tokens: 64, messages: [{ role: "user", content: "hi" }], ...body }),
      });
    expect((await ask({})).status).toBe(200);
    expect((await ask({ stream: true }).then(async (r) => (await r.text(), r.status)))).toBe(200);
    // One request the upstream refuses (400 is not retried).
    await fetch(`${yard.mock}/__control/script`, {
      method: "POST",
      body: JSON.stringify({ steps: [{ reply: { error: { status: 400 } }, times: 1 }] }),
    });
    expect((await ask({})).status).toBe(400);

    await openUsage(page);
    // The recorder writes in batches: poll until all three are in.
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(page.getByTestId("tile-requests").locator("dd")).toHaveText("3", { timeout: 1000 });
    }).toPass();
    await expect(page.getByTestId("tile-errors").locator("dd")).toHaveText("1");
    // The mock answers 11 input and 7 output tokens.
    await expect(page.getByTestId("tile-output").locator("dd")).toHaveText("14");
    await expect(page.getByTestId("event")).toHaveCount(3);
    await expect(page.getByTestId("event").getByText("stream", { exact: true })).toHaveCount(1);
    await expect(page.getByTestId("event").first()).toContainText("400");
    await page.getByTestId("event").last().click();
    await expect(page.getByTestId("request-fields")).toContainText("claude-sonnet-4-5-20250929");
  });
});

/** With `request-log: true`, a request's detail shows its exchange, credentials masked. */
test.describe("the request log", () => {
  test.use({
    yardConfig: `request-log: true
claude-api-key:
  - api-key: "sk-mock-claude-upstream"
    base-url: http://{mock}/anthropic
`,
  });

  test("shows a real request's exchange with every credential masked", async ({ signedIn: page, yard }) => {
    const resp = await fetch(`${yard.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01", "Content-Type": "application/json" },
      body: JSON.stringify({ model: "claude-sonnet-4-5-20250929", max_tokens: 64, messages: [{ role: "user", content: "hello log" }] }),
    });
    expect(resp.status).toBe(200);
    await resp.text();

    await openUsage(page);
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(page.getByTestId("event")).toHaveCount(1, { timeout: 1000 });
    }).toPass();
    await page.getByTestId("event").first().click();
    await expect(page.getByRole("heading", { name: "Request log" })).toBeVisible();
    const main = page.locator("main");
    await expect(main).toContainText("hello log");
    await expect(main).toContainText("/anthropic/v1/messages");
    await expect(main).toContainText("x-api-key");
    const text = (await main.textContent()) ?? "";
    expect(text).not.toContain(CLIENT_KEY);
    expect(text).not.toContain("sk-mock-claude-upstream");
  });
});
