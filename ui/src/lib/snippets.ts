/** Setup instructions for each client, with this proxy's endpoint and a client key filled in. */
export interface Snippet {
  id: string;
  title: string;
  /** Where the text goes, in words. */
  where: string;
  text: string;
}

/** What clients put in the key field when the proxy asks for no key: any non-empty string works. */
export const ANY_KEY = "switchyard";

export function snippets(endpoint: string, key: string | undefined): Snippet[] {
  const base = endpoint.replace(/\/+$/, "");
  const k = key ?? ANY_KEY;
  const v1 = `${base}/v1`;
  return [
    {
      id: "claude-code",
      title: "Claude Code",
      where: "Run in your shell (or add to your shell profile) before starting claude:",
      text: `export ANTHROPIC_BASE_URL=${shellQuote(base)}\nexport ANTHROPIC_AUTH_TOKEN=${shellQuote(k)}`,
    },
    {
      id: "codex",
      title: "Codex CLI",
      where: "Add to ~/.codex/config.toml, then export the key in your shell:",
      text:
        `model_provider = "switchyard"\n\n` +
        `[model_providers.switchyard]\n` +
        `name = "Switchyard"\n` +
        `base_url = ${tomlString(v1)}\n` +
        `env_key = "SWITCHYARD_API_KEY"\n` +
        `wire_api = "responses"\n\n` +
        `# in your shell:\nexport SWITCHYARD_API_KEY=${shellQuote(k)}`,
    },
    {
      id: "cursor",
      title: "Cursor",
      where: "Settings → Models → API Keys: turn on OpenAI API Key, paste the key, then Override OpenAI Base URL:",
      text: `Base URL: ${v1}\nAPI key:  ${k}`,
    },
    {
      id: "cline",
      title: "Cline",
      where: "Cline settings → API Provider “OpenAI Compatible” (or “Anthropic” with a custom base URL of the endpoint):",
      text: `Base URL: ${v1}\nAPI Key:  ${k}`,
    },
    {
      id: "opencode",
      title: "OpenCode",
      where: "Add a provider to opencode.json (project) or ~/.config/opencode/opencode.json:",
      text: JSON.stringify(
        {
          provider: {
            switchyard: {
              npm: "@ai-sdk/openai-compatible",
              name: "Switchyard",
              options: { baseURL: v1, apiKey: k },
            },
          },
        },
        null,
        2,
      ),
    },
    {
      id: "zed",
      title: "Zed",
      where: "Add to settings.json (Zed asks for the key the first time; paste it there):",
      text: JSON.stringify(
        { language_models: { openai_compatible: { Switchyard: { api_url: v1 } } } },
        null,
        2,
      ),
    },
    {
      id: "curl",
      title: "curl",
      where: "Check the proxy from a terminal:",
      text: `curl ${shellQuote(`${v1}/models`)} \\\n  -H ${shellQuote(`Authorization: Bearer ${k}`)}`,
    },
  ];
}

/** Quotes for a POSIX shell only when needed, so the usual URL and key stay easy to read. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}
