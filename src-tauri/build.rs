fn main() {
    // Generates the context (config, ACL from capabilities/, icons) that `tauri::generate_context!` embeds.
    tauri_build::build();
}
