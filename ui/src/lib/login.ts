import type { Api } from "../api/client.ts";
import { errorMessage } from "../api/error.ts";
import type { LoginMethod, LoginState, LoginView, Provider } from "../api/types.ts";

/** What a login panel shows; one value at a time, so the panel cannot show two stages at once. */
export type LoginProgress =
  | { stage: "starting"; provider: Provider; method: LoginMethod }
  | { stage: "waiting"; login: LoginView }
  | { stage: "succeeded"; provider: Provider; account: string; email?: string | null; updated: boolean }
  | { stage: "failed"; provider: Provider; message: string }
  | { stage: "cancelled"; provider: Provider };

/** The next progress once the service reports `state` for a login in progress. */
export function advance(login: LoginView, state: LoginState): LoginProgress {
  switch (state.state) {
    case "pending":
      return { stage: "waiting", login };
    case "succeeded":
      return {
        stage: "succeeded",
        provider: state.provider,
        account: state.account,
        email: state.email ?? null,
        updated: state.updated,
      };
    case "failed":
      return { stage: "failed", provider: login.provider, message: state.message };
    case "cancelled":
      return { stage: "cancelled", provider: login.provider };
  }
}

export function finished(p: LoginProgress): boolean {
  return p.stage === "succeeded" || p.stage === "failed" || p.stage === "cancelled";
}

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export const POLL_MS = 1000;

/**
 * Drives one login: start it, poll its status every second until it ends, and let the user paste the
 * address the browser ended on, switch to a device code, or cancel. `onChange` sees every new progress.
 */
export class LoginFlow {
  progress: LoginProgress | undefined;
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly onChange: (p: LoginProgress) => void,
    private readonly clock: Clock = realClock,
  ) {}

  async start(provider: Provider, method: LoginMethod): Promise<void> {
    this.stop();
    this.stopped = false;
    this.set({ stage: "starting", provider, method });
    try {
      const login = await this.api.startLogin(provider, method);
      if (this.stopped) {
        // Closed while the login was being started: do not leave it waiting on a port.
        await this.api.cancelLogin(login.id).catch(() => undefined);
        return;
      }
      this.set(advance(login, login.status));
      this.schedule();
    } catch (e) {
      this.set({ stage: "failed", provider, message: errorMessage(e) });
    }
  }

  /** Feeds the login the address the browser ended on (or Claude's `code#state`). */
  async paste(pasted: string): Promise<void> {
    const login = this.current();
    if (!login) return;
    await this.api.submitLogin(login.id, pasted.trim());
    await this.poll();
  }

  /** Codex: give up on the browser and show a code to enter instead. */
  async useDeviceCode(): Promise<void> {
    const login = this.current();
    if (!login) return;
    this.stop();
    await this.api.cancelLogin(login.id).catch(() => undefined);
    await this.start(login.provider, "device");
  }

  async cancel(): Promise<void> {
    const p = this.progress;
    if (!p || finished(p)) return;
    const login = this.current();
    this.stop();
    this.set({ stage: "cancelled", provider: p.stage === "waiting" ? p.login.provider : p.provider });
    if (login) await this.api.cancelLogin(login.id).catch(() => undefined);
  }

  /** Stops polling without cancelling (the page is closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private current(): LoginView | undefined {
    return this.progress?.stage === "waiting" ? this.progress.login : undefined;
  }

  private schedule(): void {
    if (this.stopped || !this.progress || finished(this.progress)) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.poll().then(() => this.schedule());
    }, POLL_MS);
  }

  private async poll(): Promise<void> {
    const login = this.current();
    if (!login || this.stopped) return;
    try {
      const state = await this.api.loginStatus(login.id);
      // A cancel or a restart may have happened while the answer was on its way.
      if (this.current()?.id === login.id) this.set(advance(login, state));
    } catch (e) {
      if (this.current()?.id === login.id) {
        this.set({ stage: "failed", provider: login.provider, message: errorMessage(e) });
      }
    }
  }

  private set(p: LoginProgress): void {
    this.progress = p;
    this.onChange(p);
  }
}
