//! `localizer-host --plugin PATH`: runs a shared-library plugin in its own process, speaking the
//! subprocess protocol on stdin/stdout, so that a crash takes down only this process
//! (`isolate: true`, docs/plugins.md). The `harness` program hosts plugins itself; this binary
//! is for other programs that embed the plugin-host crate.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    plugin_host::host_main(&args)
}
