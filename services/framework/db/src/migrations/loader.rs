//! Parses migration files, checks their names and orders them by their dependencies.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AppMigrations, Error, Operation, ProjectState, Result};

/// One migration file: `NNNN_<name>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationFile {
    /// Migrations of other apps that must be applied first, as `[app, name]`. The previous
    /// migration of the same app is always a dependency, listed or not.
    #[serde(default)]
    pub dependencies: Vec<(String, String)>,
    /// Whether the migration runs in one transaction with its bookkeeping row (the default).
    /// `false` is for statements Postgres refuses in a transaction, such as
    /// `CREATE INDEX CONCURRENTLY`.
    #[serde(default = "default_atomic")]
    pub atomic: bool,
    /// The steps, in order.
    pub operations: Vec<Operation>,
}

/// A parsed migration with its place in the app.
#[derive(Clone, Debug)]
pub(crate) struct Migration {
    pub(crate) app: String,
    pub(crate) name: String,
    pub(crate) number: u32,
    pub(crate) checksum: String,
    pub(crate) file: MigrationFile,
}

// === impl MigrationFile ===

impl MigrationFile {
    /// Parses a migration file's text.
    pub fn parse(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    /// The file's text: pretty JSON, fields in a fixed order, with a final newline.
    pub fn to_json(&self) -> Result<String> {
        let mut text = serde_json::to_string_pretty(self).map_err(Error::Serialize)?;
        text.push('\n');
        Ok(text)
    }
}

// === impl Migration ===

impl Migration {
    /// `app.name`, as errors and logs show it.
    pub(crate) fn label(&self) -> String {
        format!("{}.{}", self.app, self.name)
    }

    /// Every migration this one needs first: the app's previous one and the declared ones.
    fn dependencies(&self, previous: Option<&str>) -> Vec<(String, String)> {
        let mut deps: Vec<(String, String)> = previous
            .map(|p| (self.app.clone(), p.to_owned()))
            .into_iter()
            .collect();
        for dep in &self.file.dependencies {
            if !deps.contains(dep) {
                deps.push(dep.clone());
            }
        }
        deps
    }
}

/// The SHA-256 of a migration file's text, as 64 lower-case hex digits.
pub fn checksum(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Parses and checks one app's migrations, ordered by number.
pub(crate) fn app_migrations(app: &AppMigrations) -> Result<Vec<Migration>> {
    let mut migrations = Vec::with_capacity(app.migrations.len());
    for (name, text) in &app.migrations {
        let label = format!("{}.{name}", app.app);
        let number = parse_number(name).ok_or_else(|| Error::InvalidName {
            migration: label.clone(),
            reason: "expected NNNN_<name>, e.g. 0001_initial".to_owned(),
        })?;
        let file = MigrationFile::parse(text).map_err(|source| Error::InvalidFile {
            migration: label.clone(),
            source,
        })?;
        if file.atomic && file.operations.iter().any(Operation::is_concurrent) {
            return Err(Error::InvalidOperation {
                migration: label,
                reason: "CONCURRENTLY cannot run inside a transaction; set \"atomic\": false"
                    .to_owned(),
            });
        }
        migrations.push(Migration {
            app: app.app.clone(),
            name: name.clone(),
            number,
            checksum: checksum(text),
            file,
        });
    }
    migrations.sort_by_key(|m| m.number);
    for pair in migrations.windows(2) {
        if pair[0].number == pair[1].number {
            return Err(Error::InvalidName {
                migration: pair[1].label(),
                reason: format!("{} has the same number", pair[0].name),
            });
        }
    }
    Ok(migrations)
}

/// Rebuilds the state an app's migrations leave behind.
pub(crate) fn replay(migrations: &[Migration]) -> Result<ProjectState> {
    let mut state = ProjectState::new();
    for migration in migrations {
        for op in &migration.file.operations {
            op.apply_to_state(&mut state)
                .map_err(|reason| Error::InvalidOperation {
                    migration: migration.label(),
                    reason,
                })?;
        }
    }
    Ok(state)
}

/// All apps' migrations in an order that applies every dependency first: by number within an
/// app, by declared dependencies across apps, otherwise in the order the apps were given.
pub(crate) fn plan(apps: &[AppMigrations]) -> Result<Vec<Migration>> {
    let mut nodes: Vec<Migration> = Vec::new();
    let mut deps: Vec<Vec<(String, String)>> = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        if apps[..i].iter().any(|a| a.app == app.app) {
            return Err(Error::InvalidName {
                migration: app.app.clone(),
                reason: "the app is listed twice".to_owned(),
            });
        }
        let mut previous: Option<String> = None;
        for migration in app_migrations(app)? {
            deps.push(migration.dependencies(previous.as_deref()));
            previous = Some(migration.name.clone());
            nodes.push(migration);
        }
    }

    let index: HashMap<(&str, &str), usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, m)| ((m.app.as_str(), m.name.as_str()), i))
        .collect();
    let mut waiting_on = vec![0_usize; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node_deps) in deps.iter().enumerate() {
        for (app, name) in node_deps {
            let Some(&dep) = index.get(&(app.as_str(), name.as_str())) else {
                return Err(Error::MissingDependency {
                    migration: nodes[i].label(),
                    dependency: format!("{app}.{name}"),
                });
            };
            waiting_on[i] += 1;
            dependents[dep].push(i);
        }
    }

    // Kahn's algorithm, always taking the earliest ready migration, so the order is stable.
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &next in &dependents[i] {
            waiting_on[next] -= 1;
            if waiting_on[next] == 0 {
                ready.insert(next);
            }
        }
    }
    if order.len() < nodes.len() {
        return Err(Error::Cycle {
            migrations: (0..nodes.len())
                .filter(|&i| waiting_on[i] > 0)
                .map(|i| nodes[i].label())
                .collect(),
        });
    }

    let mut slots: Vec<Option<Migration>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// The dependencies of each planned migration, previous migration of its app included.
pub(crate) fn all_dependencies(plan: &[Migration]) -> Vec<Vec<(String, String)>> {
    plan.iter()
        .map(|m| {
            let previous = plan
                .iter()
                .filter(|p| p.app == m.app && p.number < m.number)
                .max_by_key(|p| p.number)
                .map(|p| p.name.as_str());
            m.dependencies(previous)
        })
        .collect()
}

/// The number of `NNNN_<name>`: at least four digits, an underscore, then a name.
pub(crate) fn parse_number(name: &str) -> Option<u32> {
    let (digits, rest) = name.split_once('_')?;
    if digits.len() < 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || !is_valid_name(rest) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` may follow `NNNN_`: lower-case letters, digits and underscores.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn default_atomic() -> bool {
    true
}
