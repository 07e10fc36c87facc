//! The tray icon and its menu.
//!
//! The menu is a pure function of a [`TraySnapshot`]: whenever the state it shows changes, the app builds a
//! new snapshot and calls [`refresh`], which rebuilds the whole menu and icon. Rebuilding (rather than
//! patching individual items) keeps "what the menu shows" in one place, and [`menu_model`] makes that
//! place testable without a display.

use switchyard::accounts::Provider;
use switchyard::service::LoginMethodName;
use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu,
};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};

/// The id of the one tray icon; [`refresh`] looks it up by this.
const TRAY_ID: &str = "switchyard";

/// Failure reasons can be long (nested io errors, paths); a menu line should stay readable.
const MAX_REASON_CHARS: usize = 120;

// Icons are decoded at compile time, so showing the tray cannot fail on a missing file.
#[cfg(not(target_os = "macos"))]
const ICON_RUNNING: Image<'static> = tauri::include_image!("../icons/tray-running.png");
#[cfg(not(target_os = "macos"))]
const ICON_ATTENTION: Image<'static> = tauri::include_image!("../icons/tray-attention.png");
#[cfg(not(target_os = "macos"))]
const ICON_STOPPED: Image<'static> = tauri::include_image!("../icons/tray-stopped.png");
/// macOS tints menu bar templates itself; the coloured tiles would look foreign there.
#[cfg(target_os = "macos")]
const ICON_TEMPLATE: Image<'static> = tauri::include_image!("../icons/tray-template.png");

/// Where the in-process proxy stands, as far as the tray is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyStatus {
    #[default]
    Starting,
    Running {
        base_url: String,
    },
    /// Stopped from the tray.
    Stopped,
    Failed {
        reason: String,
    },
}

/// One account line, already reduced to what the menu shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLine {
    pub id: String,
    pub provider: Provider,
    pub email: Option<String>,
    /// e.g. `5h 12% · 7d 40%`, when the quota is known.
    pub quota: Option<String>,
    pub needs_login: bool,
    pub disabled: bool,
    /// `ok`, `needs login`, `error`.
    pub status: String,
}

/// Everything the tray shows. Cheap to clone; built by the app whenever state changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraySnapshot {
    pub status: ProxyStatus,
    pub accounts: Vec<AccountLine>,
    /// The first client key; the menu only says whether there is one, the copy action reads it.
    pub api_key: Option<String>,
    pub autostart: bool,
    /// "Today: 12.3k tokens · 45 requests" (see tray_usage), `None` while usage history is off.
    pub usage_today: Option<String>,
}

/// Which icon the tray shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconState {
    Running,
    Attention,
    Stopped,
}

