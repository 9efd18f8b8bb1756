//! `subprocess`: a localizer in another process speaking the subprocess protocol over its
//! stdin/stdout (docs/plugins.md). Also runs `isolate: true` plugins (in `localizer-host`).

use crate::batch_label;
use crate::protocol::{
    read_frame, write_frame, ImageHeader, Message, ProtocolError, PROTOCOL_VERSION,
};
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};
use serde_json::{Map as JsonMap, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Registry kind.
pub(crate) const KIND: &str = "subprocess";
/// Stderr lines of the plugin kept for error messages.
const STDERR_TAIL_LINES: usize = 20;
/// How long a plugin gets to exit after `shutdown` (or to be reaped after a failure).
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// How to start a plugin process.
#[derive(Clone, Debug)]
pub struct SubprocessConfig {
    /// Registry kind the errors name (`subprocess`, or `plugin` for an isolated plugin).
    pub kind: &'static str,
    /// Parameter the errors about starting the process name (`command`, or `isolate`).
    pub command_param: &'static str,
    /// Program and arguments.
    pub command: Vec<String>,
    /// Working directory of the process; `None` = the harness's.
    pub cwd: Option<PathBuf>,
    /// Sent in `hello` (the suite entry's `params` object).
    pub params: JsonMap<String, Value>,
}

/// A running plugin process.
struct Process {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

/// What the plugin announced in `ready`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ready {
    name: String,
    input_size: InputSize,
    max_batch: usize,
}

/// A localizer served by a child process. A crashed process fails the batch it was given; the
/// next batch starts a fresh one (which must announce the same name, size and batch limit).
pub struct SubprocessLocalizer {
    config: SubprocessConfig,
    ready: Ready,
    process: Option<Process>,
}

impl SubprocessLocalizer {
    /// Starts the process and completes the handshake.
    ///
    /// Errors ([`LocalizerError::BadParameter`]): `config.command_param` when the process cannot
    /// start or does not speak the protocol; the plugin's own parameter (default `params`) when it
    /// refuses its parameters.
    pub fn spawn(config: SubprocessConfig) -> Result<Self, LocalizerError> {
        let (process, ready) = start(&config)?;
        Ok(Self {
            config,
            ready,
            process: Some(process),
        })
    }

    /// Sends one batch and reads its answer; `Err` leaves the process unusable.
    fn exchange(
        process: &mut Process,
        batch: &[LocalizerInput<'_>],
    ) -> Result<(Message, Vec<u8>), ProtocolError> {
        let images = batch
            .iter()
            .map(|input| ImageHeader {
                id: input.id.to_string(),
                width: input.image.width(),
                height: input.image.height(),
            })
            .collect();
        let payload: Vec<&[u8]> = batch
            .iter()
            .map(|input| input.image.as_raw().as_slice())
            .collect();
        write_frame(&mut process.stdin, &Message::Localize { images }, &payload)?;
        read_frame(&mut process.stdout)
    }
}

fn start(config: &SubprocessConfig) -> Result<(Process, Ready), LocalizerError> {
    let bad = |param: &str, message: String| LocalizerError::BadParameter {
        localizer: config.kind.to_string(),
        param: param.to_string(),
        message,
    };
    let shown = shell_words(&config.command);
    let (program, args) = config.command.split_first().ok_or_else(|| {
        bad(
            config.command_param,
            "the command is empty; give the program and its arguments".into(),
        )
    })?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &config.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().map_err(|e| {
        let cwd = config
            .cwd
            .as_ref()
            .map_or(String::new(), |d| format!(" in '{}'", d.display()));
        bad(
            config.command_param,
            format!(
                "cannot start `{shown}`{cwd}: {e}; check that the program exists and is on PATH"
            ),
        )
    })?;
    let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr = child.stderr.take().expect("piped");
    let tail = Arc::clone(&stderr_tail);
    // Drained continuously so a chatty plugin never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    });
    let mut process = Process {
        stdin: BufWriter::new(child.stdin.take().expect("piped")),
        stdout: BufReader::new(child.stdout.take().expect("piped")),
        child,
        stderr_tail,
    };
    let hello = Message::Hello {
        protocol: PROTOCOL_VERSION,
        params: config.params.clone(),
    };
    let answer = write_frame(&mut process.stdin, &hello, &[])
        .map_err(ProtocolError::from)
        .and_then(|()| read_frame(&mut process.stdout));
    let not_speaking =
        |why: String| format!("`{shown}` did not complete the protocol handshake: {why}");
    match answer {
        Ok((
            Message::Ready {
                protocol,
                name,
                input_size,
                max_batch,
            },
            _,
        )) => {
            if protocol != PROTOCOL_VERSION {
                let message = not_speaking(format!(
                    "it speaks protocol version {protocol}, this harness speaks {PROTOCOL_VERSION}; update the plugin or its client library"
                ));
                shut_down(process);
                return Err(bad(config.command_param, message));
            }
            if max_batch == 0 || input_size.is_some_and(|[w, h]| w == 0 || h == 0) {
                shut_down(process);
                return Err(bad(config.command_param, not_speaking(format!(
                    "its ready message has max_batch {max_batch} and input_size {input_size:?}; max_batch must be ≥ 1 and sizes positive"
                ))));
            }
            let input_size = input_size.map_or(InputSize::Native, |[width, height]| {
                InputSize::Fixed { width, height }
            });
            Ok((
                process,
                Ready {
                    name,
                    input_size,
                    max_batch: max_batch as usize,
                },
            ))
        }
        Ok((Message::Error { message, param }, _)) => {
            shut_down(process);
            Err(bad(param.as_deref().unwrap_or("params"), message))
        }
        Ok((other, _)) => {
            shut_down(process);
            Err(bad(
                config.command_param,
                not_speaking(format!("expected a ready message, got {other:?}")),
            ))
        }
        Err(e) => {
            let why = failure(process, &e);
            Err(bad(config.command_param, not_speaking(why)))
        }
    }
}

/// Sends `shutdown` and waits briefly; kills the process if it lingers.
fn shut_down(mut process: Process) {
    let _ = write_frame(&mut process.stdin, &Message::Shutdown, &[]);
    drop(process.stdin);
    if wait_briefly(&mut process.child).is_none() {
        let _ = process.child.kill();
        let _ = process.child.wait();
    }
}

fn wait_briefly(child: &mut Child) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < EXIT_GRACE => {
                std::thread::sleep(Duration::from_millis(5))
            }
            _ => return None,
        }
    }
}

