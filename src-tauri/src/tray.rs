//! The tray icon and its menu.
//!
//! The menu is a pure function of a small [`TraySnapshot`]: whenever the state it shows changes, the caller
//! builds a new snapshot and calls [`refresh`], which rebuilds the whole menu. Rebuilding (rather than
//! patching individual items) keeps "what the menu shows" in one place as later issues add accounts,
//! usage and toggles.

use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};

/// The id of the one tray icon; [`refresh`] looks it up by this.
const TRAY_ID: &str = "switchyard";

/// Menu item ids, matched in [`on_menu_event`].
const ID_STATUS: &str = "status";
const ID_COPY_ENDPOINT: &str = "copy-endpoint";
const ID_QUIT: &str = "quit";

/// Failure reasons can be long (nested io errors, paths); a menu line should stay readable.
const MAX_REASON_CHARS: usize = 120;

/// The tray's own icon, decoded at compile time so showing the tray cannot fail on a missing file.
const TRAY_ICON: tauri::image::Image<'static> = tauri::include_image!("../icons/tray.png");

/// Where the in-process proxy stands, as far as the tray is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyStatus {
    #[default]
    Starting,
    Running {
        base_url: String,
    },
    Failed {
        reason: String,
    },
}

/// Everything the tray menu shows. Cheap to clone; built by the app whenever state changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraySnapshot {
    pub status: ProxyStatus,
}

impl TraySnapshot {
    /// The disabled first line of the menu.
    pub fn status_line(&self) -> String {
        match &self.status {
            ProxyStatus::Starting => "Starting proxy…".to_owned(),
            ProxyStatus::Running { base_url } => format!("Running on {base_url}"),
            ProxyStatus::Failed { reason } => {
                format!("Proxy failed to start: {}", shorten(reason))
            }
        }
    }

    /// The base URL clients should use, once the proxy listens.
    pub fn endpoint(&self) -> Option<&str> {
        match &self.status {
            ProxyStatus::Running { base_url } => Some(base_url),
            _ => None,
        }
    }
}

/// What a click on a menu item asks the app to do. Kept separate from the Tauri event so the mapping
/// is testable and the app (lib.rs) owns the side effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    CopyEndpoint,
    Quit,
}

impl TrayAction {
    fn from_id(id: &str) -> Option<Self> {
        match id {
            ID_COPY_ENDPOINT => Some(Self::CopyEndpoint),
            ID_QUIT => Some(Self::Quit),
            _ => None,
        }
    }
}

/// First line only, bounded length: the reason comes from error chains we do not control.
fn shorten(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or_default().trim();
    let mut out: String = line.chars().take(MAX_REASON_CHARS).collect();
    if line.chars().count() > MAX_REASON_CHARS {
        out.push('…');
    }
    out
}

/// Menu labels treat `&` as a mnemonic marker (muda turns it into GTK's `_`); dynamic text must not.
fn literal(text: &str) -> String {
    text.replace('&', "&&")
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, snapshot: &TraySnapshot) -> tauri::Result<Menu<R>> {
    let status = MenuItem::with_id(
        app,
        ID_STATUS,
        literal(&snapshot.status_line()),
        false,
        None::<&str>,
    )?;
    let copy = MenuItem::with_id(
        app,
        ID_COPY_ENDPOINT,
        "Copy endpoint",
        snapshot.endpoint().is_some(),
        None::<&str>,
    )?;
    let separator = PredefinedMenuItem::separator(app)?;
    // A plain item rather than PredefinedMenuItem::quit: Quit must shut the proxy down first,
    // and the predefined one exits immediately (and does nothing on Linux).
    let quit = MenuItem::with_id(app, ID_QUIT, "Quit", true, None::<&str>)?;
    Menu::with_items(app, &[&status, &copy, &separator, &quit])
}

/// Creates the tray icon showing `snapshot`. `on_action` runs on the main thread for each click.
pub fn create<R, F>(
    app: &AppHandle<R>,
    snapshot: &TraySnapshot,
    on_action: F,
) -> tauri::Result<TrayIcon<R>>
where
    R: Runtime,
    F: Fn(&AppHandle<R>, TrayAction) + Send + Sync + 'static,
{
    let menu = build_menu(app, snapshot)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(TRAY_ICON)
        .tooltip("Switchyard")
        .menu(&menu)
        // The menu is the whole UI for now, so a left click should open it too (Linux always does).
        .show_menu_on_left_click(true)
        .on_menu_event(move |app: &AppHandle<R>, event: MenuEvent| {
            match TrayAction::from_id(event.id().as_ref()) {
                Some(action) => on_action(app, action),
                None => tracing::debug!(id = ?event.id(), "menu event without an action"),
            }
        })
        .build(app)
}

/// Rebuilds the tray menu from `snapshot`. Safe to call from any thread: Tauri hops to the main thread.
pub fn refresh<R: Runtime>(app: &AppHandle<R>, snapshot: &TraySnapshot) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        // Tray creation failed earlier (already logged); nothing to update.
        return Ok(());
    };
    let menu = build_menu(app, snapshot)?;
    tray.set_menu(Some(menu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_per_state() {
        let running = TraySnapshot {
            status: ProxyStatus::Running {
                base_url: "http://127.0.0.1:8317".into(),
            },
        };
        assert_eq!(running.status_line(), "Running on http://127.0.0.1:8317");
        assert_eq!(running.endpoint(), Some("http://127.0.0.1:8317"));

        let failed = TraySnapshot {
            status: ProxyStatus::Failed {
                reason: "address in use\ncaused by: os error 98".into(),
            },
        };
        assert_eq!(
            failed.status_line(),
            "Proxy failed to start: address in use"
        );
        assert_eq!(failed.endpoint(), None);

        assert_eq!(TraySnapshot::default().endpoint(), None);
    }

    #[test]
    fn long_reasons_are_cut() {
        let reason = "x".repeat(500);
        let line = TraySnapshot {
            status: ProxyStatus::Failed { reason },
        }
        .status_line();
        assert!(line.ends_with('…'));
        assert!(line.chars().count() < 200);
    }

    #[test]
    fn ampersands_stay_literal() {
        assert_eq!(literal("a & b"), "a && b");
    }

    #[test]
    fn actions_by_id() {
        assert_eq!(
            TrayAction::from_id(ID_COPY_ENDPOINT),
            Some(TrayAction::CopyEndpoint)
        );
        assert_eq!(TrayAction::from_id(ID_QUIT), Some(TrayAction::Quit));
        assert_eq!(TrayAction::from_id(ID_STATUS), None);
    }
}
