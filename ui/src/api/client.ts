import type {
  AccountPatch,
  AccountView,
  Account,
  Bucket,
  ConfigText,
  EventsPage,
  EventsQuery,
  ImportResult,
  ImportedAccount,
  LogLevel,
  LogLine,
  LoginMethod,
  LoginState,
  LoginView,
  ModelView,
  Problem,
  Provider,
  RequestDetail,
  SettingsPatch,
  SettingsView,
  StatusView,
  TodayUsage,
  UsageExport,
  UsageRange,
  UsageSummary,
} from "./types.ts";

/**
 * One management call described for both transports: the IPC command with its camelCase arguments, and
 * the HTTP method, path (relative to /v0/management/switchyard/) and JSON body. Every call is written
 * once, below, so the two transports cannot drift apart.
 */
export interface Call {
  command: string;
  args: Record<string, unknown>;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
}

/** Sends a call and resolves with the decoded result, or rejects with a `ServiceError`. */
export type Transport = (call: Call) => Promise<unknown>;

export interface Api {
  status(): Promise<StatusView>;
  accounts(withQuota: boolean): Promise<AccountView[]>;
  updateAccount(id: string, patch: AccountPatch): Promise<Account>;
  removeAccount(id: string): Promise<null>;
  /** A CLIProxyAPI auth file's name and text: the Claude or Codex login in it becomes an account. */
  importAccountFile(name: string, content: string): Promise<ImportedAccount>;
  startLogin(provider: Provider, method: LoginMethod): Promise<LoginView>;
  loginStatus(id: string): Promise<LoginState>;
  submitLogin(id: string, pasted: string): Promise<null>;
  cancelLogin(id: string): Promise<null>;
  models(): Promise<ModelView[]>;
  config(): Promise<ConfigText>;
  checkConfig(yaml: string): Promise<Problem[]>;
  saveConfig(yaml: string): Promise<Problem[]>;
  settings(): Promise<SettingsView>;
  updateSettings(patch: SettingsPatch): Promise<{ settings: SettingsView; warnings: Problem[] }>;
  apiKeys(): Promise<string[]>;
  createApiKey(): Promise<{ key: string }>;
  revokeApiKey(key: string): Promise<null>;
  logs(after: number, level: LogLevel, limit: number): Promise<LogLine[]>;
  usageSummary(range: UsageRange, bucket?: Bucket): Promise<UsageSummary>;
  usageEvents(query: EventsQuery): Promise<EventsPage>;
  usageEvent(id: string): Promise<RequestDetail>;
  usageSince(from: string): Promise<TodayUsage>;
  exportUsage(range: UsageRange): Promise<UsageExport>;
  /** `document` is whatever JSON the file held: the service tells a Switchyard export from CLIProxyAPI's. */
  importUsage(document: unknown): Promise<ImportResult>;
}

/**
 * The arguments that are set, for IPC as they are (camelCase) and for HTTP as a snake_case query;
 * an unset filter is left out rather than sent empty.
 */
function optional(args: Record<string, string | number | boolean | undefined>): {
  args: Record<string, string | number | boolean>;
  query: string;
} {
  const set: Record<string, string | number | boolean> = {};
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined) continue;
    set[name] = value;
    query.set(name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), String(value));
  }
  const q = query.toString();
  return { args: set, query: q ? `?${q}` : "" };
}

const seg = encodeURIComponent;

export function createApi(send: Transport): Api {
  // The transports decode JSON; the result types are the service's contract, not checked at runtime.
  const call = <T>(c: Call): Promise<T> => send(c) as Promise<T>;
  /** A POST whose JSON body is exactly the command's arguments. */
  const post = <T>(command: string, path: string, args: Record<string, unknown>): Promise<T> =>
    call({ command, args, method: "POST", path, body: args });
  return {
    status: () => call({ command: "status", args: {}, method: "GET", path: "status" }),
    accounts: (withQuota) =>
      call({
        command: "accounts",
        args: { withQuota },
        method: "GET",
        path: withQuota ? "accounts?quota=true" : "accounts",
      }),
    updateAccount: (id, patch) =>
      call({
        command: "update_account",
        args: { id, patch },
        method: "PATCH",
        path: `accounts/${seg(id)}`,
        body: patch,
      }),
    removeAccount: (id) =>
      call({ command: "remove_account", args: { id }, method: "DELETE", path: `accounts/${seg(id)}` }),
    importAccountFile: (name, content) => post("import_account_file", "accounts/import", { name, content }),
    startLogin: (provider, method) => post("start_login", "logins", { provider, method }),
    loginStatus: (id) =>
      call({ command: "login_status", args: { id }, method: "GET", path: `logins/${seg(id)}` }),
    submitLogin: (id, pasted) =>
      call({
        command: "submit_login",
        args: { id, pasted },
        method: "POST",
        path: `logins/${seg(id)}/paste`,
        body: { pasted },
      }),
    cancelLogin: (id) =>
      call({ command: "cancel_login", args: { id }, method: "DELETE", path: `logins/${seg(id)}` }),
    models: () => call({ command: "models", args: {}, method: "GET", path: "models" }),
    config: () => call({ command: "config", args: {}, method: "GET", path: "config" }),
    checkConfig: (yaml) =>
      call({ command: "check_config", args: { yaml }, method: "POST", path: "config/check", body: { yaml } }),
    saveConfig: (yaml) =>
      call({ command: "save_config", args: { yaml }, method: "PUT", path: "config", body: { yaml } }),
    settings: () => call({ command: "settings", args: {}, method: "GET", path: "settings" }),
    updateSettings: (patch) =>
      call({ command: "update_settings", args: { patch }, method: "PATCH", path: "settings", body: patch }),
    apiKeys: () => call({ command: "api_keys", args: {}, method: "GET", path: "api-keys" }),
    createApiKey: () => call({ command: "create_api_key", args: {}, method: "POST", path: "api-keys" }),
    revokeApiKey: (key) =>
      call({ command: "revoke_api_key", args: { key }, method: "DELETE", path: "api-keys", body: { key } }),
    logs: (after, level, limit) =>
      call({
        command: "logs",
        args: { after, level, limit },
        method: "GET",
        path: `logs?${new URLSearchParams({ after: String(after), level, limit: String(limit) })}`,
      }),
    usageSummary: ({ from, to }, bucket) => {
      const o = optional({ from, to, bucket });
      return call({ command: "usage_summary", args: o.args, method: "GET", path: `usage${o.query}` });
    },
    usageEvents: (q) => {
      const o = optional({
        before: q.before,
        limit: q.limit,
        model: q.model,
        credential: q.credential,
        clientKey: q.clientKey,
        // `false` is the default: leaving it out keeps the query short.
        errorsOnly: q.errorsOnly ? true : undefined,
        from: q.from,
        to: q.to,
      });
      return call({ command: "usage_events", args: o.args, method: "GET", path: `usage/events${o.query}` });
    },
    usageEvent: (id) =>
      call({ command: "usage_event", args: { id }, method: "GET", path: `usage/events/${seg(id)}` }),
    usageSince: (from) => {
      const o = optional({ from });
      return call({ command: "usage_since", args: o.args, method: "GET", path: `usage/since${o.query}` });
    },
    exportUsage: ({ from, to }) => {
      const o = optional({ from, to });
      return call({ command: "export_usage", args: o.args, method: "GET", path: `usage/export${o.query}` });
    },
    importUsage: (document) =>
      call({ command: "import_usage", args: { document }, method: "POST", path: "usage/import", body: document }),
  };
}