/// Explains a failed exchange: how the process died (reaping it) or why the stream is bad
/// (killing it), with the last lines it wrote to stderr.
fn failure(mut process: Process, error: &ProtocolError) -> String {
    drop(process.stdin);
    let what = match wait_briefly(&mut process.child) {
        Some(status) => format!("plugin process died: {}", describe_exit(status)),
        None => {
            let _ = process.child.kill();
            let _ = process.child.wait();
            format!("protocol error ({error}); the plugin process was stopped")
        }
    };
    // Give the stderr thread a moment to read the dying process's last words.
    std::thread::sleep(Duration::from_millis(20));
    let tail = process
        .stderr_tail
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if tail.is_empty() {
        what
    } else {
        format!(
            "{what}; its last stderr lines:\n  {}",
            tail.iter().cloned().collect::<Vec<_>>().join("\n  ")
        )
    }
}

/// "signal 11 (SIGSEGV)" or "exit status 3".
fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                4 => " (SIGILL)",
                6 => " (SIGABRT)",
                7 => " (SIGBUS)",
                8 => " (SIGFPE)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// The command as one would type it, for messages.
fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|w| {
            if w.contains(char::is_whitespace) || w.is_empty() {
                format!("'{w}'")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Drop for SubprocessLocalizer {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            shut_down(process);
        }
    }
}

impl Localizer for SubprocessLocalizer {
    fn name(&self) -> &str {
        &self.ready.name
    }

    fn input_size(&self) -> InputSize {
        self.ready.input_size
    }

    fn max_batch(&self) -> usize {
        self.ready.max_batch
    }

    fn localize(
        &mut self,
        batch: &[LocalizerInput<'_>],
    ) -> Result<Vec<Prediction>, LocalizerError> {
        let failed = |message: String| LocalizerError::Failed {
            localizer: self.ready.name.clone(),
            image: batch_label(batch),
            message,
        };
        if batch.len() > self.ready.max_batch {
            return Err(failed(format!(
                "batch of {} exceeds the plugin's max_batch {}",
                batch.len(),
                self.ready.max_batch
            )));
        }
        if self.process.is_none() {
            let (process, ready) = start(&self.config)
                .map_err(|e| failed(format!("restarting the plugin process failed: {e}")))?;
            if ready != self.ready {
                shut_down(process);
                return Err(failed(format!(
                    "the restarted plugin announced {ready:?}, unlike the first start's {:?}; a plugin must be deterministic in what it announces",
                    self.ready
                )));
            }
            self.process = Some(process);
        }
        let process = self.process.as_mut().expect("started above");
        let (answer, payload) = match Self::exchange(process, batch) {
            Ok(answer) => answer,
            Err(e) => {
                let why = failure(self.process.take().expect("running"), &e);
                return Err(failed(format!("{why}; the next batch restarts it")));
            }
        };
        match answer {
            Message::Result { maps } => decode_maps(batch, &maps, &payload).map_err(failed),
            Message::Error { message, .. } => Err(failed(message)),
            other => {
                shut_down(self.process.take().expect("running"));
                Err(failed(format!("protocol error: expected a result message, got {other:?}; the plugin process was stopped")))
            }
        }
    }
}

/// Turns a `result` payload into predictions, checking count and sizes.
fn decode_maps(
    batch: &[LocalizerInput<'_>],
    maps: &[crate::protocol::MapHeader],
    payload: &[u8],
) -> Result<Vec<Prediction>, String> {
    if maps.len() != batch.len() {
        return Err(format!(
            "the plugin returned {} maps for {} images; return one per image, in order",
            maps.len(),
            batch.len()
        ));
    }
    let mut floats = payload
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")));
    batch
        .iter()
        .zip(maps)
        .map(|(input, header)| {
            let (w, h) = input.image.dimensions();
            if (header.width, header.height) != (w, h) {
                return Err(format!(
                    "map for image '{}' is {}×{} but the image is {w}×{h}; return a map the size of the input",
                    input.id, header.width, header.height
                ));
            }
            let values: Vec<f32> = floats.by_ref().take(w as usize * h as usize).collect();
            Ok(Prediction {
                map: Map::from_raw(w, h, values).expect("payload length checked by read_frame"),
                score: header.score,
            })
        })
        .collect()
}