impl TraySnapshot {
    /// The disabled first line of the menu.
    pub fn status_line(&self) -> String {
        match &self.status {
            ProxyStatus::Starting => "Starting proxy…".to_owned(),
            ProxyStatus::Running { base_url } => format!("Running on {base_url}"),
            ProxyStatus::Stopped => "Proxy stopped".to_owned(),
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

    pub fn icon_state(&self) -> IconState {
        // An enabled account that needs a login stops serving; that is worth the user's eye even
        // while the proxy runs. A disabled one was switched off on purpose.
        let needs_login = self.accounts.iter().any(|a| a.needs_login && !a.disabled);
        match &self.status {
            ProxyStatus::Failed { .. } => IconState::Attention,
            ProxyStatus::Running { .. } if needs_login => IconState::Attention,
            ProxyStatus::Running { .. } => IconState::Running,
            ProxyStatus::Starting | ProxyStatus::Stopped => IconState::Stopped,
        }
    }

    fn running(&self) -> bool {
        matches!(self.status, ProxyStatus::Running { .. })
    }
}

impl AccountLine {
    /// `claude · you@example.com · 5h 12% · ok`
    pub fn label(&self) -> String {
        let mut parts = vec![self.provider.as_str().to_owned()];
        parts.extend(self.email.clone());
        parts.extend(self.quota.clone());
        parts.push(if self.disabled {
            "disabled".to_owned()
        } else {
            self.status.clone()
        });
        parts.join(" · ")
    }
}

/// What a click on a menu item asks the app to do. Kept separate from the Tauri event so the mapping
/// is testable and the app (lib.rs) owns the side effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    CopyOpenAiUrl,
    CopyAnthropicUrl,
    CopyApiKey,
    SetAccountEnabled { id: String, enabled: bool },
    RemoveAccount { id: String },
    Login(Provider, LoginMethodName),
    OpenDashboard,
    StartProxy,
    StopProxy,
    ToggleAutostart,
    Quit,
}

impl TrayAction {
    /// The menu item id that carries this action. Account ids are `[a-z0-9._-]`, so `:` separates.
    fn id(&self) -> String {
        match self {
            Self::CopyOpenAiUrl => "copy-openai".into(),
            Self::CopyAnthropicUrl => "copy-anthropic".into(),
            Self::CopyApiKey => "copy-key".into(),
            Self::SetAccountEnabled { id, enabled: true } => format!("enable:{id}"),
            Self::SetAccountEnabled { id, enabled: false } => format!("disable:{id}"),
            Self::RemoveAccount { id } => format!("remove:{id}"),
            Self::Login(provider, LoginMethodName::Device) => format!("login-device:{provider}"),
            Self::Login(provider, _) => format!("login:{provider}"),
            Self::OpenDashboard => "dashboard".into(),
            Self::StartProxy => "start".into(),
            Self::StopProxy => "stop".into(),
            Self::ToggleAutostart => "autostart".into(),
            Self::Quit => "quit".into(),
        }
    }

    fn from_id(id: &str) -> Option<Self> {
        let simple = [
            Self::CopyOpenAiUrl,
            Self::CopyAnthropicUrl,
            Self::CopyApiKey,
            Self::OpenDashboard,
            Self::StartProxy,
            Self::StopProxy,
            Self::ToggleAutostart,
            Self::Quit,
        ];
        if let Some(action) = simple.into_iter().find(|a| a.id() == id) {
            return Some(action);
        }
        let (kind, arg) = id.split_once(':')?;
        let provider = || arg.parse::<Provider>().ok();
        let id = arg.to_owned();
        match kind {
            "enable" => Some(Self::SetAccountEnabled { id, enabled: true }),
            "disable" => Some(Self::SetAccountEnabled { id, enabled: false }),
            "remove" => Some(Self::RemoveAccount { id }),
            "login" => Some(Self::Login(provider()?, LoginMethodName::Browser)),
            "login-device" => Some(Self::Login(provider()?, LoginMethodName::Device)),
            _ => None,
        }
    }
}

/// The menu as plain data: what [`build_menu`] turns into Tauri items, and what the tests read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A disabled line of text.
    Info(String),
    Item {
        label: String,
        action: TrayAction,
        enabled: bool,
    },
    Check {
        label: String,
        action: TrayAction,
        checked: bool,
    },
    Submenu {
        label: String,
        entries: Vec<Entry>,
    },
    Separator,
}

fn item(label: &str, action: TrayAction, enabled: bool) -> Entry {
    Entry::Item {
        label: label.to_owned(),
        action,
        enabled,
    }
}

