/** The pages, in the order the navigation lists them; the hash (`#/accounts`) names the current one. */
export const PAGES = [
  { id: "overview", title: "Overview" },
  { id: "accounts", title: "Accounts" },
  { id: "models", title: "Models" },
  { id: "usage", title: "Usage" },
  { id: "settings", title: "Settings" },
  { id: "config", title: "Config" },
  { id: "logs", title: "Logs" },
] as const;

export type PageId = (typeof PAGES)[number]["id"];

/** The page a hash names: its first segment (`#/usage/request/r1` is the Usage page). */
export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, "").split("/")[0];
  return PAGES.find((p) => p.id === id)?.id ?? "overview";
}

/** The request a `#/usage/request/<id>` hash opens, if any. */
export function requestFromHash(hash: string): string | undefined {
  const m = /^#\/?usage\/request\/([^/]+)$/.exec(hash);
  if (!m?.[1]) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

export function requestHash(id: string): string {
  return `#/usage/request/${encodeURIComponent(id)}`;
}
