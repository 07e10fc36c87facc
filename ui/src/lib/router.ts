/** The pages, in the order the navigation lists them; the hash (`#/accounts`) names the current one. */
export const PAGES = [
  { id: "overview", title: "Overview" },
  { id: "accounts", title: "Accounts" },
  { id: "models", title: "Models" },
  { id: "settings", title: "Settings" },
  { id: "config", title: "Config" },
  { id: "logs", title: "Logs" },
] as const;

export type PageId = (typeof PAGES)[number]["id"];

export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, "");
  return PAGES.find((p) => p.id === id)?.id ?? "overview";
}
