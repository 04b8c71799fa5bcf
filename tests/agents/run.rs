//! `git vault run`: the child's environment, masking of every form of a value however the output
//! is split, exit statuses, signal forwarding, and the errors that stop anything from running.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::{DB, STRIPE, agent_vault, assert_no_value, files_containing};

/// Prints both values in pieces (with pauses, so reads split them), in base64 (both alphabets),
/// URL-encoded and JSON-escaped, on stdout and stderr.
const LEAKER: &str = r#"
import base64, json, os, sys, time, urllib.parse
for name in ("K", "D"):
    v = os.environ[name]
    for stream in (sys.stdout, sys.stderr):
        for piece in (v[:3], v[3:9], v[9:]):
            stream.write(piece); stream.flush(); time.sleep(0.05)
        stream.write("\n")
        b = v.encode()
        print(base64.b64encode(b).decode(), base64.urlsafe_b64encode(b).decode().rstrip("="), file=stream)
        print(base64.b64encode(b"user:" + b).decode(), file=stream)
        print(urllib.parse.quote(v, safe=""), urllib.parse.quote_plus(v), json.dumps({"v": v}), file=stream)
        stream.flush()
"#;

#[test]
fn output_is_masked_in_every_form_on_both_streams() {
    let env = agent_vault();
    let tmp = env.tmp.path().join("tmpdir");
    std::fs::create_dir(&tmp).unwrap();
    let out = env
        .cmd(&["run", "--env", "K=stripe/api-key", "--env", "D=db/password", "--", "python3", "-c", LEAKER])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_no_value(&out.stdout, &[STRIPE, DB], "stdout");
    assert_no_value(&out.stderr, &[STRIPE, DB], "stderr");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for text in [&stdout, &stderr] {
        assert_eq!(text.matches("<redacted:stripe/api-key>").count(), 7, "{text}");
        assert_eq!(text.matches("<redacted:db/password>").count(), 7, "{text}");
    }
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "no temp files");
    assert!(files_containing(env.tmp.path(), STRIPE.as_bytes()).is_empty(), "no plaintext on disk");
}

#[test]
fn group_names_are_derived_and_the_key_is_not_passed_on() {
    let env = agent_vault();
    let raw = std::fs::read_to_string(env.agent_key("ci")).unwrap();
    let raw = raw.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap().to_owned();
    let script =
        "import os, sys; sys.stdout.write(os.environ.get('STRIPE_API_KEY', '') + '|' + repr(sorted(k for k in os.environ if 'KEY' in k)))";
    let out =
        env.cmd(&["run", "--no-mask", "--group", "stripe", "--", "python3", "-c", script]).env("AGENT_VAULT_KEY", &raw).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{STRIPE}|['STRIPE_API_KEY']"));
    let dump = env.cmd(&["run", "--group", "stripe", "--", "env"]).env("AGENT_VAULT_KEY", &raw).output().unwrap();
    let text = String::from_utf8(dump.stdout).unwrap();
    assert!(text.contains("STRIPE_API_KEY=<redacted:stripe/api-key>"), "{text}");
    assert!(!text.contains("AGENT_VAULT_KEY") && !text.contains(&raw));
    assert!(files_containing(env.tmp.path(), raw.as_bytes()) == vec![env.agent_key("ci")], "the raw key never touches disk");
}

#[test]
fn exit_status_and_stdin_are_the_childs() {
    let env = agent_vault();
    let out = env.cmd(&["run", "--group", "stripe", "--", "sh", "-c", "exit 42"]).output().unwrap();
    assert_eq!(out.status.code(), Some(42));
    let out = env.cmd(&["run", "--group", "stripe", "--", "sh", "-c", "kill -USR2 $$"]).output().unwrap();
    assert_eq!(out.status.code(), Some(128 + 12), "killed by signal N → 128+N");
    let out = env.cmd(&["run", "--group", "stripe", "--", "cat"]).write_stdin("from stdin\n").output().unwrap();
    assert_eq!(out.stdout, b"from stdin\n");
    let out = env.cmd(&["--json", "run", "--group", "stripe", "--", "/nonexistent/program"]).output().unwrap();
    assert_eq!((out.status.code(), error_kind(&out).as_str()), (Some(2), "invalid_input"));
}

