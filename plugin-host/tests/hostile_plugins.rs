//! Hostile subprocess plugins (docs/reliability.md): ones that hang, flood stderr, break the
//! protocol or leave processes behind. Each is a small Python script in a temporary directory
//! (python3 with numpy); timeouts are short so the tests are too.

use crate::common::*;
use localizer_api::{Localizer, LocalizerError};
use plugin_host::build;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes `body`, after the Python client's imports, to DIR/plugin.py; returns the `subprocess`
/// parameters running it in DIR, plus `extra`.
fn plugin(dir: &Path, body: &str, extra: Value) -> Map<String, Value> {
    let client = workspace_root().join("examples/plugins/python");
    let code = format!(
        "import json, os, struct, subprocess, sys, time\nsys.path.insert(0, {client:?})\n\
         import numpy as np\nfrom harness_plugin import serve, read_frame, write_frame\n{body}"
    );
    std::fs::write(dir.join("plugin.py"), code).unwrap();
    let mut params = object(json!({"command": ["python3", "plugin.py"], "cwd": dir}));
    params.extend(object(extra));
    params
}

fn start(dir: &Path, body: &str, extra: Value) -> Box<dyn Localizer> {
    build("subprocess", &plugin(dir, body, extra)).unwrap_or_else(|e| panic!("{e}"))
}

fn message(result: Result<impl Sized, LocalizerError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// The last pid the plugin appended to DIR/pids.
fn last_pid(dir: &Path) -> u32 {
    let pids = std::fs::read_to_string(dir.join("pids")).unwrap();
    pids.lines().last().unwrap().parse().unwrap()
}

/// Sleeps (far longer than any timeout here) on images whose id starts with "slow".
const SLEEPY: &str = "\
class Sleepy:
    name = 'sleepy'; input_size = None; max_batch = 4
    def __init__(self, params): pass
    def localize(self, images):
        with open('pids', 'a') as f: f.write(f'{os.getpid()}\\n')
        if any(i.startswith('slow') for i, _ in images): time.sleep(300)
        return [(np.zeros(px.shape[:2]), None) for _, px in images]
serve(Sleepy)
";

#[test]
fn a_plugin_that_hangs_in_localize_times_out_is_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let mut localizer = start(dir.path(), SLEEPY, json!({"timeout_s": 2}));
    let images = [test_image(1, 8, 6)];
    let started = Instant::now();
    let err = message(localizer.localize(&inputs(&images, &["slow-1"])));
    let took = started.elapsed();
    assert!(
        err.contains("localizer 'sleepy' on image 'slow-1': timed out after 2 s (timeout_s)"),
        "{err}"
    );
    assert!(err.contains("the next batch restarts it"), "{err}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    let hung = last_pid(dir.path());
    assert!(
        wait_gone(hung, Duration::from_secs(5)),
        "pid {hung} still runs"
    );

    // A fresh process takes the next batch.
    assert!(localizer.localize(&inputs(&images, &["fine"])).is_ok());
    assert_ne!(last_pid(dir.path()), hung);

    // Two timeouts in a row: the plugin is given up, later batches fail at once.
    for id in ["slow-2", "slow-3"] {
        let err = message(localizer.localize(&inputs(&images, &[id])));
        assert!(err.contains("timed out after 2 s"), "{err}");
    }
    let started = Instant::now();
    let err = message(localizer.localize(&inputs(&images, &["fine-again"])));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        err.contains("not run: the plugin timed out on its last 2 tries")
            && err.contains("timed out after 2 s (timeout_s)"),
        "{err}"
    );
}

#[test]
fn a_plugin_that_never_answers_hello_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let params = plugin(
        dir.path(),
        "with open('pids', 'a') as f: f.write(f'{os.getpid()}\\n')\ntime.sleep(300)\n",
        json!({"hello_timeout_s": 1}),
    );
    let started = Instant::now();
    let err = message(build("subprocess", &params));
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(
        err.contains("bad parameter 'command'")
            && err.contains(
                "did not complete the protocol handshake: timed out after 1 s (hello_timeout_s"
            ),
        "{err}"
    );
    assert!(wait_gone(last_pid(dir.path()), Duration::from_secs(5)));
}

