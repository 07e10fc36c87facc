//! Switchyard's desktop shell: a tray app that runs the core proxy in-process.
//!
//! Lifecycle: on launch the tray appears at once (showing "Starting…"), the proxy starts on Tauri's tokio
//! runtime, and the tray menu is rebuilt with the bound endpoint or the failure. Quit shuts the proxy down
//! gracefully (in-flight streams finish, bounded by the core) before the process exits.

mod cli;
mod tray;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};

use switchyard::{RunningProxy, StartOptions};
use tauri::{App, AppHandle, Manager, RunEvent, WebviewWindowBuilder};
use tauri_plugin_clipboard_manager::ClipboardExt;

use tray::{ProxyStatus, TrayAction, TraySnapshot};

/// Label of the (hidden) main window declared in tauri.conf.json.
const MAIN_WINDOW: &str = "main";

/// App-wide state, managed by Tauri.
#[derive(Default)]
struct AppState {
    proxy: Mutex<ProxySlot>,
    /// What the tray shows right now; actions (copy) read from it so they match what the user saw.
    snapshot: Mutex<TraySnapshot>,
}

/// The proxy handle plus the "Quit was clicked" flag, under one lock so a proxy that finishes starting
/// while the app quits is never stored after Quit already looked for it.
#[derive(Default)]
struct ProxySlot {
    running: Option<RunningProxy>,
    quitting: bool,
}

/// Locks ignoring poisoning: the guarded values are plain data that stay consistent even if a holder
/// panicked, and a tray app should keep quitting cleanly rather than cascade the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the desktop app until Quit; returns the process exit code.
pub fn run() -> ExitCode {
    init_tracing();
    let config_path = match cli::config_path(
        std::env::args_os().skip(1),
        std::env::var_os(cli::CONFIG_ENV),
    ) {
        Ok(path) => path,
        Err(err) => {
            eprintln!("switchyard-desktop: {err}");
            return ExitCode::from(2);
        }
    };

    let app = match tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(AppState::default())
        .setup(move |app| {
            setup(app, config_path);
            Ok(())
        })
        .build(tauri::generate_context!())
    {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(%err, "cannot initialise the desktop app");
            return ExitCode::FAILURE;
        }
    };

    let code = app.run_return(on_run_event);
    // Exit codes outside 0..=255 cannot be represented portably; treat them as plain failure.
    u8::try_from(code).map_or(ExitCode::FAILURE, ExitCode::from)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // try_init: if a subscriber is already set there is nothing better to do than keep it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn setup(app: &mut App, config_path: Option<PathBuf>) {
    // A tray-only app: no Dock icon, no app menu.
    #[cfg(target_os = "macos")]
    app.set_activation_policy(tauri::ActivationPolicy::Accessory);

    let handle = app.handle().clone();
    let snapshot = lock(&handle.state::<AppState>().snapshot).clone();
    if let Err(err) = tray::create(&handle, &snapshot, on_tray_action) {
        // Without its tray the app has no UI and no way to quit; running on invisibly would be worse.
        tracing::error!(%err, "cannot create the tray icon");
        handle.exit(1);
        return;
    }
    // Start asynchronously so the tray shows at once; the menu is rebuilt when the outcome is known.
    tauri::async_runtime::spawn(start_proxy(handle, config_path));
}

async fn start_proxy(app: AppHandle, config_path: Option<PathBuf>) {
    let options = StartOptions {
        config_path,
        ..StartOptions::default()
    };
    let status = match switchyard::start(options).await {
        Ok(proxy) => {
            let base_url = proxy.base_url();
            tracing::info!(%base_url, config = %proxy.config_path().display(), "proxy listening");
            let late = {
                let state = app.state::<AppState>();
                let mut slot = lock(&state.proxy);
                if slot.quitting {
                    Some(proxy)
                } else {
                    slot.running = Some(proxy);
                    None
                }
            };
            if let Some(proxy) = late {
                // Quit was clicked while we were starting: Quit found nothing to stop, so stop it here.
                proxy.shutdown().await;
                return;
            }
            ProxyStatus::Running { base_url }
        }
        Err(err) => {
            let reason = error_chain(&err);
            tracing::error!(%reason, "proxy failed to start");
            ProxyStatus::Failed { reason }
        }
    };
    let snapshot = TraySnapshot { status };
    *lock(&app.state::<AppState>().snapshot) = snapshot.clone();
    if let Err(err) = tray::refresh(&app, &snapshot) {
        tracing::error!(%err, "cannot update the tray menu");
    }
    create_main_window(&app, &snapshot);
}

