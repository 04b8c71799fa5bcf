#!/usr/bin/env bash
# Installs git-vault (release build into ~/.cargo/bin, man pages next to it) and walks through
# the quick start on a throwaway repository, with a throwaway HOME so that no real key of yours
# is touched. Needs: a Rust toolchain and git. Set SKIP_INSTALL=1 to use the git-vault already
# on PATH.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${SKIP_INSTALL:-}" ]; then
    echo "==> cargo install --path $src --locked (a release build takes a few minutes)"
    cargo install --quiet --path "$src" --locked
    man_dir="${CARGO_HOME:-$HOME/.cargo}/share/man/man1"
    mkdir -p "$man_dir" && cp "$src"/man/*.1 "$man_dir"/
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
command -v git-vault >/dev/null || { echo "git-vault is not on PATH" >&2; exit 1; }

play=$(mktemp -d "${TMPDIR:-/tmp}/git-vault-quickstart.XXXXXX")
export HOME="$play/home" GIT_CONFIG_GLOBAL="$play/home/.gitconfig"
mkdir -p "$HOME" "$play/repo"
git config --global user.name "Quick Start"
git config --global user.email "quickstart@example.com"
cd "$play/repo"
run() { printf '\n$ %s\n' "$*"; "$@"; }

git init -q -b main
run git vault init                                  # vault + owner key + hooks, one commit
run git vault add-agent ci                          # a keypair for the agent "ci"
printf 'sk_test_%s' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" |
    run git vault set stripe/api-key                # value from stdin, never in argv
run git vault grant ci stripe                       # re-encrypts the stripe group to ci
run git vault list
export AGENT_VAULT_KEY="$HOME/.agent-vault/agents/ci.key"
printf '\n$ AGENT_VAULT_KEY=%s git vault get stripe/api-key\n' "$AGENT_VAULT_KEY"
git vault get stripe/api-key | sed 's/./*/g'; echo "   (value masked here)"
run git vault run --env STRIPE_KEY=stripe/api-key -- sh -c 'echo "the child sees $STRIPE_KEY"'
unset AGENT_VAULT_KEY
run git vault check --deep
run git vault revoke ci stripe                      # prints the secrets to rotate
run git log --oneline
run git log -p -1 --stat -- .agent-vault/secrets     # metadata, never plaintext
echo
echo "Done. The throwaway repository is $play/repo (HOME=$play/home); delete it when finished."
