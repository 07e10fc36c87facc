//! Starting and stopping the in-process proxy, and keeping the tray's snapshot in step with it.

use std::sync::Arc;
use std::time::Duration;

use switchyard::accounts::Status;
use switchyard::service::{AccountView, Service};
use switchyard::StartOptions;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;
use time::OffsetDateTime;

use crate::tray::{self, AccountLine, ProxyStatus, TraySnapshot};
use crate::tray_usage;
use crate::{lock, DesktopState};

/// How often quotas are asked for while nothing else changes; the tray's usage line is read again with
/// them.
const QUOTA_EVERY: Duration = Duration::from_secs(60);

/// Starts the proxy with the app's config and shows the outcome in the tray.
pub async fn start(app: AppHandle) {
    set_status(&app, ProxyStatus::Starting);
    let state = app.state::<DesktopState>();
    let options = StartOptions {
        config_path: state.config_path.clone(),
        ..StartOptions::default()
    };
    match switchyard::start(options).await {
        Ok(proxy) => {
            let base_url = proxy.base_url();
            tracing::info!(%base_url, config = %proxy.config_path().display(), "proxy listening");
            let service = proxy.service();
            let (stop, stopped) = tokio::sync::oneshot::channel();
            if let Err(proxy) = state.attach_watched(proxy, stop) {
                // Quit was clicked while we were starting: Quit found nothing to stop, so stop it here.
                proxy.shutdown().await;
                return;
            }
            set_status(&app, ProxyStatus::Running { base_url });
            tauri::async_runtime::spawn(watch(app.clone(), service, stopped));
        }
        Err(err) => {
            // The same joining the core uses for upstream errors: causes are often already in the message.
            let reason = switchyard::routing::error_chain(&err);
            tracing::error!(%reason, "proxy failed to start");
            set_status(&app, ProxyStatus::Failed { reason });
        }
    }
}

/// Stops the proxy (in-flight requests finish) and shows it stopped.
pub async fn stop(app: AppHandle) {
    let Some(proxy) = app.state::<DesktopState>().detach(false) else {
        return;
    };
    tracing::info!("stopping the proxy");
    proxy.shutdown().await;
    set_status(&app, ProxyStatus::Stopped);
}

/// Redraws the tray from the service: at once, on every change it reports, and every minute with
/// quotas (which cost the providers a request, so a change asks only for accounts showing none yet). Ends when `stopped` fires or
/// its sender is dropped, i.e. when the proxy is stopped.
async fn watch(
    app: AppHandle,
    service: Arc<Service>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let mut changes = service.changes();
    let mut quota_tick = tokio::time::interval(QUOTA_EVERY);
    quota_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    redraw(&app, &service, false).await;
    loop {
        let with_quota = tokio::select! {
            _ = &mut stopped => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                false
            }
            _ = quota_tick.tick() => true,
        };
        redraw(&app, &service, with_quota).await;
        if !with_quota && missing_quota(&app) {
            // A new login shows its quota now rather than within the minute; the service caches
            // quotas briefly, so accounts that have one cost no extra request.
            redraw(&app, &service, true).await;
        }
    }
}

/// Whether an enabled account in the tray has no quota shown yet.
fn missing_quota(app: &AppHandle) -> bool {
    let state = app.state::<DesktopState>();
    let snapshot = lock(&state.snapshot);
    snapshot
        .accounts
        .iter()
        .any(|line| line.quota.is_none() && !line.disabled)
}

/// Rebuilds the snapshot's service-backed parts. Without `with_quota` the quotas already shown are
/// kept, so a change does not blank them until the next minute.
pub async fn redraw(app: &AppHandle, service: &Service, with_quota: bool) {
    let accounts = service.accounts(with_quota).await.unwrap_or_else(|err| {
        tracing::warn!(%err, "cannot list the accounts for the tray");
        Vec::new()
    });
    let api_key = match service.api_keys().await {
        Ok(keys) => keys.into_iter().next(),
        Err(err) => {
            tracing::warn!(%err, "cannot read the client keys for the tray");
            None
        }
    };
    let usage_today = tray_usage::today_line(service).await;
    let autostart = app.autolaunch().is_enabled().unwrap_or(false);
    let state = app.state::<DesktopState>();
    let snapshot = {
        let mut snapshot = lock(&state.snapshot);
        if !matches!(snapshot.status, ProxyStatus::Running { .. }) {
            // Stopped while the service was being asked: a stopped proxy shows no accounts.
            return;
        }
        let now = OffsetDateTime::now_utc();
        let lines = accounts
            .iter()
            .map(|view| {
                let mut line = account_line(view, now);
                if !with_quota {
                    line.quota = snapshot
                        .accounts
                        .iter()
                        .find(|old| old.id == line.id)
                        .and_then(|old| old.quota.clone());
                }
                line
            })
            .collect();
        snapshot.accounts = lines;
        snapshot.api_key = api_key;
        snapshot.usage_today = usage_today;
        snapshot.autostart = autostart;
        snapshot.clone()
    };
    show(app, &snapshot);
}

fn account_line(view: &AccountView, now: OffsetDateTime) -> AccountLine {
    let account = &view.account;
    AccountLine {
        id: account.id.as_str().to_owned(),
        provider: account.provider,
        email: account.identity.email.clone(),
        quota: view.quota.as_ref().map(|q| q.summary(now)),
        needs_login: account.status == Status::NeedsLogin,
        disabled: account.settings.disabled,
        status: match account.status {
            Status::Ok => "ok",
            Status::NeedsLogin => "needs login",
            Status::Error => "error",
        }
        .to_owned(),
    }
}

/// Sets the proxy status; a proxy that is not running has no accounts or keys to offer.
fn set_status(app: &AppHandle, status: ProxyStatus) {
    let state = app.state::<DesktopState>();
    let snapshot = {
        let mut snapshot = lock(&state.snapshot);
        if !matches!(status, ProxyStatus::Running { .. }) {
            snapshot.accounts.clear();
            snapshot.api_key = None;
            snapshot.usage_today = None;
        }
        snapshot.status = status;
        snapshot.clone()
    };
    show(app, &snapshot);
}

/// Toggles the autostart flag in the snapshot after the check item changed it.
pub fn set_autostart_shown(app: &AppHandle, enabled: bool) {
    let snapshot = {
        let state = app.state::<DesktopState>();
        let mut snapshot = lock(&state.snapshot);
        snapshot.autostart = enabled;
        snapshot.clone()
    };
    show(app, &snapshot);
}

fn show(app: &AppHandle, snapshot: &TraySnapshot) {
    if let Err(err) = tray::refresh(app, snapshot) {
        tracing::error!(%err, "cannot update the tray menu");
    }
}
