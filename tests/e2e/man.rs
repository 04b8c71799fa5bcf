//! The committed man pages (`man/`) are generated from the clap definitions and must be current,
//! so `git vault --help` / `git help vault` show the real options. Regenerate with
//! `GIT_VAULT_UPDATE_MAN=1 cargo test --test e2e man`.

use std::path::Path;

use clap::CommandFactory;

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out).expect("rendering to memory works");
    out
}

/// `git-vault.1` and `git-vault-<command>.1` for every visible command.
fn pages() -> Vec<(String, Vec<u8>)> {
    let root = git_vault::cli::Cli::command().name("git-vault");
    let mut pages = vec![("git-vault.1".to_owned(), render(root.clone()))];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name: &'static str = Box::leak(format!("git-vault-{}", sub.get_name()).into_boxed_str());
        let page = sub.clone().name(name).version(env!("CARGO_PKG_VERSION"));
        pages.push((format!("{name}.1"), render(page)));
    }
    pages
}

#[test]
fn committed_man_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("GIT_VAULT_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (name, content) in pages() {
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(&content) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "stale man pages {stale:?}: run GIT_VAULT_UPDATE_MAN=1 cargo test --test e2e man");
}
