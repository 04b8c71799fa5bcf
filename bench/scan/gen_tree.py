#!/usr/bin/env python3
"""Builds a realistic mixed source tree for the scanner benchmark.

    gen_tree.py OUT_DIR [SIZE_MB]

Real text from this machine (the Python standard library, the cargo registry sources, npm's
own package) is copied when present, then lock files, minified bundles, configs, data files
and a few binaries are synthesized, and ~200 fake secrets (generated like the test corpus:
right formats, random values) are injected into random text files. Deterministic for a given
machine (seeded; sources sorted).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig

sys.dont_write_bytecode = True  # keep __pycache__ out of the tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "fixtures", "scan"))
import gen_corpus  # noqa: E402  (fake-secret generators shared with the corpus)

R = random.Random(424242)
TEXT_EXT = {".py", ".rs", ".js", ".ts", ".md", ".toml", ".json", ".yml", ".yaml", ".txt", ".cfg", ".go", ".c", ".h"}
SECRET_KINDS = ["ghp", "aws_id", "sk_live", "openai_proj", "anthropic", "google", "xoxb", "npm", "jwt",
                "glpat", "password", "hex32", "slack_webhook", "pypi", "sendgrid", "hf", "age"]


def source_roots():
    roots = [sysconfig.get_paths().get("stdlib", "")]
    cargo = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    reg = os.path.join(cargo, "registry", "src")
    if os.path.isdir(reg):
        roots += [os.path.join(reg, d) for d in sorted(os.listdir(reg))]
    try:
        roots.append(os.path.join(subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip(), "npm"))
    except OSError:
        pass
    return [r for r in roots if r and os.path.isdir(r)]


def real_files(budget):
    picked, total = [], 0
    candidates = []
    for root in source_roots():
        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            if "__pycache__" in dirpath or "/test" in dirpath and R.random() < 0.7:
                continue
            for f in sorted(files):
                p = os.path.join(dirpath, f)
                if os.path.splitext(f)[1] in TEXT_EXT and not os.path.islink(p):
                    candidates.append((root, p))
    R.shuffle(candidates)
    for root, p in candidates:
        size = os.path.getsize(p)
        if size == 0 or size > 400_000:
            continue
        picked.append((root, p))
        total += size
        if total >= budget:
            break
    return picked, total


def hexs(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def lockfiles(out, budget):
    total, i = 0, 0
    while total < budget:
        pkgs = {}
        for j in range(3000):
            name = f"pkg-{hexs(6)}"
            pkgs[f"node_modules/{name}"] = {"version": f"1.{j % 40}.{j % 7}",
                                            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",
                                            "integrity": "sha512-" + gen_corpus.KINDS["sha512_b64"][1]()}
        text = json.dumps({"name": f"app{i}", "lockfileVersion": 3, "packages": pkgs}, indent=2)
        d = os.path.join(out, f"apps/app{i}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "package-lock.json"), "w") as f:
            f.write(text)
        cargo = "".join(f'[[package]]\nname = "crate-{hexs(5)}"\nversion = "0.{k % 9}.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{hexs(64)}"\n\n' for k in range(2500))
        with open(os.path.join(d, "Cargo.lock"), "w") as f:
            f.write(cargo)
        gosum = "".join(f"github.com/acme/mod{hexs(4)} v1.{k}.0 h1:{gen_corpus.KINDS['b64_32'][1]()}\n" for k in range(3000))
        with open(os.path.join(d, "go.sum"), "w") as f:
            f.write(gosum)
        total += len(text) + len(cargo) + len(gosum)
        i += 1
    return total


def minified(out, real, budget):
    total, i = 0, 0
    js = [p for _, p in real if p.endswith(".js")] or [p for _, p in real if p.endswith(".py")]
    while total < budget and js:
        chunks = []
        size = 0
        while size < 1_500_000:
            with open(R.choice(js), encoding="utf-8", errors="replace") as f:
                s = " ".join(line.strip() for line in f if line.strip() and not line.strip().startswith("//"))
            chunks.append(s)
            size += len(s)
        d = os.path.join(out, "web", "dist")
        os.makedirs(d, exist_ok=True)
        text = ";".join(chunks)
        with open(os.path.join(d, f"bundle{i}.min.js"), "w") as f:
            f.write(text)
        total += len(text)
        i += 1
    return total


def configs(out, budget):
    total, i = 0, 0
    while total < budget:
        d = os.path.join(out, "services", f"svc{i}")
        os.makedirs(d, exist_ok=True)
        env = "\n".join([f"SERVICE_NAME=svc{i}", "PORT=8080", "DB_PASSWORD=${DB_PASSWORD}",
                         "API_TOKEN=", "LOG_LEVEL=info", f"REQUEST_ID={gen_corpus.uuid4()}", "MAX_TOKENS=2048"]) + "\n"
        yml = "\n".join(["service:", f"  name: svc{i}", "  replicas: 3", "  secretRef: svc-secrets",
                         "  env:", "    - name: TOKEN_AUDIENCE", "      value: https://api.acme.test",
                         f"  image: ghcr.io/acme/svc@sha256:{hexs(64)}"] + [f"  label_{k}: value-{hexs(8)}" for k in range(200)]) + "\n"
        data = json.dumps([{"id": gen_corpus.uuid4(), "commit": hexs(40), "user": f"u{k}", "token_id": gen_corpus.uuid4(),
                            "score": R.random()} for k in range(400)], indent=1)
        for name, text in ((".env.example", env), ("config.yaml", yml), ("data.json", data)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
            total += len(text)
        i += 1
    return total


def binaries(out, n=20):
    d = os.path.join(out, "assets")
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, f"img{i}.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(R.getrandbits(8) for _ in range(40_000)))


def inject(out, count):
    files = []
    for dirpath, _, fs in os.walk(out):
        files += [os.path.join(dirpath, f) for f in fs if not f.endswith((".png", ".lock", ".sum")) and "package-lock" not in f]
    files.sort()
    for _ in range(count):
        p = R.choice(files)
        kind = R.choice(SECRET_KINDS)
        value = gen_corpus.KINDS[kind][1]()
        with open(p, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        at = R.randrange(len(lines) + 1)
        name = {"password": "DB_PASSWORD", "hex32": "API_SECRET"}.get(kind, "LEAKED_" + kind.upper())
        lines.insert(at, f"{name} = \"{value}\"  # bench-fixture (fake)")
        with open(p, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))


def main():
    out = sys.argv[1]
    size = int(float(sys.argv[2]) * 1_000_000) if len(sys.argv) > 2 else 50_000_000
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    real, real_total = real_files(int(size * 0.60))
    for root, p in real:
        dst = os.path.join(out, "src", os.path.basename(root), os.path.relpath(p, root))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(p, dst)
    rest = size - real_total
    lock = lockfiles(out, rest * 0.35)
    mini = minified(out, real, rest * 0.25)
    conf = configs(out, size - real_total - lock - mini - 800_000)
    binaries(out)
    inject(out, 200)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(f"tree: {total / 1e6:.1f} MB ({real_total / 1e6:.1f} real source, {lock / 1e6:.1f} lock files, "
          f"{mini / 1e6:.1f} minified, {conf / 1e6:.1f} configs/data, 0.8 binary)")


if __name__ == "__main__":
    main()
