//! `localizer-host --plugin PATH`: runs a shared-library plugin in its own process, speaking the
//! subprocess protocol on stdin/stdout, so that a crash takes down only this process
//! (`isolate: true`, docs/plugins.md).

use plugin_host::{serve, SharedLibraryLocalizer};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [flag, path] if flag == "--plugin" => PathBuf::from(path),
        _ => {
            eprintln!("usage: localizer-host --plugin PATH\nruns a harness localizer plugin (shared library) behind the subprocess protocol on stdin/stdout");
            return ExitCode::from(2);
        }
    };
    let protocol_out = match private_stdout() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("localizer-host: cannot set up the protocol stream: {e}");
            return ExitCode::from(2);
        }
    };
    let result = serve(
        std::io::stdin().lock(),
        std::io::BufWriter::new(protocol_out),
        |params| Ok(Box::new(SharedLibraryLocalizer::load(&path, params)?)),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localizer-host: {e}");
            ExitCode::from(3)
        }
    }
}

/// The protocol's own handle on stdout; the plugin's prints to stdout go to stderr instead, so
/// a stray `printf` cannot corrupt the frames.
#[cfg(unix)]
fn private_stdout() -> std::io::Result<std::fs::File> {
    use std::os::fd::{AsFd, AsRawFd};
    let protocol = std::io::stdout().as_fd().try_clone_to_owned()?;
    // SAFETY: dup2 on two valid descriptors; fd 1 then refers to stderr's file.
    if unsafe { libc::dup2(std::io::stderr().as_raw_fd(), 1) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(std::fs::File::from(protocol))
}

#[cfg(not(unix))]
fn private_stdout() -> std::io::Result<std::io::Stdout> {
    Ok(std::io::stdout())
}
