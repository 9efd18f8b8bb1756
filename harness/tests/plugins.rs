//! Plugins that crash, hang, return bad maps or are interrupted fail only their own work units:
//! the run completes, the other localizers' results are kept and the failures are reported
//! (exit code 1); SIGTERM ends the plugins' processes with the harness (docs/reliability.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use harness::results::Metric;

/// The misbehaving example plugin, which cargo builds with these tests (a dev-dependency; its
/// `.so` lands in `deps/` beside the test binary). Isolated, it runs in `harness localizer-host`.
fn build_plugin() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let library = deps.join(localizers::plugin::library_file_name("misbehaving-plugin"));
    assert!(library.is_file(), "{} was not built", library.display());
    library
}

#[test]
fn an_isolated_plugin_that_segfaults_fails_only_its_own_units() {
    let library = build_plugin();
    let dir = tempfile::tempdir().unwrap();
    let suite = format!(
        "version: 1
name: crash
data:
  source: synth
  generators: [{}]
  properties: [bald, smile]
  fakes_per_category: 1
  reals: 2
evaluation:
  bootstrap_resamples: 100
localizers:
  - resampling
  - kind: plugin
    name: crasher
    params: {{path: '{}', isolate: true, params: {{mode: segfault}}}}
report:
  qualitative: 0
",
        harness::data::synth::generators()[0].name,
        library.display()
    );
    std::fs::write(dir.path().join("crash.yaml"), suite).unwrap();
    let out = harness(dir.path(), &["run", "crash.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("work units failed"), "{err}");
    let run = single_run(&dir.path().join("runs/crash"));
    let results = read_results(&run);
    assert!(!results.failures.is_empty());
    assert!(results.failures.iter().all(|f| f.localizer == "crasher"));
    assert!(
        results.failures[0].error.contains("signal 11"),
        "{}",
        results.failures[0].error
    );
    assert!(
        results
            .aggregate(
                "resampling",
                "clean",
                "all",
                Metric::from_name("coss").unwrap()
            )
            .is_some(),
        "the other localizer's results are kept"
    );
    assert!(results
        .aggregate(
            "crasher",
            "clean",
            "all",
            Metric::from_name("coss").unwrap()
        )
        .is_none());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Failures"));
}

/// A subprocess localizer whose maps are all NaN: its units fail validation, and the run still
/// finishes with results.json, the report and the failures listed (exit 1). The report draws
/// from the maps captured during the run, so it never meets the NaN maps again.
#[test]
fn a_localizer_returning_nan_maps_leaves_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    write_python_plugin(
        dir.path(),
        "nan_maps.py",
        "",
        "        return [(np.full(px.shape[:2], np.nan, dtype=np.float32), None) for _, px in images]",
    );
    let suite = TINY_SUITE
        .replace("GEN", harness::data::synth::generators()[0].name)
        .replace(
            "  - resampling\n",
            "  - resampling\n  - kind: subprocess\n    name: nan\n    params: {command: [python3, nan_maps.py]}\n",
        );
    std::fs::write(dir.path().join("nan.yaml"), &suite).unwrap();
    let out = harness(dir.path(), &["run", "nan.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("work units failed"), "{err}");
    let run = single_run(&dir.path().join("runs/tiny"));
    let results = read_results(&run);
    assert!(!results.failures.is_empty());
    assert!(results.failures.iter().all(|f| f.localizer == "nan"));
    assert!(
        results.failures[0].error.contains("NaN"),
        "{}",
        results.failures[0].error
    );
    assert!(results
        .aggregate("oracle", "clean", "all", Metric::Coss)
        .is_some());
    for file in ["report.md", "report.html", "tables.csv", "per_image.jsonl"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Failures"), "{report}");
    // The other localizers' qualitative panels are drawn; the failing one has none.
    assert!(run.join("plots/qualitative_oracle_clean.png").is_file());
    assert!(!run.join("plots/qualitative_nan_clean.png").exists());
}

/// A run directory with a manifest of four 64×48 partial fakes (ids a, b, c, d), and a suite
/// `s.yaml` scoring them at 64×64 with `constant` and the given extra localizer entries.
fn four_image_run(localizers: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixture("real.png"), d.join("real.png")).unwrap();
    std::fs::copy(fixture("fake.png"), d.join("fake.png")).unwrap();
    let mut manifest = "id,split,generator,property,kind,fake,real,mask\n".to_string();
    for id in ["a", "b", "c", "d"] {
        manifest.push_str(&format!("{id},test,g,p,partial,fake.png,real.png,\n"));
    }
    std::fs::write(d.join("manifest.csv"), manifest).unwrap();
    let suite = format!(
        "version: 1\nname: s\ndata:\n  source: manifest\n  manifest: manifest.csv\n\
         evaluation:\n  size: 64\n  bootstrap_resamples: 100\n\
         localizers:\n  - constant\n{localizers}report:\n  qualitative: 0\n"
    );
    std::fs::write(d.join("s.yaml"), suite).unwrap();
    dir
}

/// A Python subprocess plugin in DIR/sleepy.py: appends its pid and that of a `sleep` it
/// started to DIR/pids, then sleeps in `localize` far longer than any test.
fn write_sleepy_plugin(dir: &Path) {
    write_python_plugin(
        dir,
        "sleepy.py",
        ", os, subprocess, time",
        "        helper = subprocess.Popen(['sleep', '300'])\n        \
         with open('pids', 'a') as f:\n            f.write(f'{os.getpid()} {helper.pid}\\n')\n        \
         time.sleep(300)",
    );
}

/// Writes DIR/FILE, a Python subprocess localizer (the client of examples/plugins/python,
/// numpy as `np`, the modules in `imports` as `, a, b`) whose `localize(self, images)` body is
/// `body`, indented by 8 spaces.
fn write_python_plugin(dir: &Path, file: &str, imports: &str, body: &str) {
    let client = workspace().join("examples/plugins/python");
    let name = file.trim_end_matches(".py");
    std::fs::write(
        dir.join(file),
        format!(
            "import sys{imports}\nsys.path.insert(0, {client:?})\nimport numpy as np\n\
             from harness_plugin import serve\n\n\
             class Plugin:\n    name = '{name}'\n    input_size = None\n    max_batch = 4\n\n    \
             def __init__(self, params):\n        pass\n\n    \
             def localize(self, images):\n{body}\n\n\
             serve(Plugin)\n"
        ),
    )
    .unwrap();
}

/// True once `pid` no longer runs (absent, or a zombie waiting for its new parent).
fn process_gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
    })
}

