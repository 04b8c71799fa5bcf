//! The MCP `agent_vault_run` child: started in its own process group with stdin closed (the
//! server's stdin is the protocol), its stdout and stderr captured through the masker and
//! bounded in size, stopped at a timeout (SIGTERM to the group, SIGKILL after a grace), and any
//! process it leaves behind killed when it ends.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{Pid, Signal};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use zeroize::Zeroizing;

use super::mask::{MaskStream, Masker};
use super::relay::{exit_code, spawn_error};
use crate::error::{Error, Result};

/// Time between SIGTERM and SIGKILL when a command is stopped.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long output is still collected after the command ended.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// Bytes kept of each stream (after masking); the rest is counted as truncated.
    pub max_output: usize,
}

/// How a captured command ended, and its masked output.
#[derive(Debug, Clone, Serialize)]
pub struct Captured {
    /// The shell's view: the exit code, or 128 + N when killed by signal N.
    pub exit_code: u8,
    /// The signal that killed the command, if one did.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// Whether output beyond the size limit was dropped.
    pub truncated: bool,
}

#[derive(Default)]
struct Collected {
    data: Vec<u8>,
    truncated: bool,
}

type Shared = Arc<Mutex<Collected>>;

/// Runs `cmd` with the limits; output is masked before it is stored.
pub async fn run(mut cmd: std::process::Command, masker: Arc<Masker>, limits: Limits) -> Result<Captured> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut command = tokio::process::Command::from(cmd);
    command.kill_on_drop(true);
    let spawned = command.spawn().map_err(|e| spawn_error(command.as_std(), e));
    drop(command); // its copy of the environment holds the values
    let mut child = spawned?;
    let group = child.id().and_then(|id| i32::try_from(id).ok()).and_then(Pid::from_raw);
    let (out, err) = (Shared::default(), Shared::default());
    let tasks = [
        tokio::spawn(collect(child.stdout.take(), masker.stream(), out.clone(), limits.max_output)),
        tokio::spawn(collect(child.stderr.take(), masker.stream(), err.clone(), limits.max_output)),
    ];
    let (status, timed_out) = match tokio::time::timeout(limits.timeout, child.wait()).await {
        Ok(status) => (status.map_err(|e| Error::io("cannot wait for the command", e))?, false),
        Err(_) => (stop(&mut child, group).await?, true),
    };
    signal_group(group, Signal::KILL);
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout(DRAIN_GRACE, task).await.is_err() {
            abort.abort(); // a process outside the group holds the pipe; keep what was collected
        }
    }
    let (stdout, t1) = take(&out);
    let (stderr, t2) = take(&err);
    Ok(Captured { exit_code: exit_code(status), signal: status.signal(), timed_out, stdout, stderr, truncated: t1 || t2 })
}

async fn stop(child: &mut tokio::process::Child, group: Option<Pid>) -> Result<ExitStatus> {
    signal_group(group, Signal::TERM);
    if let Ok(status) = tokio::time::timeout(KILL_GRACE, child.wait()).await {
        return status.map_err(|e| Error::io("cannot wait for the command", e));
    }
    signal_group(group, Signal::KILL);
    child.wait().await.map_err(|e| Error::io("cannot wait for the command", e))
}

fn signal_group(group: Option<Pid>, sig: Signal) {
    if let Some(pid) = group {
        let _ = rustix::process::kill_process_group(pid, sig);
    }
}

async fn collect(pipe: Option<impl AsyncRead + Unpin>, mut stream: MaskStream, into: Shared, max: usize) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = Zeroizing::new(vec![0u8; 16 * 1024]);
    let mut out = Vec::new();
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        out.clear();
        if n == 0 {
            stream.finish(&mut out);
            append(&into, &out, max);
            return;
        }
        stream.push(&buf[..n], &mut out);
        append(&into, &out, max);
    }
}

fn append(into: &Shared, bytes: &[u8], max: usize) {
    let mut c = into.lock().unwrap_or_else(|e| e.into_inner());
    let room = max.saturating_sub(c.data.len());
    if bytes.len() > room {
        c.truncated = true;
    }
    c.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

fn take(from: &Shared) -> (String, bool) {
    let c = from.lock().unwrap_or_else(|e| e.into_inner());
    (String::from_utf8_lossy(&c.data).into_owned(), c.truncated)
}
