#!/usr/bin/env python3
"""Runs gitleaks over the labelled corpus (fixtures/scan) and scores it with the corpus
test's definitions, rule-agnostic (gitleaks' rule ids differ from ours):

  recall  = labelled lines on which gitleaks reports anything / labelled lines
  FP rate = flagged hard cases / hard cases (hard line = secret-ish keyword or 16+ char token,
            in negatives/ and the unlabelled lines of positives/; binaries count once)

    compare_corpus.py GITLEAKS_BINARY FIXTURES_SCAN_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HARD = re.compile(rb"(?i)pass|pwd|secret|token|key|auth|cred|private|begin|akia|sk[-_]|gh[pousr]_|xox|eyj|aiza|://|[A-Za-z0-9+/=_\-]{16,}")


def is_binary(data):
    return b"\0" in data[:8192] or data.startswith(b"age-encryption.org/v1")


def cases(data):
    if is_binary(data):
        return {0}
    return {i + 1 for i, line in enumerate(data.split(b"\n")) if HARD.search(line)}


def gitleaks(binary, root):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as t:
        report = t.name
    subprocess.run([binary, "dir", root, "--no-banner", "--exit-code", "0", "--log-level", "error",
                    "--report-format", "json", "--report-path", report], check=True)
    with open(report) as f:
        found = json.load(f)
    os.unlink(report)
    hits = {}
    for fnd in found:
        rel = os.path.relpath(fnd["File"], root).replace(os.sep, "/")
        hits.setdefault(rel, set()).add(fnd["StartLine"])
    return hits


def main():
    binary, root = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, "labels.json")) as f:
        labels = json.load(f)["positives"]
    hits = gitleaks(binary, root)
    labelled = found = ncases = flagged = 0
    for dirpath, _, files in os.walk(root):
        for fn in files:
            rel = os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/")
            if not rel.startswith(("positives/", "negatives/")):
                continue
            with open(os.path.join(root, rel), "rb") as f:
                data = f.read()
            lines = {e["line"] for e in labels.get(rel, [])}
            got = hits.get(rel, set())
            if is_binary(data):
                got = {0} if got else set()
            labelled += len(lines)
            found += len(lines & got)
            hard = cases(data) - lines
            bad = got - lines
            ncases += len(hard | bad)
            flagged += len(bad)
    print(f"gitleaks on corpus: recall {found / labelled:.4f} ({found}/{labelled} labelled lines, any rule); "
          f"false-positive rate {flagged / max(ncases, 1):.4f} ({flagged}/{ncases} hard cases)")


if __name__ == "__main__":
    main()