/// Polls `condition` every 50 ms for up to `timeout`; true if it held.
fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !condition() {
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A plugin that hangs in `localize`: its units fail with the timeout, the other localizer's
/// results are kept, the run finishes (exit 1) in seconds, and the plugin's processes are gone.
#[test]
fn a_plugin_that_hangs_times_out_and_the_run_finishes() {
    let dir = four_image_run(
        "  - kind: subprocess\n    name: sleeper\n    params: {command: [python3, sleepy.py], timeout_s: 5}\n",
    );
    write_sleepy_plugin(dir.path());
    let started = Instant::now();
    let out = harness(dir.path(), &["run", "s.yaml", "--out", "runs"]);
    let took = started.elapsed();
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 1, "{err}");
    // One batch of four times out, then its first image alone: the plugin is given up.
    assert!(took < Duration::from_secs(40), "{took:?}");
    let results = read_results(&single_run(&dir.path().join("runs/s")));
    assert_eq!(results.failures.len(), 4, "{:?}", results.failures);
    for failure in &results.failures {
        assert_eq!(failure.localizer, "sleeper");
        assert!(
            failure.error.contains("localizer 'sleepy' on image")
                && failure.error.contains("timed out after 5 s (timeout_s)"),
            "{}",
            failure.error
        );
    }
    assert!(results
        .aggregate("constant", "clean", "all", Metric::Coss)
        .is_some());
    let pids = std::fs::read_to_string(dir.path().join("pids")).unwrap();
    for pid in pids.split_whitespace() {
        assert!(process_gone(pid), "process {pid} outlived the run");
    }
}

/// SIGTERM to the harness in the middle of a run kills the plugin's whole process group and
/// exits with 143; nothing is left to PID 1.
#[test]
fn sigterm_to_the_harness_ends_its_plugin_processes() {
    let dir = four_image_run(
        "  - kind: subprocess\n    name: sleeper\n    params: {command: [python3, sleepy.py]}\n",
    );
    write_sleepy_plugin(dir.path());
    let mut run = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "s.yaml", "--out", "runs", "--no-progress"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pids_file = dir.path().join("pids");
    let started = eventually(Duration::from_secs(60), || pids_file.exists());
    if !started {
        let _ = run.kill();
        panic!("the plugin never got a batch");
    }
    // Both pids are written in one line; wait until the line is complete.
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&pids_file).is_ok_and(|p| p.ends_with('\n'))
    }));
    let status = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = run.wait().unwrap();
    assert_eq!(exit.code(), Some(143), "{exit:?}");
    let pids = std::fs::read_to_string(&pids_file).unwrap();
    for pid in pids.split_whitespace() {
        assert!(
            eventually(Duration::from_secs(5), || process_gone(pid)),
            "process {pid} outlived the harness"
        );
    }
}

