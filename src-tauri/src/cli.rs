//! Command-line and environment options of the desktop app. Deliberately tiny: a tray app is started by
//! the desktop, so the options are where the config lives and whether to open the dashboard at once
//! (used by tests, power users and desktops without a tray).

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// Environment variable naming the config file; `--config` wins over it.
pub const CONFIG_ENV: &str = "SWITCHYARD_CONFIG";

#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    MissingValue,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingValue => f.write_str("--config needs a path: --config PATH"),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `None` means the core's default location.
    pub config_path: Option<PathBuf>,
    /// `--dashboard`: show the main window at launch instead of only the tray.
    pub dashboard: bool,
}

/// The options from `args` (without argv[0]); the config path, failing `--config`, from `env` (the
/// value of [`CONFIG_ENV`]).
///
/// Unknown arguments are ignored rather than rejected: desktop launchers and OS integrations
/// (e.g. a file manager's "open with", or macOS' `-psn_…`) may pass their own.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: Option<OsString>,
) -> Result<Options, CliError> {
    let mut from_args = None;
    let mut dashboard = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--dashboard" {
            dashboard = true;
        } else if arg == "--config" {
            let value = args.next().ok_or(CliError::MissingValue)?;
            from_args = Some(PathBuf::from(value));
        } else if let Some(value) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            if value.is_empty() {
                return Err(CliError::MissingValue);
            }
            from_args = Some(PathBuf::from(value));
        }
    }
    // An empty variable is treated as unset, as shells make `VAR=` easy to leave behind.
    let from_env = env.filter(|v| !v.is_empty()).map(PathBuf::from);
    Ok(Options {
        config_path: from_args.or(from_env),
        dashboard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn config_path(
        args: Vec<OsString>,
        env: Option<OsString>,
    ) -> Result<Option<PathBuf>, CliError> {
        parse(args, env).map(|o| o.config_path)
    }

    #[test]
    fn dashboard_flag() {
        assert!(parse(args(&["--dashboard"]), None).is_ok_and(|o| o.dashboard));
        assert!(parse(args(&[]), None).is_ok_and(|o| !o.dashboard));
    }

    #[test]
    fn flag_forms() {
        assert_eq!(
            config_path(args(&["--config", "/a.yaml"]), None),
            Ok(Some(PathBuf::from("/a.yaml")))
        );
        assert_eq!(
            config_path(args(&["--config=/b.yaml"]), None),
            Ok(Some(PathBuf::from("/b.yaml")))
        );
    }

    #[test]
    fn flag_beats_env_and_env_beats_default() {
        let env = Some(OsString::from("/env.yaml"));
        assert_eq!(
            config_path(args(&["--config", "/a.yaml"]), env.clone()),
            Ok(Some(PathBuf::from("/a.yaml")))
        );
        assert_eq!(
            config_path(args(&[]), env),
            Ok(Some(PathBuf::from("/env.yaml")))
        );
        assert_eq!(config_path(args(&[]), Some(OsString::new())), Ok(None));
        assert_eq!(config_path(args(&[]), None), Ok(None));
    }

    #[test]
    fn missing_value_and_unknown_args() {
        assert_eq!(
            config_path(args(&["--config"]), None),
            Err(CliError::MissingValue)
        );
        assert_eq!(
            config_path(args(&["--config="]), None),
            Err(CliError::MissingValue)
        );
        assert_eq!(config_path(args(&["-psn_0_12345"]), None), Ok(None));
    }
}
