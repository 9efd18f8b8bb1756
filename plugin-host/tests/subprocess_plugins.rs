//! `subprocess`: the reference Python client (examples/plugins/python, numpy only) and the
//! protocol's failure paths. Needs `python3` with numpy on PATH.

use crate::common::*;
use localizer_api::{InputSize, Localizer, LocalizerError};
use plugin_host::build;
use serde_json::{json, Value};

fn python(script_args: Value, params: Value) -> Result<Box<dyn Localizer>, LocalizerError> {
    let mut command = vec![json!("python3")];
    command.extend(script_args.as_array().unwrap().iter().cloned());
    build(
        "subprocess",
        &object(json!({"command": command, "cwd": workspace_root(), "params": params})),
    )
}

fn variance_script(params: Value) -> Result<Box<dyn Localizer>, LocalizerError> {
    python(
        json!(["examples/plugins/python/variance_localizer.py"]),
        params,
    )
}

fn message(result: Result<impl Sized, LocalizerError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// A protocol-speaking plugin inline: `harness_plugin` from examples/plugins/python plus `body`.
fn inline(body: &str, params: Value) -> Result<Box<dyn Localizer>, LocalizerError> {
    let code = format!(
        "import sys; sys.path.insert(0, 'examples/plugins/python')\n\
         import numpy as np\nfrom harness_plugin import serve, ParamError\n{body}"
    );
    python(json!(["-c", code]), params)
}

#[test]
fn python_client_computes_the_documented_local_variance() {
    let images = [
        test_image(11, 31, 17),
        test_image(12, 12, 20),
        test_image(13, 5, 3),
    ];
    let mut localizer = variance_script(json!({"radius": 3, "scale": 2000})).unwrap();
    assert_eq!(localizer.name(), "variance");
    assert_eq!(localizer.input_size(), InputSize::Native);
    assert_eq!(localizer.max_batch(), 16);
    let predictions = localizer
        .localize(&inputs(&images, &["a", "b", "c"]))
        .unwrap();
    for (image, prediction) in images.iter().zip(&predictions) {
        let reference = variance_reference(image, 3, 2000.0);
        assert!(max_abs_diff(&prediction.map, &reference) < 1e-5);
        assert!((f64::from(prediction.score.unwrap()) - mean(&reference)).abs() < 1e-5);
    }
    // Several batches over one process.
    let again = localizer.localize(&inputs(&images[..1], &["a"])).unwrap();
    assert_eq!(again[0].map, predictions[0].map);
}

#[test]
fn python_parameter_errors_name_the_parameter() {
    let err = message(variance_script(json!({"radius": -2})));
    assert!(
        err.contains("bad parameter 'radius': must be a non-negative integer"),
        "{err}"
    );
    let err = message(variance_script(json!({"sigma": 1})));
    assert!(
        err.contains("bad parameter 'sigma': unknown parameter"),
        "{err}"
    );
}

#[test]
fn start_failures_say_what_to_fix() {
    let err = message(build(
        "subprocess",
        &object(json!({"command": ["no-such-program-xyz"]})),
    ));
    assert!(
        err.contains("bad parameter 'command': cannot start `no-such-program-xyz`"),
        "{err}"
    );
    let err = message(build("subprocess", &object(json!({"command": []}))));
    assert!(err.contains("non-empty array of strings"), "{err}");
    // A program that is not a plugin: its exit and stderr are reported.
    let err = message(python(
        json!([
            "-c",
            "import sys; print('no protocol here', file=sys.stderr); sys.exit(3)"
        ]),
        json!({}),
    ));
    assert!(
        err.contains("did not complete the protocol handshake: plugin process died: exit status 3"),
        "{err}"
    );
    assert!(err.contains("no protocol here"), "{err}");
}

#[test]
fn protocol_version_mismatch_is_refused() {
    let body = "import harness_plugin\nharness_plugin.PROTOCOL_VERSION = 2\n\
                class C:\n    name='c'; input_size=None; max_batch=1\n    def __init__(self, p): pass\n\
                serve(C)";
    let err = message(inline(body, json!({})));
    assert!(
        err.contains("protocol version 1 is not supported; this client speaks 2"),
        "{err}"
    );
}

#[test]
fn python_failures_fail_the_batch_and_a_dead_process_is_restarted() {
    // Fails on ids starting with "bad", dies on ids starting with "die", prints on stdout
    // (which must not corrupt the protocol), and answers with a fixed 8x6 input size.
    let body = "import os\n\
        class C:\n    name='flaky'; input_size=(8, 6); max_batch=2\n\
        \x20   def __init__(self, p): self.value = p['value']\n\
        \x20   def localize(self, images):\n\
        \x20       print('chatter on stdout')\n\
        \x20       for image_id, _ in images:\n\
        \x20           if image_id.startswith('bad'): raise RuntimeError('cannot handle ' + image_id)\n\
        \x20           if image_id.startswith('die'): os._exit(7)\n\
        \x20       return [(np.full(px.shape[:2], self.value), None) for _, px in images]\n\
        serve(C)";
    let mut localizer = inline(body, json!({"value": 0.75})).unwrap();
    assert_eq!(
        localizer.input_size(),
        InputSize::Fixed {
            width: 8,
            height: 6
        }
    );
    let images = [test_image(14, 8, 6), test_image(15, 8, 6)];
    let ok = localizer.localize(&inputs(&images, &["x", "y"])).unwrap();
    assert!(ok
        .iter()
        .all(|p| p.map.as_raw().iter().all(|&v| v == 0.75) && p.score.is_none()));

    let err = message(localizer.localize(&inputs(&images, &["x", "bad7"])));
    assert!(
        err.contains("on image 'x, bad7'") && err.contains("RuntimeError: cannot handle bad7"),
        "{err}"
    );
    let err = message(localizer.localize(&inputs(&images, &["die"])));
    assert!(err.contains("plugin process died: exit status 7"), "{err}");
    assert!(localizer.localize(&inputs(&images, &["x"])).is_ok());
    let three = [
        test_image(16, 8, 6),
        test_image(17, 8, 6),
        test_image(18, 8, 6),
    ];
    let err = message(localizer.localize(&inputs(&three, &["a", "b", "c"])));
    assert!(
        err.contains("batch of 3 exceeds the plugin's max_batch 2"),
        "{err}"
    );
}
