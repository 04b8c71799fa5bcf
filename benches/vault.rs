//! Vault speed benchmark (`harness = false`): `cargo bench --bench vault`.
//!
//! Measures, with the release binary, in one invocation:
//! - `get` against the Go `age -d` decrypting the same file with the same key (the reference run);
//! - `set` on vaults of 10, 100, 1,000 and 10,000 secrets (flat as the vault grows?), beside
//!   `git add` + `git commit` of one file in the same repository, the reference for how a commit's
//!   cost grows there; the vaults are timed in turn, round after round, so that the ratios between
//!   sizes hold on a machine whose speed drifts;
//! - `grant` (re-encrypting every secret of a group) over 1,000 and 10,000 secrets;
//! - the pre-commit hook's cost on a typical commit.
//!
//! Prints medians and the ratios against the reference and against the targets of the issue
//! (the earlier tool: get ≈ 11× `age -d`, set ≈ 90 ms growing with N, grant over 1,000 ≈ 1.8 s).
//!
//! Set BENCH_QUICK=1 for fewer iterations and no 10,000-secret vault, BENCH_ONLY=get,set,grant,hook
//! to run some parts only, BENCH_KEEP_VAULT=N to keep a vault of N secrets for experiments.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git_vault::crypto;
use git_vault::store;
use git_vault::vault::{GroupName, Manifest, Meta, SecretPath, Timestamp};

const BIN: &str = env!("CARGO_BIN_EXE_git-vault");

/// A throwaway HOME and repository with a vault of `n` secrets in group `g` and an agent `ci`.
struct Bench {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
}