#[test]
fn timeouts_must_be_positive_numbers_of_seconds() {
    let dir = tempfile::tempdir().unwrap();
    for (param, value) in [
        ("timeout_s", json!(0)),
        ("timeout_s", json!(-3)),
        ("hello_timeout_s", json!(1e300)),
    ] {
        let err = message(build(
            "subprocess",
            &plugin(dir.path(), SLEEPY, json!({param: value})),
        ));
        assert!(
            err.contains(&format!(
                "bad parameter '{param}': expected a positive number of seconds"
            )),
            "{err}"
        );
    }
    let err = message(build(
        "subprocess",
        &plugin(dir.path(), SLEEPY, json!({"timeout_s": "10"})),
    ));
    assert!(
        err.contains("bad parameter 'timeout_s': expected a number"),
        "{err}"
    );
}

#[test]
fn a_flood_of_stderr_neither_blocks_the_plugin_nor_reaches_the_error_whole() {
    let dir = tempfile::tempdir().unwrap();
    // 10 MB on stderr per good batch (a pipe holds 64 KiB: undrained, the plugin would block and
    // time out), then 50 MB without a newline and an exit.
    let body = "\
class Flood:
    name = 'flood'; input_size = None; max_batch = 1
    def __init__(self, params): pass
    def localize(self, images):
        if images[0][0] == 'die':
            sys.stderr.write('x' * 50_000_000 + ' and these are the last words')
            sys.stderr.flush()
            os._exit(1)
        sys.stderr.write('chatter ' * 1_250_000)
        return [(np.zeros(px.shape[:2]), None) for _, px in images]
serve(Flood)
";
    let mut localizer = start(dir.path(), body, json!({"timeout_s": 20}));
    let images = [test_image(2, 8, 6)];
    for _ in 0..2 {
        localizer
            .localize(&inputs(&images, &["ok"]))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let err = message(localizer.localize(&inputs(&images, &["die"])));
    assert!(err.contains("plugin process died: exit status 1"), "{err}");
    assert!(err.ends_with("and these are the last words"), "{err}");
    assert!(err.contains(" bytes omitted …"), "{err}");
    assert!(err.len() < 5_000, "{} bytes of error", err.len());
}

/// Answers `hello` properly, then the first request as `mode` says, and exits with status 0.
const LIAR: &str = "\
inp, out = sys.stdin.buffer, sys.stdout.buffer
hello, _ = read_frame(inp)
mode = hello['params']['mode']
write_frame(out, {'type': 'ready', 'protocol': 1, 'name': 'liar', 'input_size': None, 'max_batch': 4})
request, _ = read_frame(inp)
if mode == 'huge_header':
    out.write(struct.pack('<I', 0xFFFFFFF0))
elif mode == 'huge_payload':
    maps = [{'width': 30000, 'height': 30000, 'score': None} for _ in request['images']]
    header = json.dumps({'type': 'result', 'maps': maps, 'payload_bytes': 3_600_000_000 * len(maps)})
    out.write(struct.pack('<I', len(header)) + header.encode())
elif mode == 'not_json':
    out.write(struct.pack('<I', 9) + b'{not json')
out.flush()
sys.exit(0)
";

#[test]
fn protocol_violations_are_reported_as_such_not_as_a_death() {
    let dir = tempfile::tempdir().unwrap();
    let images = [test_image(3, 8, 6)];
    for (mode, expected) in [
        (
            "huge_header",
            "protocol violation: frame header of 4294967280 bytes exceeds the limit of 1048576 bytes",
        ),
        // The limit is what the batch's maps take: 8 × 6 floats.
        (
            "huge_payload",
            "protocol violation: frame payload of 3600000000 bytes exceeds the limit of 192 bytes",
        ),
        (
            "not_json",
            "protocol violation: malformed frame: header is not JSON",
        ),
    ] {
        let mut localizer = start(dir.path(), LIAR, json!({"params": {"mode": mode}}));
        let err = message(localizer.localize(&inputs(&images, &["a"])));
        assert!(
            err.contains(&format!("localizer 'liar' on image 'a': {expected}")),
            "{mode}: {err}"
        );
        assert!(!err.contains("died"), "{mode}: {err}");
    }
}

#[test]
fn dropping_the_localizer_kills_what_the_plugin_started() {
    let dir = tempfile::tempdir().unwrap();
    let body = "\
class Spawner:
    name = 'spawner'; input_size = None; max_batch = 1
    def __init__(self, params):
        helper = subprocess.Popen(['sleep', '300'])
        with open('helper', 'w') as f: f.write(str(helper.pid))
serve(Spawner)
";
    let localizer = start(dir.path(), body, json!({}));
    let helper: u32 = std::fs::read_to_string(dir.path().join("helper"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(!process_gone(helper));
    drop(localizer);
    assert!(
        wait_gone(helper, Duration::from_secs(5)),
        "the plugin's child {helper} outlived the localizer"
    );
}
