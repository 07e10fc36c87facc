//! Switchyard's desktop shell: a tray app that runs the core proxy in-process.
//!
//! Lifecycle: on launch the tray appears at once (showing "Starting…"), the proxy starts on Tauri's tokio
//! runtime, and the tray menu is rebuilt with the bound endpoint or the failure, then again whenever the
//! service reports a change (and every minute, for quotas). Quit shuts the proxy down gracefully
//! (in-flight streams finish, bounded by the core) before the process exits.

mod actions;
mod cli;
mod commands;
mod proxy;
mod tray;
mod tray_usage;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use switchyard::service::Service;
use switchyard::RunningProxy;
use tauri::{App, AppHandle, Manager, RunEvent, Runtime, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_autostart::ManagerExt as _;

use tray::TraySnapshot;

/// Label of the main window declared in tauri.conf.json.
const MAIN_WINDOW: &str = "main";

/// App-wide state, managed by Tauri.
#[derive(Default)]
pub(crate) struct DesktopState {
    proxy: Mutex<ProxySlot>,
    /// What the tray shows right now; actions (copy) read from it so they match what the user saw.
    snapshot: Mutex<TraySnapshot>,
    config_path: Option<PathBuf>,
    /// Whether a tray is on screen; without one, closing the window quits instead of hiding it.
    tray_shown: AtomicBool,
}

/// The proxy handle plus the "Quit was clicked" flag, under one lock so a proxy that finishes starting
/// while the app quits is never stored after Quit already looked for it.
#[derive(Default)]
struct ProxySlot {
    running: Option<Running>,
    quitting: bool,
}

struct Running {
    proxy: RunningProxy,
    /// Dropping it stops the task that redraws the tray on the service's changes.
    _watch: tokio::sync::oneshot::Sender<()>,
}

impl DesktopState {
    pub fn new(config_path: Option<PathBuf>) -> Self {
        DesktopState {
            config_path,
            ..DesktopState::default()
        }
    }

    /// The running proxy's service, `None` while it starts or is stopped.
    pub fn service(&self) -> Option<Arc<Service>> {
        lock(&self.proxy)
            .running
            .as_ref()
            .map(|r| r.proxy.service())
    }

    /// Hands a proxy the tests started themselves to the commands, with no tray to redraw.
    #[cfg(test)]
    fn attach(&self, proxy: RunningProxy) -> Result<(), Box<RunningProxy>> {
        self.attach_watched(proxy, tokio::sync::oneshot::channel().0)
    }

    /// Stores the started proxy and the stop signal of its tray watch; hands the proxy back if the
    /// app is quitting.
    fn attach_watched(
        &self,
        proxy: RunningProxy,
        watch: tokio::sync::oneshot::Sender<()>,
    ) -> Result<(), Box<RunningProxy>> {
        let mut slot = lock(&self.proxy);
        if slot.quitting {
            return Err(Box::new(proxy));
        }
        slot.running = Some(Running {
            proxy,
            _watch: watch,
        });
        Ok(())
    }

    /// Takes the proxy out (to stop it); with `quitting`, no proxy can be attached afterwards.
    fn detach(&self, quitting: bool) -> Option<RunningProxy> {
        let mut slot = lock(&self.proxy);
        slot.quitting |= quitting;
        slot.running.take().map(|r| r.proxy)
    }

    fn quitting(&self) -> bool {
        lock(&self.proxy).quitting
    }
}

/// Locks ignoring poisoning: the guarded values are plain data that stay consistent even if a holder
/// panicked, and a tray app should keep quitting cleanly rather than cascade the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the desktop app until Quit; returns the process exit code.
pub fn run() -> ExitCode {
    init_tracing();
    let options = match cli::parse(
        std::env::args_os().skip(1),
        std::env::var_os(cli::CONFIG_ENV),
    ) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("switchyard-desktop: {err}");
            return ExitCode::from(2);
        }
    };
    let dashboard = options.dashboard;

    let app = match tauri::Builder::default()
        // First, so a second launch hands over before this one sets anything up.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_dashboard(app);
        }))
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(DesktopState::new(options.config_path))
        .invoke_handler(commands::handler())
        .on_window_event(on_window_event)
        .setup(move |app| {
            setup(app, dashboard);
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

fn setup(app: &mut App, dashboard: bool) {
    // Tray only: no Dock icon, no app menu, until the dashboard opens.
    #[cfg(target_os = "macos")]
    app.set_activation_policy(tauri::ActivationPolicy::Accessory);

    let handle = app.handle().clone();
    let state = handle.state::<DesktopState>();
    {
        let mut snapshot = lock(&state.snapshot);
        snapshot.autostart = handle.autolaunch().is_enabled().unwrap_or(false);
    }
    let snapshot = lock(&state.snapshot).clone();
    let tray_shown = match tray::create(&handle, &snapshot, actions::on_tray_action) {
        Ok(_) => tray_host_present(),
        Err(err) => {
            tracing::error!(%err, "cannot create the tray icon");
            false
        }
    };
    state.tray_shown.store(tray_shown, Ordering::Relaxed);
    if dashboard || !tray_shown {
        // Without a tray the window is the only way in; launching must not look like nothing happened.
        show_dashboard(&handle);
    }
    // Start asynchronously so the tray shows at once; the menu is rebuilt when the outcome is known.
    tauri::async_runtime::spawn(proxy::start(handle));
}

/// Whether something on the session bus shows tray icons. Only Linux desktops can lack one (GNOME without
/// the AppIndicator extension); there the icon registers with nobody and the app would seem to vanish.
#[cfg(target_os = "linux")]
fn tray_host_present() -> bool {
    let ask = || -> zbus::Result<bool> {
        let bus = zbus::blocking::Connection::session()?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&bus)?;
        Ok(dbus.name_has_owner("org.kde.StatusNotifierWatcher".try_into()?)?)
    };
    ask().unwrap_or_else(|err| {
        tracing::warn!(%err, "cannot ask the session bus for a tray host");
        false
    })
}

#[cfg(not(target_os = "linux"))]
fn tray_host_present() -> bool {
    true
}

/// Shows (creating it on first use) and focuses the main window.
fn show_dashboard<R: Runtime>(app: &AppHandle<R>) {
    let window = match app.get_webview_window(MAIN_WINDOW) {
        Some(window) => window,
        None => {
            let Some(config) = app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == MAIN_WINDOW)
            else {
                tracing::error!("tauri.conf.json defines no `{MAIN_WINDOW}` window");
                return;
            };
            match WebviewWindowBuilder::from_config(app, config).and_then(|b| b.build()) {
                Ok(window) => window,
                Err(err) => {
                    tracing::error!(%err, "cannot create the main window");
                    return;
                }
            }
        }
    };
    // While a window is open the app behaves like a normal one: Dock icon, Cmd-Tab.
    #[cfg(target_os = "macos")]
    let _ = app.set_activation_policy(tauri::ActivationPolicy::Regular);
    for result in [window.show(), window.unminimize(), window.set_focus()] {
        if let Err(err) = result {
            tracing::warn!(%err, "cannot bring the main window forward");
        }
    }
}

