//! The only writer to stdout and stderr: data on stdout, messages on stderr, human or JSON,
//! progress bars only on a terminal, the no-echo prompt for secret values.

use std::io::{self, IsTerminal, Read, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use secrecy::SecretSlice;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
use crate::ops::Progress;

pub struct Ui {
    json: bool,
    quiet: bool,
    stderr_tty: bool,
}

impl Ui {
    pub fn new(json: bool, quiet: bool) -> Ui {
        Ui { json, quiet, stderr_tty: io::stderr().is_terminal() }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// Pretty JSON and a newline on stdout.
    pub fn out_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let text = Zeroizing::new(serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?);
        self.out_bytes(text.as_bytes())?;
        self.out_bytes(b"\n")
    }

    /// One line of data on stdout.
    pub fn out_line(&self, line: &str) -> Result<()> {
        self.out_bytes(format!("{line}\n").as_bytes())
    }

    /// Exact bytes on stdout. A closed pipe (`| head`) is not an error.
    pub fn out_bytes(&self, bytes: &[u8]) -> Result<()> {
        let mut out = io::stdout().lock();
        match out.write_all(bytes).and_then(|()| out.flush()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::io("cannot write to stdout", e)),
            _ => Ok(()),
        }
    }

    /// The raw output streams, for relaying a child process's (already masked) output as is
    /// (`git vault run`).
    pub fn child_sinks(&self) -> (io::Stdout, io::Stderr) {
        (io::stdout(), io::stderr())
    }

    /// A message for people on stderr (silenced by --quiet).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "{msg}");
        }
    }

    pub fn warn(&self, msg: &str) {
        let _ = writeln!(io::stderr(), "warning: {msg}");
    }

    pub fn error(&self, e: &Error) {
        let mut err = io::stderr().lock();
        if self.json {
            let _ = writeln!(err, "{}", serde_json::to_string(&e.to_json()).unwrap_or_default());
            return;
        }
        let _ = writeln!(err, "error: {}", e.full_message());
        if let Some(h) = e.hint_text() {
            let _ = writeln!(err, "hint: {h}");
        }
    }

    /// A progress bar on a terminal; nothing otherwise.
    pub fn progress(&self) -> Box<dyn Progress> {
        if self.stderr_tty && !self.quiet && !self.json { Box::new(Bar(ProgressBar::hidden())) } else { Box::new(crate::ops::NoProgress) }
    }

    /// The value of a secret from stdin: a no-echo prompt on a terminal, else every byte.
    pub fn read_secret(&self, prompt: &str) -> Result<SecretSlice<u8>> {
        if io::stdin().is_terminal() {
            let line =
                Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| Error::io("cannot read the value from the terminal", e))?);
            return Ok(SecretSlice::from(line.as_bytes().to_vec()));
        }
        let mut buf = Zeroizing::new(Vec::new());
        io::stdin().read_to_end(&mut buf).map_err(|e| Error::io("cannot read the value from stdin", e))?;
        Ok(SecretSlice::from(std::mem::take(&mut *buf)))
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64, what: &str) {
        if total < 20 {
            return;
        }
        self.0.set_draw_target(ProgressDrawTarget::stderr());
        self.0.set_length(total);
        self.0.set_style(ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} {eta}").expect("a valid template"));
        self.0.set_message(what.to_owned());
    }
    fn tick(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// The error for a value that may not be used.
pub fn empty_value() -> Error {
    Error::new(ErrorKind::InvalidInput, "the value is empty").hint("pipe the value on stdin, or use --from-file FILE")
}
