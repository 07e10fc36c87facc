//! Command-line and environment options of the desktop app. Deliberately tiny: a tray app is started by
//! the desktop, so the only option is where the config lives (used by tests and power users).

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

/// The config path from `args` (without argv[0]) or, failing that, from `env` (the value of
/// [`CONFIG_ENV`]). `None` means the core's default location.
///
/// Unknown arguments are ignored rather than rejected: desktop launchers and OS integrations
/// (e.g. a file manager's "open with", or macOS' `-psn_…`) may pass their own.
pub fn config_path(
    args: impl IntoIterator<Item = OsString>,
    env: Option<OsString>,
) -> Result<Option<PathBuf>, CliError> {
    let mut from_args = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--config" {
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
    Ok(from_args.or(from_env))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
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
