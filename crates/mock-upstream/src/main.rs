//! `switchyard-mock [--port N]`: the mock upstream as a process, for tests outside Rust.
//! Prints `listening on 127.0.0.1:PORT` once, then serves until killed; scripted through
//! `POST /__control/script`, inspected through `GET /__control/log` (see the crate README).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use switchyard_mock::MockUpstream;

#[derive(Parser, Debug)]
#[command(
    name = "switchyard-mock",
    version,
    about = "Mock Claude/Codex/Gemini/OpenAI-compatible upstream for tests"
)]
struct Args {
    /// Port to listen on (127.0.0.1 only); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mock = match MockUpstream::start_on(args.port).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!(
                "switchyard-mock: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    // The parent process reads this one line to learn the port, so it must be flushed now.
    let mut out = std::io::stdout().lock();
    if writeln!(out, "listening on {}", mock.addr())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
