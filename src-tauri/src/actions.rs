//! What the tray's items do. Each action runs on the main thread, so anything that waits (the
//! service, the proxy, a login) is spawned onto the async runtime.

use std::time::Duration;

use switchyard::accounts::Provider;
use switchyard::service::{AccountPatch, LoginMethodName, LoginState, LoginView};
use tauri::{AppHandle, Manager};
use tauri_plugin_clipboard_manager::ClipboardExt as _;
use tauri_plugin_notification::NotificationExt as _;
use tauri_plugin_opener::OpenerExt as _;

use crate::tray::TrayAction;
use crate::{lock, proxy, DesktopState};

/// How often a login's outcome is looked at, and for how long: the providers' own codes and pages
/// expire within 15 minutes.
const LOGIN_POLL: Duration = Duration::from_secs(1);
const LOGIN_PATIENCE: Duration = Duration::from_secs(15 * 60);

pub fn on_tray_action(app: &AppHandle, action: TrayAction) {
    match action {
        TrayAction::CopyOpenAiUrl => copy(app, "OpenAI base URL", |s| {
            s.endpoint().map(|e| format!("{e}/v1"))
        }),
        TrayAction::CopyAnthropicUrl => copy(app, "Anthropic base URL", |s| {
            s.endpoint().map(str::to_owned)
        }),
        TrayAction::CopyApiKey => copy(app, "API key", |s| s.api_key.clone()),
        TrayAction::SetAccountEnabled { id, enabled } => {
            let patch = AccountPatch {
                enabled: Some(enabled),
                ..AccountPatch::default()
            };
            with_service(app, move |service| async move {
                service.update_account(&id, patch).await.map(drop)
            });
        }
        TrayAction::RemoveAccount { id } => {
            with_service(app, move |service| async move {
                service.remove_account(&id).await
            });
        }
        TrayAction::Login(provider, method) => login(app, provider, method),
        TrayAction::OpenDashboard => crate::show_dashboard(app),
        TrayAction::StartProxy => {
            tauri::async_runtime::spawn(proxy::start(app.clone()));
        }
        TrayAction::StopProxy => {
            tauri::async_runtime::spawn(proxy::stop(app.clone()));
        }
        TrayAction::ToggleAutostart => {
            let enabled = !lock(&app.state::<DesktopState>().snapshot).autostart;
            match crate::set_autostart(app, enabled) {
                Ok(()) => proxy::set_autostart_shown(app, enabled),
                Err(err) => notify(app, "Launch at login", &format!("Cannot change it: {err}")),
            }
        }
        TrayAction::Quit => quit(app),
    }
}

/// Copies what `pick` finds in the shown snapshot. The item is disabled when there is nothing to
/// copy, so `None` is a stale click and harmless.
fn copy(app: &AppHandle, what: &str, pick: impl Fn(&crate::tray::TraySnapshot) -> Option<String>) {
    let Some(text) = pick(&lock(&app.state::<DesktopState>().snapshot)) else {
        return;
    };
    match app.clipboard().write_text(text) {
        // The value itself stays out of the log: it may be a key.
        Ok(()) => tracing::info!("{what} copied to the clipboard"),
        Err(err) => tracing::error!(%err, "cannot write to the clipboard"),
    }
}

/// Runs `call` against the running proxy's service; a failure becomes a notification, since a tray
/// item has nowhere else to say it. The tray redraws itself from the service's change signal.
fn with_service<F, Fut>(app: &AppHandle, call: F)
where
    F: FnOnce(std::sync::Arc<switchyard::service::Service>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = switchyard::service::Result<()>> + Send,
{
    let Some(service) = app.state::<DesktopState>().service() else {
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(err) = call(service).await {
            notify(&app, "Switchyard", &err.message);
        }
    });
}

fn login(app: &AppHandle, provider: Provider, method: LoginMethodName) {
    let Some(service) = app.state::<DesktopState>().service() else {
        return;
    };
    let app = app.clone();
    let name = provider_name(provider);
    tauri::async_runtime::spawn(async move {
        let view = match service.start_login(provider, method).await {
            Ok(view) => view,
            Err(err) => {
                notify(&app, &format!("{name} login"), &err.message);
                return;
            }
        };
        open_login_page(&app, name, &view);
        let deadline = tokio::time::Instant::now() + LOGIN_PATIENCE;
        let outcome = loop {
            match service.login(&view.id) {
                Ok(LoginState::Pending) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(LOGIN_POLL).await;
                }
                Ok(LoginState::Pending) => {
                    // Nobody finished it; free its callback port.
                    let _ = service.cancel_login(&view.id).await;
                    break "The login timed out.".to_owned();
                }
                Ok(LoginState::Succeeded { email, updated, .. }) => {
                    let who = email.unwrap_or_else(|| "your account".into());
                    let verb = if updated {
                        "Logged in again"
                    } else {
                        "Logged in"
                    };
                    break format!("{verb} as {who}.");
                }
                Ok(LoginState::Failed { message }) => break format!("Login failed: {message}"),
                Ok(LoginState::Cancelled) => break "The login was cancelled.".to_owned(),
                Err(err) => break format!("Login failed: {}", err.message),
            }
        };
        notify(&app, &format!("{name} login"), &outcome);
    });
}

/// Browser logins open the provider's page; device logins show the code (and put it on the clipboard,
/// where the page wants it) and open the page to enter it on.
fn open_login_page(app: &AppHandle, name: &str, view: &LoginView) {
    let page = match (&view.user_code, &view.verification_url) {
        (Some(code), Some(url)) => {
            let _ = app.clipboard().write_text(code.clone());
            notify(
                app,
                &format!("{name} login"),
                &format!("Enter the code {code} at {url} (it is on your clipboard)."),
            );
            Some(url)
        }
        _ => view.url.as_ref(),
    };
    if let Some(url) = page {
        if let Err(err) = app.opener().open_url(url.as_str(), None::<&str>) {
            notify(
                app,
                &format!("{name} login"),
                &format!("Cannot open the browser ({err}); open {url} yourself."),
            );
        }
    }
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Claude => "Claude",
        Provider::Codex => "Codex",
    }
}

fn notify(app: &AppHandle, title: &str, body: &str) {
    tracing::info!(title, body, "notification");
    if let Err(err) = app.notification().builder().title(title).body(body).show() {
        // No notification daemon (a bare session): the log line above is all there is.
        tracing::warn!(%err, "cannot show a notification");
    }
}

/// Graceful quit: stop the proxy (letting in-flight streams finish), then exit 0.
pub fn quit(app: &AppHandle) {
    let state = app.state::<DesktopState>();
    if state.quitting() {
        return; // a second click while shutting down
    }
    let proxy = state.detach(true);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(proxy) = proxy {
            tracing::info!("shutting the proxy down");
            proxy.shutdown().await;
        }
        app.exit(0);
    });
}
