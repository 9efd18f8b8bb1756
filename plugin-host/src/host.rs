//! Hosting an isolated plugin (`isolate: true`): the child process that loads a shared library
//! and serves it over the subprocess protocol, and how the parent finds the program to start.
//!
//! Any program can be that child: the `localizer-host` binary of this crate is one, and a
//! program that embeds this crate (the `harness`) can serve as its own host by dispatching
//! [`HOST_COMMAND`] to [`host_main`] and calling [`host_with_this_program`] once at start, so
//! users need no second binary next to it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::{serve, SharedLibraryLocalizer};

/// Environment variable naming the host program explicitly (it then takes `--plugin PATH`).
pub const HOST_ENV: &str = "HARNESS_LOCALIZER_HOST";

/// The first argument under which a program that embeds this crate runs [`host_main`].
pub const HOST_COMMAND: &str = "localizer-host";

/// A program registered by [`host_with_this_program`] and the arguments before `--plugin`.
static THIS_PROGRAM: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();

/// Isolated plugins are started as `<this program> localizer-host --plugin PATH`: the running
/// program must pass the arguments after [`HOST_COMMAND`] to [`host_main`]. `$HARNESS_LOCALIZER_HOST`
/// still wins when set.
pub fn host_with_this_program() -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let _ = THIS_PROGRAM.set((exe, vec![HOST_COMMAND.to_string()]));
    Ok(())
}

/// The command that starts a host for the plugin at `plugin`: `$HARNESS_LOCALIZER_HOST`, the
/// program registered by [`host_with_this_program`], else `localizer-host` next to the running
/// program, one level up (cargo's `target/*/deps/` test binaries), then on `PATH`.
pub(crate) fn host_command(plugin: &Path) -> Result<Vec<String>, String> {
    let mut command = match (std::env::var_os(HOST_ENV), THIS_PROGRAM.get()) {
        (Some(path), _) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(format!(
                    "{HOST_ENV} is '{}', which is not a file",
                    path.display()
                ));
            }
            vec![path.display().to_string()]
        }
        (None, Some((program, args))) => std::iter::once(program.display().to_string())
            .chain(args.iter().cloned())
            .collect(),
        (None, None) => vec![find_host_binary()?.display().to_string()],
    };
    command.extend(["--plugin".to_string(), plugin.display().to_string()]);
    Ok(command)
}

fn find_host_binary() -> Result<PathBuf, String> {
    let name = format!("localizer-host{}", std::env::consts::EXE_SUFFIX);
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let mut candidates: Vec<PathBuf> = exe_dir
        .iter()
        .flat_map(|d| [Some(d.join(&name)), d.parent().map(|p| p.join(&name))])
        .flatten()
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(&name)));
    }
    candidates.into_iter().find(|c| c.is_file()).ok_or_else(|| {
        format!("isolate needs the `{name}` program, found neither next to this program nor on PATH; \
                 build it with `cargo build --release -p plugin-host --bin localizer-host` (it lands \
                 next to the program) or set {HOST_ENV} to its path")
    })
}

/// The host process: `--plugin PATH` loads the shared library and serves it on stdin/stdout
/// until the parent closes stdin. Exit codes: 0 done, 2 usage or setup error, 3 protocol error.
pub fn host_main(args: &[String]) -> ExitCode {
    let path = match args {
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
