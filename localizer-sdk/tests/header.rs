//! The committed C header is exactly what cbindgen generates from `src/abi.rs`.
//! Regenerate with `UPDATE_HEADER=1 cargo test -p localizer-sdk --test integration header`.

use std::path::Path;

#[test]
fn committed_header_matches_abi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/abi.rs"))
        .generate()
        .expect("cbindgen parses src/abi.rs")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = root.join("include/harness_localizer.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/harness_localizer.h is stale; regenerate it with \
         `UPDATE_HEADER=1 cargo test -p localizer-sdk --test integration header`\n--- generated ---\n{generated}"
    );
}
