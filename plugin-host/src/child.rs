//! A plugin's child process, spoken to without ever blocking the host for longer than a deadline:
//! frames go through an I/O thread (a write can block as long as a read when the plugin stops
//! reading), the exit is watched by a waiter thread, stderr is drained into a bounded tail, and
//! the process's group is killed on every way out.

use crate::groups;
use crate::protocol::{read_frame_within, write_frame, Message, ProtocolError};
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bytes of the end of a plugin's stderr kept for error messages.
pub(crate) const STDERR_TAIL_BYTES: usize = 4096;
/// How long a killed process gets to be reaped, and its stderr to reach end of file; only a
/// process outside our reach (a grandchild that left the group) takes this long.
const AFTERMATH: Duration = Duration::from_secs(1);

/// A frame and its answer, from the I/O thread.
pub(crate) type Frame = (Message, Vec<u8>);

/// Why [`PluginProcess::request`] got no answer.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// No answer within the deadline; the process is still running.
    TimedOut,
    /// Writing the request or reading the answer failed.
    Protocol(ProtocolError),
}

/// How a process ended ([`PluginProcess::end`]).
pub(crate) struct Ended {
    /// Its exit status; `None` if it could not even be reaped after the kill.
    pub status: Option<ExitStatus>,
    /// It did not exit by itself within the grace period and was killed.
    pub killed: bool,
    /// The end of its stderr, "" if it wrote nothing.
    pub stderr: String,
}

/// One message for the I/O thread: bytes to write and, if an answer is expected, the largest
/// payload that answer may carry.
struct Request {
    frame: Vec<u8>,
    answer_limit: Option<u64>,
}

/// A running plugin process, leader of its own process group.
pub(crate) struct PluginProcess {
    pid: u32,
    /// `None` once the host has nothing more to send (the I/O thread then closes stdin).
    requests: Option<Sender<Request>>,
    replies: Receiver<Result<Frame, ProtocolError>>,
    exit: Receiver<io::Result<ExitStatus>>,
    stderr: StderrTail,
    /// The group was killed and forgotten by [`Self::end`].
    ended: bool,
}

impl PluginProcess {
    /// Starts `program` with `args` in `cwd`, with piped stdin/stdout/stderr, as the leader of a
    /// new process group.
    pub fn spawn(program: &str, args: &[String], cwd: Option<&Path>) -> io::Result<Self> {
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn()?;
        let pid = child.id();
        groups::register(pid);
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = StderrTail::drain(child.stderr.take().expect("piped"));
        let (requests, requests_rx) = mpsc::channel();
        let (replies_tx, replies) = mpsc::channel();
        std::thread::spawn(move || serve_io(stdin, stdout, requests_rx, replies_tx));
        let (exit_tx, exit) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = exit_tx.send(child.wait());
        });
        Ok(Self {
            pid,
            requests: Some(requests),
            replies,
            exit,
            stderr,
            ended: false,
        })
    }

    /// Sends `message` with `payload` and waits at most `timeout` for the answer, whose payload
    /// may be at most `answer_limit` bytes. After an error the process is unusable: end it.
    pub fn request(
        &mut self,
        message: &Message,
        payload: &[&[u8]],
        answer_limit: u64,
        timeout: Duration,
    ) -> Result<Frame, RequestError> {
        self.send(message, payload, Some(answer_limit));
        match self.replies.recv_timeout(timeout) {
            Ok(reply) => reply.map_err(RequestError::Protocol),
            Err(RecvTimeoutError::Timeout) => Err(RequestError::TimedOut),
            // The I/O thread is gone only after a failed exchange it already reported.
            Err(RecvTimeoutError::Disconnected) => {
                Err(RequestError::Protocol(ProtocolError::Closed))
            }
        }
    }

    /// Sends `message` without waiting for an answer (`shutdown`).
    pub fn tell(&mut self, message: &Message) {
        self.send(message, &[], None);
    }

    fn send(&mut self, message: &Message, payload: &[&[u8]], answer_limit: Option<u64>) {
        let mut frame = Vec::new();
        write_frame(&mut frame, message, payload).expect("writing to memory succeeds");
        if let Some(requests) = &self.requests {
            // A closed channel means the I/O thread stopped after a failure, which the next
            // `request` reports as a closed stream.
            let _ = requests.send(Request {
                frame,
                answer_limit,
            });
        }
    }

    /// Ends the process: with a `grace` period it may exit by itself (stdin is closed once the
    /// queued messages are written); then its whole group is killed, whatever it left running.
    pub fn end(mut self, grace: Option<Duration>) -> Ended {
        self.requests = None;
        let exited = grace.and_then(|grace| self.wait(grace));
        // A live leader holds the group id; a reaped one's id stays reserved while any member of
        // the group lives, and with none left the kill finds nothing.
        groups::kill(self.pid);
        groups::unregister(self.pid);
        self.ended = true;
        let killed = exited.is_none();
        let status = exited.or_else(|| self.wait(AFTERMATH));
        Ended {
            status,
            killed,
            stderr: self.stderr.finish(AFTERMATH),
        }
    }

    /// The exit status, if the process exits within `timeout`.
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.exit.recv_timeout(timeout).ok()?.ok()
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        if !self.ended {
            groups::kill(self.pid);
            groups::unregister(self.pid);
        }
    }
}

