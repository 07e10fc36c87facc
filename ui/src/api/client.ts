import type {
  AccountPatch,
  AccountView,
  Account,
  ConfigText,
  LogLevel,
  LogLine,
  LoginMethod,
  LoginState,
  LoginView,
  ModelView,
  Problem,
  Provider,
  SettingsPatch,
  SettingsView,
  StatusView,
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
}

const seg = encodeURIComponent;

export function createApi(send: Transport): Api {
  // The transports decode JSON; the result types are the service's contract, not checked at runtime.
  const call = <T>(c: Call): Promise<T> => send(c) as Promise<T>;
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
    startLogin: (provider, method) =>
      call({
        command: "start_login",
        args: { provider, method },
        method: "POST",
        path: "logins",
        body: { provider, method },
      }),
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
  };
}
