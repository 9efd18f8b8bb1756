//! `plugin`: Rust and C shared libraries through the C ABI, in process and isolated.

use crate::common::*;
use localizer_api::{validate_predictions, InputSize, LocalizerError};
use plugin_host::build;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn variance_plugin(isolate: bool) -> Box<dyn localizer_api::Localizer> {
    let path = plugin_library("variance-plugin");
    build(
        "plugin",
        &object(
            json!({"path": path, "isolate": isolate, "params": {"radius": 2, "scale": 2000.0}}),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn misbehaving(
    params: serde_json::Value,
    isolate: bool,
) -> Result<Box<dyn localizer_api::Localizer>, LocalizerError> {
    misbehaving_with(json!({"isolate": isolate, "params": params}))
}

/// The misbehaving plugin with these `plugin` parameters (besides `path`).
fn misbehaving_with(
    params: serde_json::Value,
) -> Result<Box<dyn localizer_api::Localizer>, LocalizerError> {
    let mut all = object(json!({"path": plugin_library("misbehaving-plugin")}));
    all.extend(object(params));
    build("plugin", &all)
}

fn message(result: Result<impl Sized, LocalizerError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn rust_plugin_computes_the_documented_local_variance() {
    let images = [test_image(1, 37, 23), test_image(2, 16, 16)];
    let mut localizer = variance_plugin(false);
    assert_eq!(localizer.name(), "variance");
    assert_eq!(localizer.input_size(), InputSize::Native);
    assert_eq!(localizer.max_batch(), 16);
    let batch = inputs(&images, &["a", "b"]);
    let predictions = localizer.localize(&batch).unwrap();
    validate_predictions("variance", &batch, &predictions).unwrap();
    for (image, prediction) in images.iter().zip(&predictions) {
        let reference = variance_reference(image, 2, 2000.0);
        assert!(max_abs_diff(&prediction.map, &reference) < 1e-5);
        // The test images must exercise the clipping at 1 and the unclipped range alike.
        assert!(reference.as_raw().contains(&1.0));
        assert!(reference.as_raw().iter().any(|&v| v > 0.05 && v < 0.95));
        assert!((f64::from(prediction.score.unwrap()) - mean(&reference)).abs() < 1e-5);
    }
}

#[test]
fn isolated_plugin_gives_the_same_maps_as_in_process() {
    let images = [test_image(3, 20, 11), test_image(4, 9, 30)];
    let batch = inputs(&images, &["a", "b"]);
    let in_process = variance_plugin(false).localize(&batch).unwrap();
    let mut isolated = variance_plugin(true);
    assert_eq!((isolated.name(), isolated.max_batch()), ("variance", 16));
    let out_of_process = isolated.localize(&batch).unwrap();
    for (a, b) in in_process.iter().zip(&out_of_process) {
        assert_eq!(a.map, b.map);
        assert_eq!(a.score, b.score);
    }
}

#[test]
fn plugin_parameter_errors_come_back_as_bad_parameters() {
    let path = plugin_library("variance-plugin");
    let err = message(build(
        "plugin",
        &object(json!({"path": path, "params": {"radius": -1}})),
    ));
    assert!(
        err.contains("bad parameter 'params'")
            && err.contains("radius must be a non-negative integer"),
        "{err}"
    );
    let err = message(build(
        "plugin",
        &object(json!({"path": path, "isolate": true, "params": {"sigma": 1}})),
    ));
    assert!(err.contains("unknown parameter 'sigma'"), "{err}");
    let err = message(build(
        "plugin",
        &object(json!({"path": "no/such/libplugin.so"})),
    ));
    assert!(
        err.contains("bad parameter 'path'") && err.contains("no file at 'no/such/libplugin.so'"),
        "{err}"
    );
    let err = message(build(
        "plugin",
        &object(json!({"path": path, "isolate": "yes"})),
    ));
    assert!(err.contains("expected true or false"), "{err}");
    let err = message(build("plugin", &object(json!({}))));
    assert!(err.contains("bad parameter 'path': required"), "{err}");
}

#[test]
fn panics_in_a_plugin_become_errors() {
    let images = [test_image(5, 8, 8), test_image(6, 8, 8)];
    let mut localizer = misbehaving(json!({"mode": "panic", "trigger": "boom"}), false).unwrap();
    let err = message(localizer.localize(&inputs(&images, &["ok", "boom1"])));
    assert!(
        err.contains("plugin panicked: asked to panic on image 'boom1'"),
        "{err}"
    );
    assert!(err.contains("on image 'ok, boom1'"), "{err}");
    // The host and the instance survive: the next batch works.
    let predictions = localizer
        .localize(&inputs(&images, &["ok", "fine"]))
        .unwrap();
    assert!(predictions
        .iter()
        .all(|p| p.map.as_raw().iter().all(|&v| v == 0.5)));

    let err = message(misbehaving(json!({"mode": "create_panic"}), false));
    assert!(
        err.contains("bad parameter 'params'") && err.contains("plugin panicked: create_panic"),
        "{err}"
    );
}

#[test]
fn plugin_errors_and_unwritten_maps_are_reported() {
    let images = [test_image(7, 6, 5)];
    let mut localizer = misbehaving(json!({"mode": "error"}), false).unwrap();
    let err = message(localizer.localize(&inputs(&images, &["x"])));
    assert!(
        err.contains("refusing image 'x' as asked (mode error)"),
        "{err}"
    );

    let mut localizer = misbehaving(json!({"mode": "no_write"}), false).unwrap();
    let batch = inputs(&images, &["x"]);
    let predictions = localizer.localize(&batch).unwrap();
    let err = message(validate_predictions("misbehaving", &batch, &predictions));
    assert!(err.contains("is not finite"), "{err}");

    let err = message(misbehaving(json!({"mode": "explode"}), false));
    assert!(err.contains("unknown mode 'explode'"), "{err}");
}

#[test]
fn a_crash_in_an_isolated_plugin_fails_only_its_batch() {
    let images = [test_image(8, 7, 7)];
    for (mode, signal) in [
        ("segfault", "signal 11 (SIGSEGV)"),
        ("abort", "signal 6 (SIGABRT)"),
    ] {
        let mut localizer = misbehaving(
            json!({"mode": mode, "trigger": "crash", "value": 0.25}),
            true,
        )
        .unwrap();
        let ok = localizer.localize(&inputs(&images, &["fine"])).unwrap();
        assert!(ok[0].map.as_raw().iter().all(|&v| v == 0.25));
        let err = message(localizer.localize(&inputs(&images, &["crash-me"])));
        assert!(
            err.contains(&format!("plugin process died: {signal}")),
            "{mode}: {err}"
        );
        assert!(err.contains("the next batch restarts it"), "{err}");
        // A fresh process takes over.
        let again = localizer
            .localize(&inputs(&images, &["fine-again"]))
            .unwrap();
        assert!(again[0].map.as_raw().iter().all(|&v| v == 0.25));
    }
    // A panic in an isolated plugin is caught inside the child, which lives on.
    let mut localizer = misbehaving(json!({"mode": "panic"}), true).unwrap();
    let err = message(localizer.localize(&inputs(&images, &["p"])));
    assert!(
        err.contains("plugin panicked") && !err.contains("died"),
        "{err}"
    );
}

/// Compiles examples/plugins/c/brightness.c (or `source`) with the committed header.
fn compile_c(dir: &Path, name: &str, source: &Path, defines: &[&str]) -> PathBuf {
    let out = dir.join(format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(cc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-I"])
        .arg(workspace_root().join("localizer-sdk/include"))
        .args(defines)
        .arg(source)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("a C compiler (cc) on PATH");
    assert!(status.success(), "compiling {} failed", source.display());
    out
}

#[test]
fn c_plugin_against_the_committed_header_works_and_abi_mismatches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = workspace_root().join("examples/plugins/c/brightness.c");
    let good = compile_c(dir.path(), "brightness", &source, &[]);
    let mut localizer = build("plugin", &object(json!({"path": good}))).unwrap();
    assert_eq!((localizer.name(), localizer.max_batch()), ("brightness", 8));
    let images = [test_image(9, 13, 6)];
    let prediction = localizer
        .localize(&inputs(&images, &["c"]))
        .unwrap()
        .remove(0);
    assert_eq!(prediction.score, None);
    for (p, v) in images[0].pixels().zip(prediction.map.as_raw()) {
        let luma = 0.299f32 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
        assert!((luma / 255.0 - v).abs() < 1e-6);
    }

    let newer = compile_c(dir.path(), "newer_abi", &source, &["-DTEST_ABI_VERSION=2"]);
    let err = message(build("plugin", &object(json!({"path": newer}))));
    assert!(
        err.contains("plugin ABI version 2 is not supported; this harness speaks ABI version 1"),
        "{err}"
    );
    let small = compile_c(
        dir.path(),
        "small_table",
        &source,
        &["-DTEST_STRUCT_SIZE=16"],
    );
    let err = message(build(
        "plugin",
        &object(json!({"path": small, "isolate": true})),
    ));
    assert!(
        err.contains("plugin table is 16 bytes but ABI version 1 needs at least"),
        "{err}"
    );

    let other = dir.path().join("not_a_plugin.c");
    std::fs::write(&other, "int harness_localizer_entry_v2 = 0;\n").unwrap();
    let foreign = compile_c(dir.path(), "foreign", &other, &[]);
    let err = message(build("plugin", &object(json!({"path": foreign}))));
    assert!(
        err.contains("does not export `harness_localizer_entry_v1`")
            && err.contains("built for ABI version 2"),
        "{err}"
    );
}

#[test]
fn load_failures_carry_the_systems_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let load = |path: &Path, isolate: bool| {
        message(build(
            "plugin",
            &object(json!({"path": path, "isolate": isolate})),
        ))
    };

    // Not a shared library at all.
    let text = d.join("libtext.so");
    std::fs::write(&text, "not a library, just text\n".repeat(10)).unwrap();
    let err = load(&text, false);
    assert!(err.contains("invalid ELF header"), "{err}");

    // Built for another architecture (here: a 64-bit library claiming to be 32-bit).
    let source = workspace_root().join("examples/plugins/c/brightness.c");
    let mut elf = std::fs::read(compile_c(d, "brightness", &source, &[])).unwrap();
    elf[4] = 1; // EI_CLASS = ELFCLASS32
    let wrong_class = d.join("libwrongclass.so");
    std::fs::write(&wrong_class, elf).unwrap();
    let err = load(&wrong_class, false);
    assert!(err.contains("wrong ELF class: ELFCLASS32"), "{err}");

    // A library it needs is missing, in process and isolated alike.
    let dep = d.join("dep.c");
    std::fs::write(&dep, "int dep_value(void) { return 1; }\n").unwrap();
    let dep_library = compile_c(d, "dep", &dep, &[]);
    let user = d.join("user.c");
    std::fs::write(
        &user,
        "int dep_value(void);\nint uses_dep(void) { return dep_value(); }\n",
    )
    .unwrap();
    let link = [
        format!("-L{}", d.display()),
        "-Wl,--no-as-needed".to_string(),
        "-ldep".to_string(),
    ];
    let link: Vec<&str> = link.iter().map(String::as_str).collect();
    let needs_dep = compile_c(d, "needs_dep", &user, &link);
    std::fs::remove_file(dep_library).unwrap();
    for isolate in [false, true] {
        let err = load(&needs_dep, isolate);
        assert!(
            err.contains("libdep.so: cannot open shared object file"),
            "isolate {isolate}: {err}"
        );
    }

    // Loadable, but without the entry symbol: dlsym's reason comes along.
    let other = d.join("no_entry.c");
    std::fs::write(&other, "int something_else(void) { return 0; }\n").unwrap();
    let no_entry = compile_c(d, "no_entry", &other, &[]);
    let err = load(&no_entry, false);
    assert!(
        err.contains("does not export `harness_localizer_entry_v1`")
            && err.contains("undefined symbol: harness_localizer_entry_v1"),
        "{err}"
    );
}

#[test]
fn an_isolated_plugin_that_hangs_times_out_and_an_in_process_one_cannot() {
    let images = [test_image(10, 7, 7)];
    let mut localizer = misbehaving_with(
        json!({"isolate": true, "timeout_s": 2, "params": {"mode": "hang", "trigger": "hang"}}),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = message(localizer.localize(&inputs(&images, &["hang-1"])));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        err.contains("localizer 'misbehaving' on image 'hang-1': timed out after 2 s (timeout_s)"),
        "{err}"
    );
    assert!(localizer.localize(&inputs(&images, &["fine"])).is_ok());

    let err = message(misbehaving_with(json!({"timeout_s": 2})));
    assert!(
        err.contains("bad parameter 'timeout_s': needs `isolate: true`"),
        "{err}"
    );
}