/// Starts `git vault run` on a child that prints "ready" and then waits for signals.
fn start_waiting(env: &Env, script: &str) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut cmd = Command::new(BIN);
    hermetic(&mut cmd, &env.home);
    cmd.current_dir(&env.repo).args(["run", "--group", "stripe", "--", "python3", "-c", script]);
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n", "the child's output is relayed at once");
    (child, out)
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < limit, "git vault run did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn signals_are_forwarded_and_the_status_follows_the_child() {
    let env = agent_vault();
    let handler = "import signal, sys, time\n\
        def h(n, f):\n    print('got', n, flush=True); sys.exit(5)\n\
        for s in (signal.SIGUSR1, signal.SIGHUP, signal.SIGINT):\n    signal.signal(s, h)\n\
        print('ready', flush=True)\ntime.sleep(60)\n";
    for (name, number) in [("USR1", 10), ("HUP", 1), ("INT", 2)] {
        let (mut child, mut out) = start_waiting(&env, handler);
        signal(&child, name);
        let status = wait_with_timeout(&mut child, Duration::from_secs(20));
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert_eq!(rest, format!("got {number}\n"), "SIG{name} reached the child, which handled it");
        assert_eq!(status.code(), Some(5), "git vault run survives and returns the child's status");
    }
    let (mut child, _out) = start_waiting(&env, "import time\nprint('ready', flush=True)\ntime.sleep(60)\n");
    signal(&child, "TERM");
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(128 + 15), "a child killed by SIGTERM → 143");
}

#[test]
fn errors_stop_everything_before_the_command_runs() {
    let env = agent_vault();
    let marker = env.tmp.path().join("ran");
    let touch = ["--", "touch", marker.to_str().unwrap()];
    let ci = env.agent_key("ci");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--env", "STRIPE_API_KEY=db/password", "--group", "stripe"], "invalid_input"),
        (vec!["--env", "X=db/password", "--key", ci.to_str().unwrap()], "not_authorized"),
        (vec!["--group", "stripe", "--env", "Y=db/password", "--key", ci.to_str().unwrap()], "not_authorized"),
        (vec!["--env", "X=no/such"], "secret_not_found"),
        (vec!["--group", "nope"], "group_not_found"),
        (vec!["--env", "1X=stripe/api-key"], "invalid_input"),
        (vec!["--env", "X=../escape"], "invalid_name"),
    ];
    for (args, kind) in cases {
        let mut all = vec!["--json", "run"];
        all.extend(&args);
        all.extend(touch);
        let out = env.cmd(&all).output().unwrap();
        assert_eq!((out.status.code(), error_kind(&out)), (Some(2), kind.to_owned()), "{args:?}");
        assert!(!marker.exists(), "{args:?}: the command must not run");
        assert_no_value(&out.stderr, &[STRIPE, DB], "the error");
    }
    let collision = env.cmd(&["run", "--env", "STRIPE_API_KEY=db/password", "--group", "stripe", "--", "true"]).output().unwrap();
    assert!(String::from_utf8_lossy(&collision.stderr).contains("STRIPE_API_KEY would hold two secrets"));
}

#[test]
fn short_values_are_not_masked_and_a_warning_says_so() {
    let env = agent_vault();
    env.set("tiny/pin", b"123", &[]);
    let out = env.cmd(&["run", "--env", "P=tiny/pin", "--", "sh", "-c", "echo pin=$P 123"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"pin=123 123\n");
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("\"tiny/pin\" is shorter than 4 bytes"), "{warning}");
    assert!(!warning.contains("123"));
}

#[test]
fn a_closed_stdout_ends_the_child_like_a_pipe() {
    let env = agent_vault();
    let mut cmd = Command::new(BIN);
    hermetic(&mut cmd, &env.home);
    cmd.current_dir(&env.repo).args(["run", "--group", "stripe", "--", "yes", "output"]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    drop(out);
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(128 + 13), "yes dies of SIGPIPE, as in a shell pipeline");
}
