import type { Api } from "../api/client.ts";
import type { LogLevel, LogLine } from "../api/types.ts";

/** Lines asked for at once; a full page means more are waiting. */
export const PAGE = 200;
/** Lines kept on screen; older ones scroll away. */
export const KEEP = 2000;

/**
 * The lines a live log view shows. `fetch` asks for what came after the last line seen, page by page
 * until the proxy has nothing newer, so a burst is caught up at once and nothing is shown twice.
 */
export class LogTail {
  lines: LogLine[] = [];
  private after = 0;

  constructor(
    private readonly api: Api,
    private level: LogLevel = "info",
  ) {}

  /** Fetches new lines; returns how many arrived. */
  async fetch(): Promise<number> {
    const level = this.level;
    let arrived = 0;
    for (;;) {
      const page = await this.api.logs(this.after, level, PAGE);
      // The level changed while this page was on its way: its lines belong to the old filter.
      if (level !== this.level) return arrived;
      const last = page.at(-1);
      if (!last) break;
      this.after = last.seq;
      this.lines.push(...page);
      arrived += page.length;
      if (page.length < PAGE) break;
    }
    if (this.lines.length > KEEP) this.lines.splice(0, this.lines.length - KEEP);
    return arrived;
  }

  /** Empties the view; lines already seen do not come back. */
  clear(): void {
    this.lines = [];
  }

  /** Shows lines at `level` or more severe, from the oldest the proxy still has. */
  setLevel(level: LogLevel): void {
    this.level = level;
    this.lines = [];
    this.after = 0;
  }
}
