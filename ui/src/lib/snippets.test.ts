import { describe, expect, it } from "vitest";
import { ANY_KEY, shellQuote, snippets } from "./snippets.ts";

const byId = (endpoint: string, key?: string) => Object.fromEntries(snippets(endpoint, key).map((s) => [s.id, s.text]));

describe("setup snippets", () => {
  it("give Claude Code the endpoint and key as its environment", () => {
    expect(byId("http://127.0.0.1:8317", "sk-sy-1")["claude-code"]).toBe(
      "export ANTHROPIC_BASE_URL=http://127.0.0.1:8317\nexport ANTHROPIC_AUTH_TOKEN=sk-sy-1",
    );
  });

  it("give Codex CLI a model provider whose base URL ends in /v1 and whose key comes from the environment", () => {
    const codex = byId("http://127.0.0.1:8317/", "sk-sy-1").codex ?? "";
    expect(codex).toContain('model_provider = "switchyard"');
    expect(codex).toContain("[model_providers.switchyard]");
    expect(codex).toContain('base_url = "http://127.0.0.1:8317/v1"');
    expect(codex).toContain('env_key = "SWITCHYARD_API_KEY"');
    expect(codex).toContain("export SWITCHYARD_API_KEY=sk-sy-1");
  });

  it("give the OpenAI-compatible editors the /v1 base URL and the key", () => {
    const s = byId("http://10.0.0.5:9000", "k1");
    for (const id of ["cursor", "cline"]) {
      expect(s[id]).toContain("http://10.0.0.5:9000/v1");
      expect(s[id]).toContain("k1");
    }
    expect(JSON.parse(s.opencode ?? "")).toMatchObject({
      provider: { switchyard: { options: { baseURL: "http://10.0.0.5:9000/v1", apiKey: "k1" } } },
    });
    expect(JSON.parse(s.zed ?? "")).toEqual({
      language_models: { openai_compatible: { Switchyard: { api_url: "http://10.0.0.5:9000/v1" } } },
    });
  });

  it("give a curl that lists the models with the key", () => {
    expect(byId("http://127.0.0.1:8317", "k1").curl).toBe(
      "curl http://127.0.0.1:8317/v1/models \\\n  -H 'Authorization: Bearer k1'",
    );
  });

  it("use a stand-in key when the proxy asks for none", () => {
    expect(byId("http://127.0.0.1:8317")["claude-code"]).toContain(`ANTHROPIC_AUTH_TOKEN=${ANY_KEY}`);
  });

  it("quote for the shell only what needs it", () => {
    expect(shellQuote("sk-abc_123")).toBe("sk-abc_123");
    expect(shellQuote("it's $x")).toBe(`'it'\\''s $x'`);
  });
});
