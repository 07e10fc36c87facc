// The shapes of docs/management-api.md. Optional fields the service writes as `null` (instead of leaving
// them out) are typed `?: T | null`, so the code reading them has to handle both.

export type Provider = "claude" | "codex";
export type LoginMethod = "browser" | "paste" | "device";
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

export interface StatusView {
  version: string;
  endpoint: string;
  config_path: string;
  client_key_required: boolean;
  accounts: number;
  accounts_ready: number;
  config_credentials: number;
  models: number;
}

export interface Account {
  id: string;
  provider: Provider;
  email?: string | null;
  account_id?: string | null;
  plan?: string | null;
  label?: string | null;
  disabled: boolean;
  priority: number;
  prefix?: string | null;
  excluded_models?: string[];
  status: "ok" | "needs-login" | "error";
  status_message?: string | null;
  expires_at?: string | null;
  last_refresh?: string | null;
  origin?: { kind: "login" | "auth-dir" | "claude-code" | "codex-cli"; path?: string | null } | null;
}

export interface QuotaWindow {
  name: string;
  used_percent: number;
  resets_at?: string | null;
  window_seconds?: number | null;
}

export interface Quota {
  windows: QuotaWindow[];
  plan?: string | null;
}

export interface Cooldown {
  model: string;
  until: string;
  status: number | null;
}

export interface AccountView extends Account {
  quota?: Quota | null;
  quota_error?: string | null;
  cooldowns: Cooldown[];
}

export interface AccountPatch {
  label?: string;
  priority?: number;
  prefix?: string;
  enabled?: boolean;
}

export type LoginState =
  | { state: "pending" }
  | {
      state: "succeeded";
      account: string;
      provider: Provider;
      email?: string | null;
      plan?: string | null;
      updated: boolean;
    }
  | { state: "failed"; message: string }
  | { state: "cancelled" };

export interface LoginView {
  id: string;
  provider: Provider;
  method: LoginMethod;
  url?: string | null;
  user_code?: string | null;
  verification_url?: string | null;
  callback_port?: number | null;
  /** The OAuth state the provider sends back (browser, paste). */
  state?: string | null;
  status: LoginState;
}

export interface ModelView {
  id: string;
  display_name: string;
  owned_by: string;
  routes: { credential: string; upstream_model: string }[];
}

export interface ConfigText {
  path: string;
  yaml: string;
}

export interface Problem {
  line: number;
  column: number;
  severity: "error" | "warning";
  message: string;
}

export type Strategy = "round-robin" | "fill-first";

export interface SettingsView {
  host: string;
  port: number;
  strategy: Strategy;
  request_retry: number;
  proxy_url?: string | null;
  debug: boolean;
}

export interface SettingsPatch {
  host?: string;
  port?: number;
  strategy?: string;
  request_retry?: number;
  proxy_url?: string;
  debug?: boolean;
}

export interface LogLine {
  seq: number;
  time: string;
  level: "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";
  target: string;
  message: string;
}
