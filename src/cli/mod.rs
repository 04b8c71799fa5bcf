//! The command line: one file per command (`<Cmd>Args` + `cmd_<cmd>()`); this module parses the
//! global flags, builds the context and dispatches.

mod access;
mod add_agent;
mod add_owner;
mod check;
mod completions;
mod exposure;
mod get;
mod init;
mod install;
mod list;
mod list_agents;
mod list_owners;
mod log;
mod mcp;
mod merge_driver;
mod reconcile;
mod recover_agent;
mod remove_agent;
mod remove_owner;
mod restore_agent;
mod rm;
mod run;
mod scan;
mod set;
mod textconv;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::{EXIT_ERROR, EXIT_OK, Result};
use crate::git::commit::CommitMode;
use crate::keys::KeyEnv;
use crate::ops::{Options, Progress, Vault};
use crate::ui::Ui;
use crate::vault::Timestamp;

/// Keep API keys and passwords for AI agents in a git repository, age-encrypted to exactly the
/// keys that may read them.
///
/// Owners keep secrets in `.agent-vault/`; each agent has its own key and is granted or revoked
/// per group; revocation re-encrypts. Every change is one git commit.
#[derive(Debug, Parser)]
#[command(name = "git-vault", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print data, and errors, as JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// Identity file to decrypt with (else AGENT_VAULT_KEY, else ~/.agent-vault/owner.key)
    #[arg(long, global = true, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print no messages, only data and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::InitArgs),
    Install(install::InstallArgs),
    AddOwner(add_owner::AddOwnerArgs),
    RemoveOwner(remove_owner::RemoveOwnerArgs),
    ListOwners(list_owners::ListOwnersArgs),
    AddAgent(add_agent::AddAgentArgs),
    RemoveAgent(remove_agent::RemoveAgentArgs),
    ListAgents(list_agents::ListAgentsArgs),
    RecoverAgent(recover_agent::RecoverAgentArgs),
    RestoreAgent(restore_agent::RestoreAgentArgs),
    Set(set::SetArgs),
    Get(get::GetArgs),
    List(list::ListArgs),
    Rm(rm::RmArgs),
    Grant(access::GrantArgs),
    Revoke(access::RevokeArgs),
    Check(check::CheckArgs),
    Log(log::LogArgs),
    Exposure(exposure::ExposureArgs),
    Reconcile(reconcile::ReconcileArgs),
    Run(run::RunArgs),
    Mcp(mcp::McpArgs),
    Scan(scan::ScanArgs),
    Completions(completions::CompletionsArgs),
    Textconv(textconv::TextconvArgs),
    MergeDriver(merge_driver::MergeDriverArgs),
}

/// `--no-commit`, shared by every command that changes the vault.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Stage the change instead of committing it
    #[arg(long)]
    pub no_commit: bool,
}

/// What every command gets: the parsed globals and the UI.
pub struct Ctx<'a> {
    pub cli: &'a Cli,
    pub ui: &'a Ui,
    progress: Box<dyn Progress>,
    lock_wait: Box<dyn Fn() + Sync + 'a>,
}

impl Ctx<'_> {
    pub fn start_dir(&self) -> PathBuf {
        self.cli.dir.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    pub fn vault(&self) -> Result<Vault> {
        Vault::find(&self.start_dir())
    }

    pub fn options(&self, commit: Option<&CommitArgs>) -> Options<'_> {
        let lock_timeout = std::env::var("GIT_VAULT_LOCK_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
        Options {
            env: KeyEnv::from_process(),
            key: self.cli.key.clone(),
            now: Timestamp::now(),
            commit: if commit.is_some_and(|c| c.no_commit) { CommitMode::StageOnly } else { CommitMode::Commit },
            lock_timeout: Duration::from_secs(lock_timeout),
            progress: self.progress.as_ref(),
            on_lock_wait: self.lock_wait.as_ref(),
        }
    }

    /// Tells what was committed (or staged).
    pub fn committed(&self, commit: &Option<String>, no_commit: &CommitArgs) {
        match commit {
            Some(id) => self.ui.info(&format!("committed {}", &id[..id.len().min(12)])),
            None if no_commit.no_commit => self.ui.info("staged; not committed (--no-commit)"),
            None => {}
        }
    }
}

/// Parses the command line, runs the command and returns the exit status.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let ui = Ui::new(cli.json, cli.quiet);
    let lock_wait = Box::new(|| ui.info("waiting for another git-vault command to finish…"));
    let ctx = Ctx { cli: &cli, ui: &ui, progress: ui.progress(), lock_wait };
    match run(&ctx) {
        Ok(code) => code,
        Err(e) => {
            ui.error(&e);
            e.exit_code()
        }
    }
}

fn run(ctx: &Ctx) -> Result<u8> {
    match &ctx.cli.command {
        Command::Init(a) => init::cmd_init(ctx, a),
        Command::Install(a) => install::cmd_install(ctx, a),
        Command::AddOwner(a) => add_owner::cmd_add_owner(ctx, a),
        Command::RemoveOwner(a) => remove_owner::cmd_remove_owner(ctx, a),
        Command::ListOwners(a) => list_owners::cmd_list_owners(ctx, a),
        Command::AddAgent(a) => add_agent::cmd_add_agent(ctx, a),
        Command::RemoveAgent(a) => remove_agent::cmd_remove_agent(ctx, a),
        Command::ListAgents(a) => list_agents::cmd_list_agents(ctx, a),
        Command::RecoverAgent(a) => recover_agent::cmd_recover_agent(ctx, a),
        Command::RestoreAgent(a) => restore_agent::cmd_restore_agent(ctx, a),
        Command::Set(a) => set::cmd_set(ctx, a),
        Command::Get(a) => get::cmd_get(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Rm(a) => rm::cmd_rm(ctx, a),
        Command::Grant(a) => access::cmd_grant(ctx, a),
        Command::Revoke(a) => access::cmd_revoke(ctx, a),
        Command::Check(a) => check::cmd_check(ctx, a),
        Command::Log(a) => log::cmd_log(ctx, a),
        Command::Exposure(a) => exposure::cmd_exposure(ctx, a),
        Command::Reconcile(a) => reconcile::cmd_reconcile(ctx, a),
        Command::Run(a) => run::cmd_run(ctx, a),
        Command::Mcp(a) => mcp::cmd_mcp(ctx, a),
        Command::Scan(a) => scan::cmd_scan(ctx, a),
        Command::Completions(a) => completions::cmd_completions(ctx, a),
        Command::Textconv(a) => textconv::cmd_textconv(ctx, a),
        Command::MergeDriver(a) => merge_driver::cmd_merge_driver(ctx, a),
    }
}

/// Prints the list of secrets to rotate after access was taken away.
pub fn print_rotate(ctx: &Ctx, rotate: &[crate::vault::SecretPath], who: &str) -> Result<()> {
    if rotate.is_empty() {
        return Ok(());
    }
    ctx.ui.info(&format!(
        "{who} could read these secrets and may have kept their values; rotate them at their source, then `git vault set` the new values:"
    ));
    for s in rotate {
        ctx.ui.out_line(s.as_str())?;
    }
    Ok(())
}