/// "outer: inner: innermost", skipping sources whose text the outer message already includes
/// (error enums often format their source inline).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Creates the hidden main window from its tauri.conf.json definition (which has `create: false`), so
/// the page gets the proxy's status through an initialization script: it needs no IPC permission.
fn create_main_window(app: &AppHandle, snapshot: &TraySnapshot) {
    let Some(config) = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
        .cloned()
    else {
        tracing::warn!("tauri.conf.json defines no `{MAIN_WINDOW}` window");
        return;
    };
    let page_state = PageState {
        status: snapshot.status_line(),
        endpoint: snapshot.endpoint().map(str::to_owned),
    };
    let script = match serde_json::to_string(&page_state) {
        Ok(json) => format!("window.__SWITCHYARD__ = Object.freeze({json});"),
        Err(err) => {
            tracing::warn!(%err, "cannot encode the page state");
            return;
        }
    };
    let built = WebviewWindowBuilder::from_config(app, &config)
        .and_then(|builder| builder.initialization_script(script).build());
    if let Err(err) = built {
        // The tray and the proxy work without the page; log and carry on.
        tracing::warn!(%err, "cannot create the main window");
    }
}

/// What the placeholder page shows (ui/app.js reads `window.__SWITCHYARD__`).
#[derive(serde::Serialize)]
struct PageState {
    status: String,
    endpoint: Option<String>,
}

fn on_tray_action(app: &AppHandle, action: TrayAction) {
    match action {
        TrayAction::CopyEndpoint => copy_endpoint(app),
        TrayAction::Quit => quit(app),
    }
}

fn copy_endpoint(app: &AppHandle) {
    let endpoint = lock(&app.state::<AppState>().snapshot)
        .endpoint()
        .map(str::to_owned);
    let Some(endpoint) = endpoint else {
        // The item is disabled in that state; a stale click is harmless.
        return;
    };
    match app.clipboard().write_text(endpoint.as_str()) {
        Ok(()) => tracing::info!(%endpoint, "endpoint copied to the clipboard"),
        Err(err) => tracing::error!(%err, "cannot write to the clipboard"),
    }
}

/// Graceful quit: stop the proxy (letting in-flight streams finish), then exit 0.
fn quit(app: &AppHandle) {
    let proxy = {
        let state = app.state::<AppState>();
        let mut slot = lock(&state.proxy);
        if slot.quitting {
            return; // a second click while shutting down
        }
        slot.quitting = true;
        slot.running.take()
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(proxy) = proxy {
            tracing::info!("shutting the proxy down");
            proxy.shutdown().await;
        }
        app.exit(0);
    });
}

fn on_run_event(app: &AppHandle, event: RunEvent) {
    match event {
        // `code: None` means the last window was closed; a tray app keeps running. Quit passes a code.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        // Exiting by another path than Quit (e.g. the session ending): still stop the proxy cleanly.
        RunEvent::Exit => {
            let proxy = lock(&app.state::<AppState>().proxy).running.take();
            if let Some(proxy) = proxy {
                tauri::async_runtime::block_on(proxy.shutdown());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn error_chain_joins_without_repeating() {
        let err = Layer(
            "cannot bind 127.0.0.1:8317: address in use",
            Some(Box::new(Layer(
                "address in use",
                Some(Box::new(Layer("os error 98", None))),
            ))),
        );
        assert_eq!(
            error_chain(&err),
            "cannot bind 127.0.0.1:8317: address in use: os error 98"
        );
    }
}