/// The whole menu for `snapshot`.
pub fn menu_model(snapshot: &TraySnapshot) -> Vec<Entry> {
    let running = snapshot.running();
    let accounts = if snapshot.accounts.is_empty() {
        vec![Entry::Info("No accounts yet".into())]
    } else {
        snapshot.accounts.iter().map(account_entry).collect()
    };
    let mut menu = vec![Entry::Info(snapshot.status_line())];
    menu.extend(snapshot.usage_today.clone().map(Entry::Info));
    menu.extend([
        item("Copy OpenAI base URL", TrayAction::CopyOpenAiUrl, running),
        item(
            "Copy Anthropic base URL",
            TrayAction::CopyAnthropicUrl,
            running,
        ),
        item(
            "Copy API key",
            TrayAction::CopyApiKey,
            snapshot.api_key.is_some(),
        ),
        Entry::Separator,
        Entry::Submenu {
            label: "Accounts".into(),
            entries: accounts,
        },
        // Logins write to the account store the running proxy opened.
        item(
            "Log in with Claude…",
            TrayAction::Login(Provider::Claude, LoginMethodName::Browser),
            running,
        ),
        item(
            "Log in with Codex…",
            TrayAction::Login(Provider::Codex, LoginMethodName::Browser),
            running,
        ),
        item(
            "Log in with Codex (device code)…",
            TrayAction::Login(Provider::Codex, LoginMethodName::Device),
            running,
        ),
        Entry::Separator,
        item("Open Dashboard", TrayAction::OpenDashboard, true),
        if running {
            item("Stop proxy", TrayAction::StopProxy, true)
        } else {
            // While starting there is nothing to start yet.
            item(
                "Start proxy",
                TrayAction::StartProxy,
                snapshot.status != ProxyStatus::Starting,
            )
        },
        Entry::Check {
            label: "Launch at login".into(),
            action: TrayAction::ToggleAutostart,
            checked: snapshot.autostart,
        },
        Entry::Separator,
        item("Quit", TrayAction::Quit, true),
    ]);
    menu
}

fn account_entry(account: &AccountLine) -> Entry {
    let toggle = if account.disabled {
        item(
            "Enable",
            TrayAction::SetAccountEnabled {
                id: account.id.clone(),
                enabled: true,
            },
            true,
        )
    } else {
        item(
            "Disable",
            TrayAction::SetAccountEnabled {
                id: account.id.clone(),
                enabled: false,
            },
            true,
        )
    };
    Entry::Submenu {
        label: account.label(),
        entries: vec![
            toggle,
            item(
                "Remove",
                TrayAction::RemoveAccount {
                    id: account.id.clone(),
                },
                true,
            ),
        ],
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

/// Turns model entries into Tauri menu items. Separators and info lines get positional ids: they are
/// never clicked, and unique ids keep muda from confusing two of them.
fn build_items<R: Runtime>(
    app: &AppHandle<R>,
    entries: &[Entry],
    path: &str,
) -> tauri::Result<Vec<Box<dyn IsMenuItem<R>>>> {
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let fixed_id = format!("{path}{index}");
        items.push(match entry {
            Entry::Info(text) => Box::new(MenuItem::with_id(
                app,
                fixed_id,
                literal(text),
                false,
                None::<&str>,
            )?),
            Entry::Item {
                label,
                action,
                enabled,
            } => Box::new(MenuItem::with_id(
                app,
                action.id(),
                literal(label),
                *enabled,
                None::<&str>,
            )?),
            Entry::Check {
                label,
                action,
                checked,
            } => Box::new(CheckMenuItem::with_id(
                app,
                action.id(),
                literal(label),
                true,
                *checked,
                None::<&str>,
            )?),
            Entry::Submenu { label, entries } => {
                let children = build_items(app, entries, &format!("{fixed_id}."))?;
                let refs: Vec<&dyn IsMenuItem<R>> = children.iter().map(|c| c.as_ref()).collect();
                Box::new(Submenu::with_id_and_items(
                    app,
                    fixed_id,
                    literal(label),
                    true,
                    &refs,
                )?)
            }
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        });
    }
    Ok(items)
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, snapshot: &TraySnapshot) -> tauri::Result<Menu<R>> {
    let items = build_items(app, &menu_model(snapshot), "entry-")?;
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|i| i.as_ref()).collect();
    Menu::with_items(app, &refs)
}