/// Writes `values` (row-major) as a float32 NPY map of `height` rows, as `numpy.save` does.
fn write_npy(path: &Path, width: usize, height: usize, values: &[f32]) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({height}, {width}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// One NaN map among four saved maps of a batch fails that image alone, with its own file in
/// the error; the batch's three valid maps are scored.
#[test]
fn one_bad_saved_map_fails_only_its_own_image() {
    let dir = four_image_run(
        "  - kind: saved_maps\n    name: saved\n    params: {dir: maps, extension: npy}\n",
    );
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    for id in ["a", "b", "c"] {
        write_npy(&maps.join(format!("{id}.npy")), 64, 48, &[0.25; 64 * 48]);
    }
    let mut bad = vec![0.25f32; 64 * 48];
    bad[100] = f32::NAN;
    write_npy(&maps.join("d.npy"), 64, 48, &bad);
    let out = harness(dir.path(), &["run", "s.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 1, "{err}");
    let results = read_results(&single_run(&dir.path().join("runs/s")));
    assert_eq!(results.failures.len(), 1, "{:?}", results.failures);
    let failure = &results.failures[0];
    assert_eq!(
        (failure.localizer.as_str(), failure.id.as_str()),
        ("saved", "d")
    );
    assert!(
        failure
            .error
            .contains("d.npy': value NaN at pixel (x=36, y=1)"),
        "{}",
        failure.error
    );
    let coss = results
        .aggregate("saved", "clean", "all", Metric::Coss)
        .expect("the three valid maps are scored");
    assert_eq!(coss.n, 3);
}

/// A plugin path in a suite is relative to the suite file (like `train:` and `manifest:`), not
/// to the working directory, and the configuration hash keeps the path as written, so running
/// the suite from another directory is the same configuration.
#[test]
fn plugin_paths_are_relative_to_the_suite_file() {
    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("suites");
    std::fs::create_dir_all(suites.join("maps")).unwrap();
    let suite = TINY_SUITE
        .replace("GEN", harness::data::synth::generators()[0].name)
        .replace(
            "  - resampling\n",
            "  - resampling\n  - kind: saved_maps\n    params: {dir: maps}\n",
        );
    std::fs::write(suites.join("s.yaml"), suite).unwrap();
    let hash = |cwd: &Path, suite: &str| {
        let out = harness(cwd, &["run", suite, "--out", "runs"]);
        let (code, err) = code_and_stderr(&out);
        // The maps directory is empty: every saved_maps unit fails (exit 1), after a valid suite.
        assert_eq!(code, 1, "{err}");
        let results = read_results(&single_run(&cwd.join("runs/tiny")));
        let failure = &results
            .failures
            .iter()
            .find(|f| f.localizer == "saved_maps")
            .expect("saved_maps units fail")
            .error;
        assert!(failure.contains("maps"), "{failure}");
        let params = &results.suite["localizers"][3]["params"];
        assert_eq!(params["dir"], "maps", "recorded as written");
        results.config_hash
    };
    let from_root = hash(dir.path(), "suites/s.yaml");
    assert_eq!(hash(&suites, "s.yaml"), from_root);
    // A `maps` directory beside the working directory only is not found.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("suites")).unwrap();
    std::fs::create_dir_all(other.path().join("maps")).unwrap();
    std::fs::copy(suites.join("s.yaml"), other.path().join("suites/s.yaml")).unwrap();
    let (code, err) = code_and_stderr(&harness(
        other.path(),
        &["run", "suites/s.yaml", "--out", "runs"],
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("suites/maps"), "{err}");
}

/// A subprocess localizer that sleeps 0.2 s per batch: `timing` charges at least that to it
/// (and not to the harness's other phases), counts every one of its units and knows no threads.
#[test]
fn a_slow_plugin_shows_its_time_in_the_timing() {
    let dir = tempfile::tempdir().unwrap();
    write_python_plugin(
        dir.path(),
        "slow.py",
        ", time",
        "        time.sleep(0.2)\n        \
         return [(np.zeros(px.shape[:2], dtype=np.float32), None) for _, px in images]",
    );
    let suite = TINY_SUITE
        .replace("GEN", harness::data::synth::generators()[0].name)
        .replace(
            "  - resampling\n",
            "  - kind: subprocess\n    name: slow\n    params: {command: [python3, slow.py]}\n",
        );
    std::fs::write(dir.path().join("slow.yaml"), &suite).unwrap();
    let out = harness(dir.path(), &["run", "slow.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 0, "{err}");
    let run = single_run(&dir.path().join("runs/tiny"));
    let results = read_results(&run);
    let timing = results.timing.expect("timing");
    let slow = timing.localizers.iter().find(|l| l.name == "slow").unwrap();
    let rows = std::fs::read_to_string(run.join("per_image.jsonl")).unwrap();
    let units = rows.lines().filter(|l| l.contains("\"slow\"")).count();
    assert_eq!(slow.images, units);
    let batches = units.div_ceil(slow.batch);
    assert!(
        slow.seconds >= 0.2 * batches as f64,
        "{batches} batches of 0.2 s: {slow:?}"
    );
    assert_eq!(slow.threads, None, "a plugin's threads are unknown");
    let localize = timing
        .phases
        .iter()
        .find(|p| p.phase == "localize")
        .unwrap();
    assert!(localize.wall_seconds >= slow.seconds);
    assert!(timing.wall_seconds >= localize.wall_seconds);
}
