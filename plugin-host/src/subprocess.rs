//! `subprocess`: a localizer in another process speaking the subprocess protocol over its
//! stdin/stdout (docs/plugins.md). Also runs `isolate: true` plugins (in `localizer-host`).

use crate::batch_label;
use crate::child::{PluginProcess, RequestError};
use crate::protocol::{ImageHeader, Message, PROTOCOL_VERSION};
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};
use serde_json::{Map as JsonMap, Value};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Registry kind.
pub(crate) const KIND: &str = "subprocess";
/// Default of `hello_timeout_s`: starting the process and answering `hello` (loading a model).
pub const DEFAULT_HELLO_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of `timeout_s`: answering one `localize` request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a plugin gets to exit after `shutdown`, or to finish dying after its stream ended.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Timed-out batches in a row after which a plugin is not restarted: a plugin that hangs on
/// everything would otherwise cost the timeout once per batch of the run.
const TIMEOUTS_BEFORE_GIVING_UP: u32 = 2;

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
    /// Longest wait for `ready` after `hello` (`hello_timeout_s`).
    pub hello_timeout: Duration,
    /// Longest wait for the answer to a `localize` (`timeout_s`).
    pub timeout: Duration,
}

/// What the plugin announced in `ready`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ready {
    name: String,
    input_size: InputSize,
    max_batch: usize,
}

/// A localizer served by a child process. A crashed or timed-out process fails the batch it was
/// given; the next batch starts a fresh one (which must announce the same name, size and batch
/// limit), unless the last [`TIMEOUTS_BEFORE_GIVING_UP`] batches all timed out.
pub struct SubprocessLocalizer {
    config: SubprocessConfig,
    ready: Ready,
    process: Option<PluginProcess>,
    /// Tries in a row that timed out (a restart whose handshake timed out counts too).
    timeouts_in_a_row: u32,
    /// The error of the last try that timed out.
    last_timeout: String,
}

/// A failed start: the error, and whether it was the handshake timing out.
struct StartFailure {
    error: LocalizerError,
    timed_out: bool,
}

impl SubprocessLocalizer {
    /// Starts the process and completes the handshake.
    ///
    /// Errors ([`LocalizerError::BadParameter`]): `config.command_param` when the process cannot
    /// start, does not speak the protocol or does not answer within `config.hello_timeout`; the
    /// plugin's own parameter (default `params`) when it refuses its parameters.
    pub fn spawn(config: SubprocessConfig) -> Result<Self, LocalizerError> {
        let (process, ready) = start(&config).map_err(|f| f.error)?;
        Ok(Self {
            config,
            ready,
            process: Some(process),
            timeouts_in_a_row: 0,
            last_timeout: String::new(),
        })
    }
}

fn start(config: &SubprocessConfig) -> Result<(PluginProcess, Ready), StartFailure> {
    let bad = |param: &str, message: String| StartFailure {
        error: LocalizerError::BadParameter {
            localizer: config.kind.to_string(),
            param: param.to_string(),
            message,
        },
        timed_out: false,
    };
    let shown = shell_words(&config.command);
    let (program, args) = config.command.split_first().ok_or_else(|| {
        bad(
            config.command_param,
            "the command is empty; give the program and its arguments".into(),
        )
    })?;
    let mut process = PluginProcess::spawn(program, args, config.cwd.as_deref()).map_err(|e| {
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
    let hello = Message::Hello {
        protocol: PROTOCOL_VERSION,
        params: config.params.clone(),
    };
    let answer = process.request(&hello, &[], 0, config.hello_timeout);
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
            let timed_out = matches!(e, RequestError::TimedOut);
            let deadline = (
                config.hello_timeout,
                "hello_timeout_s; raise it if the plugin needs longer to start",
            );
            let why = failure(process, e, deadline, "");
            Err(StartFailure {
                timed_out,
                ..bad(config.command_param, not_speaking(why))
            })
        }
    }
}

/// Sends `shutdown` and gives the process [`EXIT_GRACE`] to exit before its group is killed.
fn shut_down(mut process: PluginProcess) {
    process.tell(&Message::Shutdown);
    process.end(Some(EXIT_GRACE));
}

/// Explains a failed request, ending the process: a timeout or a protocol violation kills it at
/// once; a stream that ended or failed waits for it to die and says how it did. `timeout` and
/// `param` describe the deadline that applied; `then` (what happens next) follows the
/// explanation, and the end of the process's stderr comes last.
fn failure(
    process: PluginProcess,
    error: RequestError,
    (timeout, param): (Duration, &str),
    then: &str,
) -> String {
    let (what, ended) = match error {
        RequestError::TimedOut => (
            format!(
                "timed out after {} s ({param}); its process group was killed",
                timeout.as_secs_f64()
            ),
            process.end(None),
        ),
        RequestError::Protocol(e) if e.is_violation() => (
            format!("protocol violation: {e}; the plugin process was stopped"),
            process.end(None),
        ),
        RequestError::Protocol(e) => {
            let ended = process.end(Some(EXIT_GRACE));
            let what = match ended.status {
                Some(status) if !ended.killed => {
                    format!("plugin process died: {}", describe_exit(status))
                }
                _ => format!("protocol error ({e}); the plugin process was stopped"),
            };
            (what, ended)
        }
    };
    if ended.stderr.is_empty() {
        format!("{what}{then}")
    } else {
        format!(
            "{what}{then}; the end of its stderr:\n  {}",
            ended.stderr.replace('\n', "\n  ")
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
        let name = self.ready.name.clone();
        let failed = |message: String| LocalizerError::Failed {
            localizer: name.clone(),
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
        if self.timeouts_in_a_row >= TIMEOUTS_BEFORE_GIVING_UP {
            return Err(failed(format!(
                "not run: the plugin timed out on its last {} tries and is not restarted again; \
                 the last one: {}",
                self.timeouts_in_a_row, self.last_timeout
            )));
        }
        if self.process.is_none() {
            let (process, ready) = match start(&self.config) {
                Ok(started) => started,
                Err(f) => {
                    let why = format!("restarting the plugin process failed: {}", f.error);
                    self.count_timeout(f.timed_out.then_some(&why));
                    return Err(failed(why));
                }
            };
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
        // The answer carries one f32 map per image at the image's size, and nothing more.
        let maps_bytes = batch
            .iter()
            .map(|input| 4 * u64::from(input.image.width()) * u64::from(input.image.height()))
            .sum();
        let answer = process.request(
            &Message::Localize { images },
            &payload,
            maps_bytes,
            self.config.timeout,
        );
        let (answer, payload) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let timed_out = matches!(e, RequestError::TimedOut);
                let process = self.process.take().expect("running");
                let deadline = (self.config.timeout, "timeout_s");
                let why = failure(process, e, deadline, "; the next batch restarts it");
                self.count_timeout(timed_out.then_some(&why));
                return Err(failed(why));
            }
        };
        self.count_timeout(None);
        match answer {
            Message::Result { maps } => decode_maps(batch, &maps, &payload).map_err(failed),
            Message::Error { message, .. } => Err(failed(message)),
            other => {
                shut_down(self.process.take().expect("running"));
                Err(failed(format!("protocol violation: expected a result message, got {other:?}; the plugin process was stopped")))
            }
        }
    }
}

impl SubprocessLocalizer {
    /// Counts a try that timed out (with its error) towards giving up; any other outcome
    /// resets the count.
    fn count_timeout(&mut self, timed_out: Option<&String>) {
        match timed_out {
            Some(why) => {
                self.timeouts_in_a_row += 1;
                self.last_timeout.clone_from(why);
            }
            None => self.timeouts_in_a_row = 0,
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
