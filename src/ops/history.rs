//! `log` and `exposure`: the access history, replayed from git.
//!
//! Every commit reachable from HEAD is visited parents first (`git::history`). A commit whose
//! vault tree is the same as its first parent's is skipped at once; otherwise its snapshot is
//! built from the files that changed (blobs are parsed once each, cached by blob id) and compared
//! with the first parent's (`vault::events`). A merge is compared with its first parent, so it
//! shows what it brought into that line. A manifest that cannot be read is reported
//! (`manifest_unreadable`) and the previous policy stays in force. Exposure follows one agent
//! through the same replay (`vault::exposure`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use gix::ObjectId;
use serde::Serialize;

use super::Vault;
use crate::error::{Error, ErrorKind, Result};
use crate::git::history::{CommitInfo, Files, History};
use crate::store::MAX_FILE;
use crate::vault::events::{self, Event, SecretFiles, Snapshot};
use crate::vault::exposure::{self, Access, Ranges};
use crate::vault::manifest::OwnerKeyRef;
use crate::vault::{AgentName, Manifest, Meta, SecretPath, Timestamp};

/// Largest key file read from history.
const MAX_KEY: u64 = 64 * 1024;

/// A commit, as `log` and `exposure` name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitPoint {
    pub commit: String,
    pub short: String,
    /// The author date, RFC 3339 UTC.
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// One entry of `log --json`: the commit, its author and date, then the event's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    pub commit: String,
    pub short: String,
    pub author: Author,
    pub date: String,
    #[serde(flatten)]
    pub event: Event,
}

/// One secret of `exposure --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretExposure {
    pub secret: SecretPath,
    pub ranges: Vec<ExposureRange>,
    pub currently_readable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExposureRange {
    pub from: CommitPoint,
    /// Where access ended; null while it lasts.
    pub until: Option<CommitPoint>,
    /// The agent's public key that held the access (null when it had no `public.key`).
    pub public_key: Option<String>,
}

/// The access history, newest commit first; only events about `agent` when one is given
/// (including the secrets it gained or lost through other changes).
pub fn log(vault: &Vault, agent: Option<&AgentName>) -> Result<Vec<LogEvent>> {
    let mut replay = Replay::open(vault)?;
    let mut commits: Vec<(usize, Vec<Event>)> = Vec::new();
    let mut seen = agent.is_none();
    replay.run(|step| {
        if !step.changed {
            return Ok(());
        }
        seen = seen || agent.is_some_and(|a| step.snap.mentions(a));
        let empty = Snapshot::default();
        let before = step.parents.first().map(Arc::as_ref).unwrap_or(&empty);
        let keep = |e: &Event| agent.map_or(!e.is_consequence(), |a| e.concerns(a));
        let events: Vec<Event> = events::diff(before, step.snap).into_iter().filter(keep).collect();
        if !events.is_empty() {
            commits.push((step.index, events));
        }
        Ok(())
    })?;
    if let Some(a) = agent.filter(|_| !seen) {
        return Err(never_existed(a));
    }
    let mut out = Vec::new();
    for (index, events) in commits.into_iter().rev() {
        let info = replay.hist.commit_info(index)?;
        out.extend(events.into_iter().map(|event| log_event(&info, event)));
    }
    Ok(out)
}

fn log_event(info: &CommitInfo, event: Event) -> LogEvent {
    LogEvent {
        commit: info.id.clone(),
        short: info.short.clone(),
        author: Author { name: info.name.clone(), email: info.email.clone() },
        date: date(info.time),
        event,
    }
}

/// Every secret `agent` could decrypt at some commit, with the ranges of commits, sorted.
pub fn exposure(vault: &Vault, agent: &AgentName) -> Result<Vec<SecretExposure>> {
    let mut replay = Replay::open(vault)?;
    let mut access: Vec<Arc<Access>> = Vec::with_capacity(replay.hist.nodes.len());
    let mut ranges = Ranges::default();
    let mut seen = false;
    replay.run(|step| {
        let now = if step.changed {
            seen = seen || step.snap.mentions(agent);
            Arc::new(exposure::access(step.snap, agent))
        } else {
            step.first_parent.map(|p| access[p].clone()).unwrap_or_default()
        };
        let parents: Vec<&Access> = step.parent_indices.iter().map(|p| access[*p].as_ref()).collect();
        ranges.step(step.index, &now, &parents);
        access.push(now);
        Ok(())
    })?;
    if !seen {
        return Err(never_existed(agent));
    }
    let current: BTreeSet<&SecretPath> = access.last().map(|a| a.iter().map(|(s, _)| s).collect()).unwrap_or_default();
    let mut points: HashMap<usize, CommitPoint> = HashMap::new();
    let mut out = Vec::new();
    for (secret, list) in ranges.finish() {
        let mut shown = Vec::new();
        for r in list {
            let from = point(&replay.hist, &mut points, r.from)?;
            let until = r.until.map(|u| point(&replay.hist, &mut points, u)).transpose()?;
            shown.push(ExposureRange { from, until, public_key: r.public_key });
        }
        out.push(SecretExposure { currently_readable: current.contains(&secret), secret, ranges: shown });
    }
    Ok(out)
}