fn on_window_event(window: &tauri::Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    if !app
        .state::<DesktopState>()
        .tray_shown
        .load(Ordering::Relaxed)
    {
        // No tray to come back through: closing the window is quitting.
        api.prevent_close();
        actions::quit(app);
        return;
    }
    // The tray keeps the app (and the proxy) alive; the window only hides.
    api.prevent_close();
    if let Err(err) = window.hide() {
        tracing::warn!(%err, "cannot hide the main window");
    }
    #[cfg(target_os = "macos")]
    let _ = app.set_activation_policy(tauri::ActivationPolicy::Accessory);
}

/// Turns the autostart check item or command into the plugin's enable/disable.
pub(crate) fn set_autostart<R: Runtime>(
    app: &AppHandle<R>,
    enabled: bool,
) -> Result<(), tauri_plugin_autostart::Error> {
    let launcher = app.autolaunch();
    if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    }
}

fn on_run_event(app: &AppHandle, event: RunEvent) {
    match event {
        // `code: None` means the last window was closed; a tray app keeps running. Quit passes a code.
        RunEvent::ExitRequested {
            code: None, api, ..
        } if app
            .state::<DesktopState>()
            .tray_shown
            .load(Ordering::Relaxed) =>
        {
            api.prevent_exit()
        }
        // Exiting by another path than Quit (e.g. the session ending): still stop the proxy cleanly.
        RunEvent::Exit => {
            if let Some(proxy) = app.state::<DesktopState>().detach(true) {
                tauri::async_runtime::block_on(proxy.shutdown());
            }
        }
        _ => {}
    }
}