/// The I/O thread: writes each request and, when one is expected, reads its answer. Stops at the
/// first failure or when the host drops the request channel, closing the plugin's stdin.
fn serve_io(
    mut stdin: ChildStdin,
    stdout: ChildStdout,
    requests: Receiver<Request>,
    replies: Sender<Result<Frame, ProtocolError>>,
) {
    let mut stdout = BufReader::new(stdout);
    for request in requests {
        let written = stdin.write_all(&request.frame).and_then(|()| stdin.flush());
        let Some(limit) = request.answer_limit else {
            if written.is_err() {
                return;
            }
            continue;
        };
        let reply = written
            .map_err(ProtocolError::from)
            .and_then(|()| read_frame_within(&mut stdout, limit));
        let failed = reply.is_err();
        if replies.send(reply).is_err() || failed {
            return;
        }
    }
}

/// The last [`STDERR_TAIL_BYTES`] of a process's stderr, read continuously by a thread so the
/// plugin never blocks on a full pipe, however much it writes.
struct StderrTail {
    tail: Arc<Mutex<Tail>>,
    /// Disconnects when the reader thread ends (end of file on stderr).
    done: Receiver<()>,
}

#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
    omitted: u64,
}

impl StderrTail {
    fn drain(mut stderr: ChildStderr) -> Self {
        let tail = Arc::new(Mutex::new(Tail::default()));
        let (done_tx, done) = mpsc::channel::<()>();
        let shared = Arc::clone(&tail);
        std::thread::spawn(move || {
            let _done = done_tx;
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = match stderr.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let mut tail = shared.lock().unwrap_or_else(|e| e.into_inner());
                tail.bytes.extend_from_slice(&buffer[..n]);
                let excess = tail.bytes.len().saturating_sub(STDERR_TAIL_BYTES);
                if excess > 0 {
                    tail.bytes.drain(..excess);
                    tail.omitted += excess as u64;
                }
            }
        });
        Self { tail, done }
    }

    /// Waits up to `timeout` for the end of the stream, then renders the tail: "" when nothing
    /// was written, else the text, led by "… N bytes omitted …" when it was cut.
    fn finish(&self, timeout: Duration) -> String {
        let _ = self.done.recv_timeout(timeout);
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let mut bytes = tail.bytes.as_slice();
        let mut omitted = tail.omitted;
        if omitted > 0 {
            // Start at a character boundary, not inside a cut UTF-8 sequence.
            let skip = bytes
                .iter()
                .take(3)
                .take_while(|&&b| b & 0xC0 == 0x80)
                .count();
            bytes = &bytes[skip..];
            omitted += skip as u64;
        }
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_end();
        if omitted == 0 {
            text.to_string()
        } else {
            format!("… {omitted} bytes omitted …\n{text}")
        }
    }
}