fn point(hist: &History, cache: &mut HashMap<usize, CommitPoint>, index: usize) -> Result<CommitPoint> {
    if let Some(p) = cache.get(&index) {
        return Ok(p.clone());
    }
    let info = hist.commit_info(index)?;
    let p = CommitPoint { commit: info.id, short: info.short, date: date(info.time) };
    cache.insert(index, p.clone());
    Ok(p)
}

fn never_existed(agent: &AgentName) -> Error {
    Error::new(ErrorKind::AgentNotFound, format!("no agent named {:?} in this vault's history", agent.as_str()))
        .hint("see `git vault list-agents`")
}

/// RFC 3339 UTC, whole seconds; times git allows but a calendar cannot show are clamped.
fn date(seconds: i64) -> String {
    Timestamp::from_unix(seconds.clamp(-62_135_596_800, 253_402_207_200)).to_seconds_string()
}

/// One commit of the replay, as a visitor sees it.
struct Step<'a> {
    index: usize,
    first_parent: Option<usize>,
    parent_indices: &'a [usize],
    /// The parents' snapshots, first parent first.
    parents: &'a [Arc<Snapshot>],
    snap: &'a Snapshot,
    /// Whether the vault tree differs from the first parent's.
    changed: bool,
}

/// The walk, and the parsed blobs cached by blob id.
struct Replay {
    hist: History,
    manifests: HashMap<ObjectId, std::result::Result<Arc<Manifest>, String>>,
    metas: HashMap<ObjectId, Option<Arc<Meta>>>,
    keys: HashMap<ObjectId, Option<String>>,
}

impl Replay {
    fn open(vault: &Vault) -> Result<Replay> {
        let repo = vault.repo()?;
        let dir = repo.relative(vault.fs().dir())?;
        Ok(Replay { hist: History::load(&repo, &dir)?, manifests: HashMap::new(), metas: HashMap::new(), keys: HashMap::new() })
    }

