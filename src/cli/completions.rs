use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Ctx};
use crate::error::{EXIT_OK, Result};

/// Print a shell completion script
///
/// For bash, the script also defines `_git_vault`, so `git vault <TAB>` completes through git's
/// own completion. Example: `git vault completions bash > ~/.local/share/bash-completion/completions/git-vault`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    pub shell: Shell,
}

/// Lets git's bash completion (`git vault <TAB>`) reuse the generated `git-vault` completion.
const GIT_BASH_BRIDGE: &str = r#"
# git's completion calls _git_vault for `git vault …`
_git_vault() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local words=("git-vault" "${COMP_WORDS[@]:2}")
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$((COMP_CWORD - 1))
    _git-vault "git-vault" "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

pub fn cmd_completions(ctx: &Ctx, args: &CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "git-vault", &mut out);
    if args.shell == Shell::Bash {
        out.extend_from_slice(GIT_BASH_BRIDGE.as_bytes());
    }
    ctx.ui.out_bytes(&out)?;
    Ok(EXIT_OK)
}
