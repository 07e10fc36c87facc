import { describe, expect, it } from "vitest";
import type { AccountView } from "../api/types.ts";
import { accountStatus, cooldownText, quotaBars, quotaErrorText, resetsIn, span } from "./format.ts";

const now = new Date("2026-11-22T10:00:00Z");
const inSecs = (s: number) => new Date(now.getTime() + s * 1000).toISOString();

describe("durations", () => {
  it("reads like the CLI's", () => {
    expect([45, 12 * 60, 2 * 3600, 3600 + 59 * 60, 3 * 86400, 2 * 86400 + 23 * 3600].map(span)).toEqual([
      "45s",
      "12m",
      "2h",
      "1h 59m",
      "3d",
      "2d 23h",
    ]);
  });

  it("says when a window resets, and nothing when the provider gave no time", () => {
    expect(resetsIn(inSecs(7140), now)).toBe("resets in 1h 59m");
    expect(resetsIn(inSecs(-5), now)).toBe("resets now");
    expect(resetsIn(null, now)).toBe("");
    expect(resetsIn(undefined, now)).toBe("");
  });
});

describe("quota bars", () => {
  it("label Claude's windows by name and Codex's by their length", () => {
    const bars = quotaBars(
      [
        { name: "5h", used_percent: 12, resets_at: inSecs(7200), window_seconds: 18000 },
        { name: "secondary", used_percent: 40.4, resets_at: inSecs(3 * 86400), window_seconds: 604800 },
      ],
      now,
    );
    expect(bars.map((b) => [b.label, b.text, b.reset, b.level])).toEqual([
      ["5h", "12% used", "resets in 2h", "ok"],
      ["7d", "40% used", "resets in 3d", "ok"],
    ]);
  });

  it("fill the bar at 100 while the text tells an overrun as it is", () => {
    const [bar] = quotaBars([{ name: "5h", used_percent: 104 }], now);
    expect(bar).toMatchObject({ percent: 100, text: "104% used", level: "full", reset: "" });
    expect(quotaBars([{ name: "7d", used_percent: 85 }], now)[0]?.level).toBe("high");
  });
});

describe("account status in words", () => {
  const base: AccountView = { id: "claude-1", provider: "claude", disabled: false, priority: 0, status: "ok", cooldowns: [] };

  it("puts the most pressing first", () => {
    expect(accountStatus(base)).toBe("Ready");
    expect(accountStatus({ ...base, status: "needs-login", status_message: "the refresh token was revoked" })).toBe(
      "Needs a new login: the refresh token was revoked",
    );
    expect(accountStatus({ ...base, status: "error" })).toBe("Not working");
    expect(accountStatus({ ...base, disabled: true, status: "needs-login" })).toBe("Disabled: not used for requests");
  });

  it("shows a cooldown's model, time left and cause", () => {
    expect(cooldownText({ model: "claude-sonnet-4-5", until: inSecs(240), status: 429 }, now)).toBe(
      "claude-sonnet-4-5 resting for 4m (429)",
    );
    expect(cooldownText({ model: "gpt-5", until: inSecs(30), status: null }, now)).toBe("gpt-5 resting for 30s (no connection)");
  });
});

describe("quota errors", () => {
  it("say 'quota unavailable' once", () => {
    expect(quotaErrorText("quota unavailable: the usage endpoint answered 503")).toBe("Quota unavailable: the usage endpoint answered 503");
    expect(quotaErrorText("took longer than 10 s")).toBe("Quota unavailable: took longer than 10 s");
  });
});
