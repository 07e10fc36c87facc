// Release builds on Windows must not open a console window next to a tray app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    switchyard_desktop_lib::run()
}