    /// Visits every commit, parents first. A snapshot is dropped once its last child is done.
    fn run(&mut self, mut visit: impl FnMut(Step<'_>) -> Result<()>) -> Result<()> {
        let n = self.hist.nodes.len();
        let mut children = vec![0usize; n];
        self.hist.nodes.iter().flat_map(|node| node.parents.iter()).for_each(|p| children[*p] += 1);
        let mut snaps: Vec<Option<Arc<Snapshot>>> = vec![None; n];
        for i in 0..n {
            let node = self.hist.nodes[i].clone();
            let parents: Vec<Arc<Snapshot>> = node
                .parents
                .iter()
                .map(|p| snaps[*p].clone().ok_or_else(|| Error::internal("a parent's snapshot was dropped too early")))
                .collect::<Result<_>>()?;
            let first = parents.first().cloned().unwrap_or_default();
            let changed = node.vault != node.parents.first().and_then(|p| self.hist.nodes[*p].vault);
            let snap = if changed { Arc::new(self.snapshot(node.vault, &first)?) } else { first };
            visit(Step {
                index: i,
                first_parent: node.parents.first().copied(),
                parent_indices: &node.parents,
                parents: &parents,
                snap: &snap,
                changed,
            })?;
            snaps[i] = Some(snap);
            for p in &node.parents {
                children[*p] -= 1;
                if children[*p] == 0 {
                    snaps[*p] = None;
                }
            }
        }
        Ok(())
    }

    /// The snapshot of one vault tree; an unreadable manifest keeps the parent's policy.
    fn snapshot(&mut self, tree: Option<ObjectId>, parent: &Snapshot) -> Result<Snapshot> {
        let Some(tree) = tree else { return Ok(Snapshot::default()) };
        let files = self.hist.files(tree)?;
        let mut snap = Snapshot::default();
        if let Some(id) = find(&files, "manifest.yaml") {
            match self.manifest(id)? {
                Ok(m) => snap.manifest = Some(m),
                Err(e) => (snap.manifest, snap.manifest_error) = (parent.manifest.clone(), Some(e)),
            }
        }
        for (path, id) in files.iter() {
            self.read_file(path, *id, &mut snap)?;
        }
        remap_legacy(&mut snap);
        self.owner_keys(&files, &mut snap)?;
        Ok(snap)
    }

    fn read_file(&mut self, path: &str, id: ObjectId, snap: &mut Snapshot) -> Result<()> {
        if let Some(name) = path.strip_prefix("agents/").and_then(|r| r.strip_suffix("/public.key")) {
            if let Ok(agent) = AgentName::parse(name)
                && let Some(key) = self.key(id)?
            {
                snap.agent_keys.insert(agent, key);
            }
            return Ok(());
        }
        let Some(rest) = path.strip_prefix("secrets/") else { return Ok(()) };
        if let Some(s) = rest.strip_suffix(".enc").and_then(|p| SecretPath::parse(p).ok()) {
            snap.secrets.entry(s).or_default().enc = Some(id.to_string());
        } else if let Some(s) = rest.strip_suffix(".meta").and_then(|p| SecretPath::parse(p).ok()) {
            let meta = self.meta(id)?;
            snap.secrets.entry(s).or_default().meta = meta;
        }
        Ok(())
    }

    /// Each owner's recipient: inline, or the content of the file it names.
    fn owner_keys(&mut self, files: &Files, snap: &mut Snapshot) -> Result<()> {
        let Some(m) = snap.manifest.clone() else { return Ok(()) };
        for owner in &m.owners {
            let key = match owner.key_ref() {
                OwnerKeyRef::Inline(k) => Some(k.to_owned()),
                OwnerKeyRef::File(name) => match find(files, name) {
                    Some(id) => self.key(id)?,
                    None => None,
                },
            };
            if let Some(k) = key {
                snap.owner_keys.insert(owner.name.clone(), k);
            }
        }
        Ok(())
    }

    fn manifest(&mut self, id: ObjectId) -> Result<std::result::Result<Arc<Manifest>, String>> {
        if let Some(m) = self.manifests.get(&id) {
            return Ok(m.clone());
        }
        let parsed = match self.hist.blob(id, MAX_FILE)? {
            None => Err(format!("manifest.yaml is larger than {MAX_FILE} bytes")),
            Some(bytes) => parse_manifest(&bytes),
        };
        self.manifests.insert(id, parsed.clone());
        Ok(parsed)
    }

    fn meta(&mut self, id: ObjectId) -> Result<Option<Arc<Meta>>> {
        if let Some(m) = self.metas.get(&id) {
            return Ok(m.clone());
        }
        let bytes = self.hist.blob(id, MAX_FILE)?;
        let meta = bytes.and_then(|b| serde_saphyr::from_slice::<Meta>(&b).ok()).map(Arc::new);
        self.metas.insert(id, meta.clone());
        Ok(meta)
    }

    fn key(&mut self, id: ObjectId) -> Result<Option<String>> {
        if let Some(k) = self.keys.get(&id) {
            return Ok(k.clone());
        }
        let key = self.hist.blob(id, MAX_KEY)?.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
        self.keys.insert(id, key.clone());
        Ok(key)
    }
}

fn parse_manifest(bytes: &[u8]) -> std::result::Result<Arc<Manifest>, String> {
    let m: Manifest = serde_saphyr::from_slice(bytes).map_err(|e| format!("manifest.yaml is not valid: {}", first_line(&e.to_string())))?;
    if let Some(why) = m.unsupported() {
        return Err(why);
    }
    Ok(Arc::new(m))
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or(text);
    line.strip_prefix("error: ").unwrap_or(line)
}

fn find(files: &Files, path: &str) -> Option<ObjectId> {
    files.binary_search_by(|(p, _)| p.as_str().cmp(path)).ok().map(|i| files[i].1)
}

/// The seed tool kept a slash-less secret `x` at `secrets/default/x`: when the manifest lists
/// `x` and not `default/x`, those files are `x`'s (FORMAT.md "Secrets").
fn remap_legacy(snap: &mut Snapshot) {
    let Some(m) = snap.manifest.clone() else { return };
    let legacy: Vec<(SecretPath, SecretPath)> = snap
        .secrets
        .keys()
        .filter_map(|p| {
            let bare = SecretPath::parse(p.as_str().strip_prefix("default/")?).ok()?;
            let claimed = m.contains_secret(&bare) && !m.contains_secret(p) && snap.secrets.get(&bare).is_none_or(|f| f.enc.is_none());
            claimed.then(|| (p.clone(), bare))
        })
        .collect();
    for (from, to) in legacy {
        let files: SecretFiles = snap.secrets.remove(&from).unwrap_or_default();
        snap.secrets.insert(to, files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_seconds_and_clamped() {
        assert_eq!(date(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(date(i64::MAX), "9999-12-30T22:00:00Z");
        assert_eq!(date(i64::MIN), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn legacy_files_belong_to_the_slash_less_secret_the_manifest_lists() {
        let p = |n: &str| SecretPath::parse(n).unwrap();
        let mut m = Manifest::new(crate::vault::OwnerName::parse("o").unwrap(), "owner.pub");
        m.add_secret(&p("plain"), &crate::vault::GroupName::parse("default").unwrap());
        m.add_secret(&p("default/real"), &crate::vault::GroupName::parse("default").unwrap());
        let mut snap = Snapshot { manifest: Some(Arc::new(m)), ..Snapshot::default() };
        for name in ["default/plain", "default/real"] {
            snap.secrets.insert(p(name), SecretFiles { enc: Some(name.to_owned()), meta: None });
        }
        remap_legacy(&mut snap);
        assert_eq!(snap.secrets.keys().map(|s| s.as_str()).collect::<Vec<_>>(), ["default/real", "plain"]);
    }

    #[test]
    fn an_unsupported_manifest_version_is_unreadable() {
        assert!(parse_manifest(b"version: 2\n").unwrap_err().contains("version 2"));
        assert!(parse_manifest(b"version: [\n").unwrap_err().starts_with("manifest.yaml is not valid"));
        assert!(parse_manifest(b"version: 1\n").is_ok());
    }
}
