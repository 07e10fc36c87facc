/**
 * Saves `value` as a JSON file through a Blob link: no server round trip, allowed by the page's CSP
 * (the link is navigated, not loaded as a resource), and handled as a download by the desktop webview too.
 */
export function downloadJson(filename: string, value: unknown): void {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the Blob to the download; revoking later keeps slow webviews from losing it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
