//! `git vault run`'s child process: start it, relay its stdout and stderr through the masker
//! (or let it inherit them), forward the signals git-vault receives, and turn its end into an
//! exit status the way a shell does (killed by signal N → 128 + N).
//!
//! stdin is always inherited. The child stays in git-vault's process group, so signals that the
//! terminal sends to the whole foreground group (Ctrl-C, Ctrl-\) reach it directly and are not
//! forwarded a second time; signals sent to git-vault alone (`kill`) are forwarded.

use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::{Cause, Origin};
use zeroize::Zeroizing;

use super::mask::{MaskStream, Masker};
use crate::error::{Error, ErrorKind, Result};

/// The signals forwarded to the child.
pub const FORWARDED: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

/// How long the output of the child's leftover descendants is still relayed after it exited.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Where the child's (masked) output goes.
pub struct Sinks {
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
}

/// Runs `cmd` to its end; returns its exit status as a shell reports it. With a masker, its
/// stdout and stderr are piped through it into `sinks`; without, it inherits them.
pub fn run(mut cmd: Command, masker: Option<Arc<Masker>>, sinks: Sinks) -> Result<u8> {
    let mut signals = SignalsInfo::<WithOrigin>::new(FORWARDED).map_err(|e| Error::io("cannot handle signals", e))?;
    cmd.stdin(Stdio::inherit());
    if masker.is_some() {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|e| spawn_error(&cmd, e))?;
    drop(cmd);
    let relays = masker.map(|m| start_relays(&mut child, &m, sinks));
    let exited = Arc::new(Mutex::new(false));
    let pid = Pid::from_child(&child);
    let handle = signals.handle();
    let forwarder = {
        let exited = exited.clone();
        thread::spawn(move || signals.forever().for_each(|origin| forward(&origin, pid, &exited)))
    };
    let status = wait(&mut child, &exited);
    handle.close();
    let _ = forwarder.join();
    if let Some(done) = relays {
        drain(&done);
    }
    Ok(exit_code(status?))
}

/// The error for a command that could not be started; names the program, never the environment.
pub fn spawn_error(cmd: &Command, e: io::Error) -> Error {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let kind =
        if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied) { ErrorKind::InvalidInput } else { ErrorKind::Io };
    Error::new(kind, format!("cannot run {program:?}: {e}"))
        .hint("the command is started directly, without a shell; use sh -c '…' for shell syntax")
}

/// A shell's view of how a process ended: its exit code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(sig)) => (128 + sig).clamp(0, 255) as u8,
        (None, None) => 255,
    }
}

fn forward(origin: &Origin, pid: Pid, exited: &Mutex<bool>) {
    // The terminal signals the whole process group, which includes the child.
    if origin.cause == Cause::Kernel {
        return;
    }
    let Some(sig) = Signal::from_named_raw(origin.signal) else { return };
    let exited = exited.lock().unwrap_or_else(|e| e.into_inner());
    if !*exited {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Waits for the child to end. It is marked as exited while it is still a zombie (so its pid
/// cannot be reused yet), and only then reaped, so a forwarded signal never hits another process.
fn wait(child: &mut Child, exited: &Mutex<bool>) -> Result<ExitStatus> {
    let pid = Pid::from_child(child);
    while let Err(rustix::io::Errno::INTR) = rustix::process::waitid(WaitId::Pid(pid), WaitIdOptions::EXITED | WaitIdOptions::NOWAIT) {}
    *exited.lock().unwrap_or_else(|e| e.into_inner()) = true;
    child.wait().map_err(|e| Error::io("cannot wait for the command", e))
}

/// Starts one relay thread per output stream; each reports on the channel when it is done.
fn start_relays(child: &mut Child, masker: &Arc<Masker>, sinks: Sinks) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        let (tx, stream) = (tx.clone(), masker.stream());
        thread::spawn(move || relay(out, stream, sinks.stdout, &tx));
    }
    if let Some(err) = child.stderr.take() {
        let stream = masker.stream();
        thread::spawn(move || relay(err, stream, sinks.stderr, &tx));
    }
    rx
}

/// Copies `from` to `to` through the masker until end of file. When `to` is closed the pipe is
/// dropped, so the child sees a broken pipe as it would without git-vault.
fn relay(mut from: impl Read, mut stream: MaskStream, mut to: Box<dyn Write + Send>, done: &mpsc::Sender<()>) {
    let mut buf = Zeroizing::new(vec![0u8; 16 * 1024]);
    let mut out = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if n == 0 {
            break;
        }
        out.clear();
        stream.push(&buf[..n], &mut out);
        if to.write_all(&out).and_then(|()| to.flush()).is_err() {
            let _ = done.send(());
            return;
        }
    }
    out.clear();
    stream.finish(&mut out);
    let _ = to.write_all(&out).and_then(|()| to.flush());
    let _ = done.send(());
}

/// Waits for both relays to reach end of file, at most [`DRAIN_GRACE`] after the child ended
/// (a background process it left behind may keep the pipes open).
fn drain(done: &mpsc::Receiver<()>) {
    let deadline = Instant::now() + DRAIN_GRACE;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        if done.recv_timeout(left).is_err() {
            return;
        }
    }
}
