//! Hot reload: a good edit hands a new snapshot to the owner (who swaps it in for new requests while in-flight
//! ones keep theirs); a broken edit keeps the last good config and logs why.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{load_file, Config};

/// Receives each good new config.
pub type OnReload = Box<dyn Fn(Arc<Config>) + Send + Sync>;

/// Polls the config file and applies changes. Polling the contents (not mtimes or inotify) is deliberate: it
/// sees editors' write-to-temp-and-rename saves, network file systems and coarse mtimes alike, and one small
/// read a second costs nothing.
pub struct ConfigWatcher {
    task: JoinHandle<()>,
}

impl ConfigWatcher {
    /// `applying` is held while a change is read and applied; whoever else writes the file (the settings
    /// page) holds it too, so an older read can never be applied over a newer write.
    pub fn spawn(
        path: PathBuf,
        every: Duration,
        applying: Arc<tokio::sync::Mutex<()>>,
        on_reload: OnReload,
    ) -> Self {
        let task = tokio::spawn(async move {
            let mut last = tokio::fs::read(&path).await.ok();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let _applying = applying.lock().await;
                let Ok(bytes) = tokio::fs::read(&path).await else {
                    // Mid-rename or deleted: keep serving the last good config.
                    continue;
                };
                if last.as_deref() == Some(bytes.as_slice()) {
                    continue;
                }
                last = Some(bytes);
                let p = path.clone();
                match tokio::task::spawn_blocking(move || load_file(&p)).await {
                    Ok(Ok(loaded)) => {
                        for w in &loaded.warnings {
                            tracing::warn!("{}:{w}", path.display());
                        }
                        on_reload(loaded.config);
                        tracing::info!("config reloaded from {}", path.display());
                    }
                    Ok(Err(e)) => {
                        tracing::error!(
                            "config edit rejected, still serving the last good config:\n{e}"
                        )
                    }
                    Err(e) => tracing::error!("config reload failed: {e}"),
                }
            }
        });
        ConfigWatcher { task }
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
