/// The IPC commands (src/commands.rs). Declaring them makes Tauri generate an `allow-<command>`
/// permission for each and refuse any command a capability does not grant, instead of allowing every
/// app command to every window.
const COMMANDS: &[&str] = &[
    "status",
    "accounts",
    "update_account",
    "remove_account",
    "start_login",
    "login_status",
    "submit_login",
    "cancel_login",
    "models",
    "config",
    "check_config",
    "save_config",
    "settings",
    "update_settings",
    "api_keys",
    "create_api_key",
    "revoke_api_key",
    "logs",
    "usage_summary",
    "usage_events",
    "usage_event",
    "usage_since",
    "export_usage",
    "import_usage",
    "autostart_get",
    "autostart_set",
    "open_url",
];

fn main() {
    // Generates the context (config, ACL from capabilities/, icons) that `tauri::generate_context!` embeds.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(err) = tauri_build::try_build(attributes) {
        // build.rs reports to cargo by panicking; the message is what matters.
        panic!("tauri-build: {err:#}");
    }
}