fn icon(state: IconState) -> Image<'static> {
    #[cfg(target_os = "macos")]
    {
        // The template carries no colour, so the state shows as the status line only on macOS.
        let _ = state;
        ICON_TEMPLATE
    }
    #[cfg(not(target_os = "macos"))]
    match state {
        IconState::Running => ICON_RUNNING,
        IconState::Attention => ICON_ATTENTION,
        IconState::Stopped => ICON_STOPPED,
    }
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
        .icon(icon(snapshot.icon_state()))
        .icon_as_template(cfg!(target_os = "macos"))
        .tooltip("Switchyard")
        .menu(&menu)
        // The menu is the tray's whole UI, so a left click opens it too (Linux always does).
        .show_menu_on_left_click(true)
        .on_menu_event(move |app: &AppHandle<R>, event: MenuEvent| {
            match TrayAction::from_id(event.id().as_ref()) {
                Some(action) => on_action(app, action),
                None => tracing::debug!(id = ?event.id(), "menu event without an action"),
            }
        })
        .build(app)
}

/// Rebuilds the tray menu and icon from `snapshot`. Safe to call from any thread: Tauri hops to the
/// main thread.
pub fn refresh<R: Runtime>(app: &AppHandle<R>, snapshot: &TraySnapshot) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        // Tray creation failed earlier (already logged); nothing to update.
        return Ok(());
    };
    tray.set_menu(Some(build_menu(app, snapshot)?))?;
    tray.set_icon(Some(icon(snapshot.icon_state())))?;
    // Setting an icon resets the template flag on macOS.
    tray.set_icon_as_template(cfg!(target_os = "macos"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> TraySnapshot {
        TraySnapshot {
            status: ProxyStatus::Running {
                base_url: "http://127.0.0.1:8317".into(),
            },
            ..TraySnapshot::default()
        }
    }

    fn account(id: &str, needs_login: bool, disabled: bool) -> AccountLine {
        AccountLine {
            id: id.into(),
            provider: Provider::Claude,
            email: Some("you@example.com".into()),
            quota: Some("5h 12%".into()),
            needs_login,
            disabled,
            status: if needs_login { "needs login" } else { "ok" }.into(),
        }
    }

    /// Labels of the top level, `>` marking submenus, `-` disabled items.
    fn labels(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Info(text) => format!("-{text}"),
                Entry::Item {
                    label,
                    enabled: false,
                    ..
                } => format!("-{label}"),
                Entry::Item { label, .. } | Entry::Check { label, .. } => label.clone(),
                Entry::Submenu { label, .. } => format!(">{label}"),
                Entry::Separator => "---".into(),
            })
            .collect()
    }

    #[test]
    fn status_line_per_state() {
        assert_eq!(running().status_line(), "Running on http://127.0.0.1:8317");
        assert_eq!(running().endpoint(), Some("http://127.0.0.1:8317"));

        let failed = TraySnapshot {
            status: ProxyStatus::Failed {
                reason: "address in use\ncaused by: os error 98".into(),
            },
            ..TraySnapshot::default()
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
        let line = TraySnapshot {
            status: ProxyStatus::Failed {
                reason: "x".repeat(500),
            },
            ..TraySnapshot::default()
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
    fn running_menu() {
        let snapshot = TraySnapshot {
            api_key: Some("sk-1".into()),
            ..running()
        };
        assert_eq!(
            labels(&menu_model(&snapshot)),
            [
                "-Running on http://127.0.0.1:8317",
                "Copy OpenAI base URL",
                "Copy Anthropic base URL",
                "Copy API key",
                "---",
                ">Accounts",
                "Log in with Claude…",
                "Log in with Codex…",
                "Log in with Codex (device code)…",
                "---",
                "Open Dashboard",
                "Stop proxy",
                "Launch at login",
                "---",
                "Quit",
            ]
        );
    }

    #[test]
    fn stopped_menu_disables_what_needs_the_proxy() {
        let snapshot = TraySnapshot {
            status: ProxyStatus::Stopped,
            ..TraySnapshot::default()
        };
        let labels = labels(&menu_model(&snapshot));
        for disabled in [
            "-Copy OpenAI base URL",
            "-Copy API key",
            "-Log in with Claude…",
            "Start proxy",
        ] {
            assert!(
                labels.iter().any(|l| l == disabled),
                "{disabled}: {labels:?}"
            );
        }
        let starting = labels_of_state(ProxyStatus::Starting);
        assert!(starting.iter().any(|l| l == "-Start proxy"), "{starting:?}");
    }

    fn labels_of_state(status: ProxyStatus) -> Vec<String> {
        labels(&menu_model(&TraySnapshot {
            status,
            ..TraySnapshot::default()
        }))
    }

    #[test]
    fn accounts_submenu() {
        let snapshot = TraySnapshot {
            accounts: vec![
                account("claude-1", false, false),
                account("claude-2", true, true),
            ],
            ..running()
        };
        let menu = menu_model(&snapshot);
        let Some(Entry::Submenu { entries, .. }) = menu
            .iter()
            .find(|e| matches!(e, Entry::Submenu { label, .. } if label == "Accounts"))
        else {
            panic!("no Accounts submenu");
        };
        assert_eq!(
            labels(entries),
            [
                ">claude · you@example.com · 5h 12% · ok",
                ">claude · you@example.com · 5h 12% · disabled",
            ]
        );
        let Entry::Submenu { entries: first, .. } = &entries[0] else {
            unreachable!()
        };
        assert_eq!(labels(first), ["Disable", "Remove"]);
        let Entry::Submenu {
            entries: second, ..
        } = &entries[1]
        else {
            unreachable!()
        };
        assert_eq!(labels(second), ["Enable", "Remove"]);

        let empty = menu_model(&running());
        assert!(empty.iter().any(|e| matches!(
            e,
            Entry::Submenu { entries, .. } if entries == &[Entry::Info("No accounts yet".into())]
        )));
    }

    #[test]
    fn icon_states() {
        assert_eq!(running().icon_state(), IconState::Running);
        let needs_login = TraySnapshot {
            accounts: vec![account("claude-1", true, false)],
            ..running()
        };
        assert_eq!(needs_login.icon_state(), IconState::Attention);
        let disabled = TraySnapshot {
            accounts: vec![account("claude-1", true, true)],
            ..running()
        };
        assert_eq!(disabled.icon_state(), IconState::Running);
        let failed = TraySnapshot {
            status: ProxyStatus::Failed { reason: "x".into() },
            ..TraySnapshot::default()
        };
        assert_eq!(failed.icon_state(), IconState::Attention);
        assert_eq!(TraySnapshot::default().icon_state(), IconState::Stopped);
    }

    #[test]
    fn every_action_round_trips_through_its_id() {
        let actions = [
            TrayAction::CopyOpenAiUrl,
            TrayAction::CopyAnthropicUrl,
            TrayAction::CopyApiKey,
            TrayAction::SetAccountEnabled {
                id: "claude-1a".into(),
                enabled: true,
            },
            TrayAction::SetAccountEnabled {
                id: "codex-2b".into(),
                enabled: false,
            },
            TrayAction::RemoveAccount {
                id: "codex-2b".into(),
            },
            TrayAction::Login(Provider::Claude, LoginMethodName::Browser),
            TrayAction::Login(Provider::Codex, LoginMethodName::Browser),
            TrayAction::Login(Provider::Codex, LoginMethodName::Device),
            TrayAction::OpenDashboard,
            TrayAction::StartProxy,
            TrayAction::StopProxy,
            TrayAction::ToggleAutostart,
            TrayAction::Quit,
        ];
        for action in actions {
            assert_eq!(TrayAction::from_id(&action.id()), Some(action.clone()));
        }
        assert_eq!(TrayAction::from_id("entry-0"), None);
        assert_eq!(TrayAction::from_id("login:gemini"), None);
    }
}