fn cmd(b: &Bench, program: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &b.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", b.home.join(".gitconfig"))
        .current_dir(&b.repo)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn run_ok(mut c: Command) {
    let st = c.status().expect("runs");
    assert!(st.success(), "{c:?} failed");
}

impl Bench {
    fn new(n: usize) -> Bench {
        let tmp = tempfile::tempdir().expect("temp dir");
        let (home, repo) = (tmp.path().join("home"), tmp.path().join("repo"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(home.join(".gitconfig"), "[user]\n\tname = Bench\n\temail = bench@example.com\n").unwrap();
        let b = Bench { _tmp: tmp, home, repo };
        let mut git = cmd(&b, "git");
        git.args(["init", "-q"]);
        run_ok(git);
        // git's automatic gc would repack in the background after the first bulk commits and
        // add its own noise to every later measurement
        let mut gc = cmd(&b, "git");
        gc.args(["config", "gc.auto", "0"]);
        run_ok(gc);
        let mut init = cmd(&b, BIN);
        init.args(["init", "--owner", "bench"]);
        run_ok(init);
        let mut add = cmd(&b, BIN);
        add.args(["add-agent", "ci"]);
        run_ok(add);
        b.fill(n);
        b
    }

    /// Writes `n` secrets of group g directly (as `set` would, without n commits), one commit.
    fn fill(&self, n: usize) {
        let v = self.repo.join(".agent-vault");
        let owner = git_vault::keys::load(&self.home.join(".agent-vault/owner.key"), "owner").unwrap();
        let mut m: Manifest = serde_saphyr::from_str(&std::fs::read_to_string(v.join("manifest.yaml")).unwrap()).unwrap();
        let now = Timestamp::now();
        let group = GroupName::parse("g").unwrap();
        for i in 0..n {
            let path = SecretPath::parse(&format!("g/secret-{i:05}")).unwrap();
            let ct = crypto::encrypt(&[owner.recipient()], format!("value-{i}").as_bytes()).unwrap();
            store::write_atomic(&v.join(format!("secrets/{path}.enc")), &ct).unwrap();
            let meta = Meta::new(path.clone(), group.clone(), now);
            store::write_atomic(&v.join(format!("secrets/{path}.meta")), store::to_yaml(&meta).unwrap().as_bytes()).unwrap();
            m.add_secret(&path, &group);
        }
        store::write_atomic(&v.join("manifest.yaml"), store::to_yaml(&m).unwrap().as_bytes()).unwrap();
        let mut add = cmd(self, "git");
        add.args(["add", "-A"]);
        run_ok(add);
        let mut commit = cmd(self, "git");
        commit.args(["commit", "-q", "--no-verify", "-m", "fill"]);
        run_ok(commit);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut f: impl FnMut(), runs: usize) -> Duration {
    f(); // warm up caches
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench_get(quick: bool) {
    let b = Bench::new(1);
    let key = b.home.join(".agent-vault/owner.key");
    let enc = b.repo.join(".agent-vault/secrets/g/secret-00000.enc");
    let runs = if quick { 20 } else { 200 };
    let age = time(
        || {
            let mut c = cmd(&b, "age");
            c.args(["-d", "-i"]).arg(&key).arg(&enc);
            run_ok(c)
        },
        runs,
    );
    let ours = time(
        || {
            let mut c = cmd(&b, BIN);
            c.args(["get", "--no-pull", "g/secret-00000", "--key"]).arg(&key);
            run_ok(c)
        },
        runs,
    );
    println!(
        "get      : {:7.2} ms   age -d: {:6.2} ms   ratio {:.2}× (target ≤ 1.2×; the earlier tool ≈ 11×)",
        ms(ours),
        ms(age),
        ours.as_secs_f64() / age.as_secs_f64()
    );
}

/// One run of `f`, timed.
fn once(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn bench_set(quick: bool) {
    let sizes: &[usize] = if quick { &[10, 1000] } else { &[10, 100, 1000, 10_000] };
    let runs = if quick { 5 } else { 15 };
    let vaults: Vec<Bench> = sizes.iter().map(|&n| Bench::new(n)).collect();
    // every round times each vault in turn, so that the machine's drift (a third and more on the
    // VM this was written on) weighs on every size alike and the ratios between sizes hold
    let mut samples = vec![[Vec::new(), Vec::new(), Vec::new()]; vaults.len()];
    for round in 0..=runs {
        for (b, [update, new, git]) in vaults.iter().zip(&mut samples) {
            let u = once(|| {
                let mut c = cmd(b, BIN);
                c.args(["set", "g/secret-00000", "new-value"]);
                run_ok(c)
            });
            let n = once(|| {
                let mut c = cmd(b, BIN);
                c.args(["set", &format!("h/new-{round}"), "v"]);
                run_ok(c)
            });
            // the reference for "flat": what a commit of one file of the user's own costs in the
            // same repository, through git
            let g = once(|| {
                std::fs::write(b.repo.join("notes.txt"), format!("{round}\n")).unwrap();
                let mut add = cmd(b, "git");
                add.args(["add", "notes.txt"]);
                run_ok(add);
                let mut commit = cmd(b, "git");
                commit.args(["commit", "-q", "--no-verify", "-m", "notes"]);
                run_ok(commit)
            });
            if round > 0 {
                // (round 0 warms the caches)
                update.push(u);
                new.push(n);
                git.push(g);
            }
        }
    }
    let medians: Vec<[Duration; 3]> = samples.into_iter().map(|s| s.map(median)).collect();
    let [_, base_new, base_git] = medians[0];
    for (&n, [update, new, git]) in sizes.iter().zip(medians) {
        println!(
            "set      : {:7.2} ms new, {:7.2} ms update  in a vault of {n:>6} secrets   (new vs 10 secrets: {:.2}×; target < 20 ms, flat)   git add + commit of a file: {:6.2} ms ({:.2}×)",
            ms(new),
            ms(update),
            new.as_secs_f64() / base_new.as_secs_f64(),
            ms(git),
            git.as_secs_f64() / base_git.as_secs_f64()
        );
    }
}

fn bench_grant(quick: bool) {
    let sizes: &[usize] = if quick { &[1000] } else { &[1000, 10_000] };
    for &n in sizes {
        let b = Bench::new(n);
        let mut grant = true;
        let d = time(
            || {
                let mut c = cmd(&b, BIN);
                c.args([if grant { "grant" } else { "revoke" }, "ci", "g"]);
                grant = !grant;
                run_ok(c)
            },
            3,
        );
        let target = if n == 1000 {
            "earlier tool ≈ 1800 ms; target ≥ 4× faster, ≤ 450 ms".to_owned()
        } else {
            "target < 3000 ms".to_owned()
        };
        println!(
            "grant    : {:7.0} ms re-encrypting {n:>6} secrets   ({:.2}× faster than 1.8 s per 1,000; {target})",
            ms(d),
            1800.0 * n as f64 / 1000.0 / ms(d)
        );
    }
}

/// The pre-commit hook on a typical commit (one small source file staged) in a repository with
/// a vault of 50 secrets: `git commit` with the hook against `git commit --no-verify`.
fn bench_hook(quick: bool) {
    let b = Bench::new(50);
    let runs = if quick { 10 } else { 40 };
    let mut i = 0;
    let mut commit = |verify: bool| {
        i += 1;
        std::fs::write(b.repo.join("app.py"), format!("print('hello {i}')\nTIMEOUT = {i}\n")).unwrap();
        let mut add = cmd(&b, "git");
        add.args(["add", "app.py"]);
        run_ok(add);
        let mut c = cmd(&b, "git");
        c.env("PATH", format!("{}:{}", std::path::Path::new(BIN).parent().unwrap().display(), std::env::var("PATH").unwrap_or_default()));
        c.args(["commit", "-q", "-m", "change"]);
        if !verify {
            c.arg("--no-verify");
        }
        run_ok(c)
    };
    let with = time(|| commit(true), runs);
    let without = time(|| commit(false), runs);
    println!(
        "hook     : commit {:6.2} ms with the scan, {:6.2} ms without: the hook adds {:5.2} ms (target < 50 ms; gitleaks ≈ 1 s)",
        ms(with),
        ms(without),
        ms(with) - ms(without)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    if let Some(n) = std::env::var("BENCH_KEEP_VAULT").ok().and_then(|n| n.parse().ok()) {
        let b = Bench::new(n);
        let kept = b._tmp.keep();
        println!("a vault of {n} secrets: HOME={} repo={}", kept.join("home").display(), kept.join("repo").display());
        return;
    }
    assert!(Command::new("age").arg("--version").output().is_ok(), "the Go `age` CLI is the reference (apt-get install age)");
    println!("git-vault {} ({BIN})", env!("CARGO_PKG_VERSION"));
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if run("get") {
        bench_get(quick);
    }
    if run("set") {
        bench_set(quick);
    }
    if run("grant") {
        bench_grant(quick);
    }
    if run("hook") {
        bench_hook(quick);
    }
}
