//! Scanner throughput and latency benchmark (`harness = false`).
//!
//!     cargo bench --bench scan -- TREE_DIR [ITERATIONS]
//!
//! Loads every file of TREE_DIR into memory (skipping `.git`), then runs
//! `Scanner::scan_all` over all of it with rayon's default pool and with a one-thread pool,
//! measuring wall time and this process's CPU time (utime + stime from /proc/self/stat).
//! Also measures the latency of a 2 KB input, scanner construction included.
//! Prints human-readable lines and `RESULT key=value` lines for `bench/scan/run.sh`.

use std::path::Path;
use std::time::{Duration, Instant};

use git_vault::scan::{ScanOptions, Scanner};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // fields[0] is field 3 (state), so field N is fields[N - 3]. Linux USER_HZ is 100.
    (ticks(11) + ticks(12)) / 100.0
}

fn load(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if p.is_dir() {
            load(&p, root, out);
        } else if let Ok(data) = std::fs::read(&p) {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
            out.push((rel, data));
        }
    }
}

struct Run {
    wall: Duration,
    cpu: f64,
    findings: usize,
}

fn run(scanner: &Scanner, files: &[(String, Vec<u8>)], iterations: usize, threads: Option<usize>) -> Run {
    let copies: Vec<Vec<(String, Vec<u8>)>> = (0..iterations).map(|_| files.to_vec()).collect();
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n);
    }
    let pool = builder.build().expect("thread pool");
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut findings = 0;
    for c in copies {
        findings = pool.install(|| scanner.scan_all(c)).len();
    }
    Run { wall: t0.elapsed(), cpu: cpu_seconds() - cpu0, findings }
}

fn small_input() -> Vec<u8> {
    let mut s = String::from("# service config\n");
    while s.len() < 2000 {
        s.push_str("server:\n  host: 0.0.0.0\n  port: 8080\ndatabase:\n  user: app\n  password: ${DB_PASSWORD}\n");
        s.push_str("logging:\n  level: info\n  token_ttl: 3600\n# see https://docs.acme.test/config\n");
    }
    s.into_bytes()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn latency() -> (f64, f64) {
    let data = small_input();
    let mut with_build = Vec::new();
    let mut scan_only = Vec::new();
    for _ in 0..15 {
        let t0 = Instant::now();
        let scanner = Scanner::new(ScanOptions::default()).expect("scanner");
        let t1 = Instant::now();
        let f = scanner.scan_bytes("config.yaml", &data);
        let t2 = Instant::now();
        assert!(f.is_empty(), "small input has no secret");
        with_build.push((t2 - t0).as_secs_f64() * 1e3);
        scan_only.push((t2 - t1).as_secs_f64() * 1e3);
    }
    (median(with_build), median(scan_only))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: cargo bench --bench scan -- TREE_DIR [ITERATIONS]");
        let (build, scan) = latency();
        println!("small input (2 KB): {build:.2} ms incl. scanner construction, {scan:.3} ms scan only");
        return;
    };
    let iterations = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let root = Path::new(dir);
    let mut files = Vec::new();
    load(root, root, &mut files);
    let bytes: usize = files.iter().map(|(_, d)| d.len()).sum();
    let mb = bytes as f64 / 1e6 * iterations as f64;
    let scanner = Scanner::new(ScanOptions::default()).expect("scanner");
    let _warm = scanner.scan_all(files.clone());
    let threads = rayon::current_num_threads();
    let par = run(&scanner, &files, iterations, None);
    let one = run(&scanner, &files, iterations, Some(1));
    let (build, scan) = latency();
    println!("tree: {} files, {:.1} MB, {} iterations, {} findings per pass", files.len(), bytes as f64 / 1e6, iterations, par.findings);
    for (name, r) in [(format!("{threads} threads"), &par), ("1 thread".to_string(), &one)] {
        println!(
            "{name:>10}: {:.2} s wall, {:.2} s CPU -> {:.0} MB/CPU-s, {:.0} MB/s wall",
            r.wall.as_secs_f64(),
            r.cpu,
            mb / r.cpu.max(0.01),
            mb / r.wall.as_secs_f64()
        );
    }
    println!("small input (2 KB): {build:.2} ms incl. scanner construction, {scan:.3} ms scan only");
    println!("RESULT mb={mb:.1} cpu_s={:.3} wall_s={:.3} threads={threads}", par.cpu, par.wall.as_secs_f64());
    println!("RESULT mb_per_cpu_s={:.1} mb_per_cpu_s_1thread={:.1}", mb / par.cpu.max(0.01), mb / one.cpu.max(0.01));
    println!("RESULT small_ms={build:.3} small_scan_ms={scan:.3} findings={}", par.findings);
}
