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
  origin?: { kind: "login" | "auth-dir" | "claude-code" | "codex-cli" | "upload"; path?: string | null } | null;
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
  /** `usage-statistics-enabled`: keep a history of requests and tokens. */
  usage_statistics_enabled: boolean;
  /** `request-log`: keep each request's headers and bodies (for the request detail view). */
  request_log: boolean;
}

export interface SettingsPatch {
  host?: string;
  port?: number;
  strategy?: string;
  request_retry?: number;
  proxy_url?: string;
  debug?: boolean;
  usage_statistics_enabled?: boolean;
  request_log?: boolean;
}

export interface LogLine {
  seq: number;
  time: string;
  level: "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";
  target: string;
  message: string;
}

// Usage history (issue 6). All times are RFC 3339 UTC; series keys are UTC buckets.

/** Counts of one group: a time bucket, a model, an account, a client key ("" for the whole range). */
export interface Totals {
  key: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
}

export type Bucket = "hour" | "day";

export interface UsageSummary {
  /** `usage-statistics-enabled` now. */
  enabled: boolean;
  database: string;
  /** Why the history is off (the database could not open), else null. */
  unavailable: string | null;
  from: string;
  to: string;
  bucket: Bucket;
  totals: Totals;
  /** One per bucket over the whole range, zero-filled, oldest first. */
  series: Totals[];
  by_model: Totals[];
  by_credential: Totals[];
  by_client_key: Totals[];
  recorder: { written: number; dropped: number; failed: number };
}

export interface UsageEvent {
  request_id: string;
  time: string;
  client_key: string | null;
  format: string;
  provider: string | null;
  credential: string | null;
  model: string;
  upstream_model: string | null;
  stream: boolean;
  status: number;
  error_class: string | null;
  latency_ms: number;
  ttfb_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  retries: number;
  failovers: number;
}

export interface EventsPage {
  events: UsageEvent[];
  /** Opaque cursor for the next (older) page, passed back as `before`. */
  next: string | null;
}

export interface Exchange {
  method?: string;
  url?: string;
  status?: number;
  headers: [string, string][];
  body: string;
  truncated: boolean;
}

export interface Capture {
  request: Exchange;
  attempts: { credential: string; request: Exchange; response: Exchange }[];
  response: Exchange;
}

export interface RequestDetail {
  event: UsageEvent | null;
  log: Capture | null;
}

/** What `importAccountFile` made of a CLIProxyAPI auth file. */
export interface ImportedAccount {
  /** `false`: the login was already here and is now updated. */
  added: boolean;
  account: Account;
}

export interface ImportResult {
  format: "switchyard" | "cliproxyapi";
  read: number;
  added: number;
  skipped: number;
}

export interface TodayUsage {
  requests: number;
  tokens: number;
  input_tokens: number;
  output_tokens: number;
}

/** The export document: CLIProxyAPI's snapshot plus Switchyard's events; read back by `importUsage`. */
export interface UsageExport {
  version: number;
  exported_at: string;
  usage: Record<string, unknown>;
  switchyard?: { version: number; events: UsageEvent[] };
}

// Unset filters may be passed as `undefined`: the client leaves them out of the call.
export interface UsageRange {
  from?: string | undefined;
  to?: string | undefined;
}

export interface EventsQuery extends UsageRange {
  before?: string | undefined;
  limit?: number | undefined;
  model?: string | undefined;
  credential?: string | undefined;
  clientKey?: string | undefined;
  errorsOnly?: boolean | undefined;
}
