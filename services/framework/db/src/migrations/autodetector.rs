//! `make_migrations`: diffs an app's models against the state its migrations build and writes
//! the difference as the next migration file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::loader::{self, MigrationFile};
use super::operation::needs_index;
use super::{AppMigrations, Error, Operation, ProjectState, Result};
use crate::schema::{FieldSchema, ModelSchema, SqlType};

/// Longest automatic name; longer descriptions become `auto`.
const MAX_AUTO_NAME: usize = 52;

/// The operations that bring the state of `app.migrations` to `app.models`, in a fixed order:
/// new tables (referenced ones first), then column changes table by table in model order,
/// then dropped tables (referencing ones first).
///
/// # Errors
///
/// Invalid migration files; a new `NOT NULL` column on an existing table
/// ([`Error::NotNullWithoutDefault`]); a change of a column's type, primary key, uniqueness or
/// foreign key ([`Error::Unsupported`]); two models on one table.
pub fn diff(app: &AppMigrations) -> Result<Vec<Operation>> {
    let state = loader::replay(&loader::app_migrations(app)?)?;
    diff_state(&state, &app.models)
}

/// Writes the next migration of `app` into `dir` when its models differ from its migrations.
///
/// The file is `NNNN_<name>.json`: the number follows the app's latest migration, which it
/// depends on; the name is `name`, or `initial` for the first migration, or else made from
/// the operations. Returns its path, or `None` when nothing changed. A dependency on another
/// app's migration (for a foreign key) is added by hand.
///
/// # Errors
///
/// Those of [`diff`]; a `name` that is not lower-case letters, digits and underscores; `dir`
/// holding migration files the app was not built with; an existing file of the same name;
/// I/O errors.
pub fn make_migrations(
    app: &AppMigrations,
    dir: &Path,
    name: Option<&str>,
) -> Result<Option<PathBuf>> {
    let migrations = loader::app_migrations(app)?;
    check_no_unknown_files(app, dir)?;
    let state = loader::replay(&migrations)?;
    let operations = diff_state(&state, &app.models)?;
    if operations.is_empty() {
        return Ok(None);
    }
    let name = match name {
        Some(name) if loader::is_valid_name(name) => name.to_owned(),
        Some(name) => {
            return Err(Error::InvalidName {
                migration: format!("{}.{name}", app.app),
                reason: "use lower-case letters, digits and underscores".to_owned(),
            });
        }
        None if migrations.is_empty() => "initial".to_owned(),
        None => auto_name(&operations),
    };
    let latest = migrations.last();
    let number = latest.map_or(1, |m| m.number + 1);
    let file = MigrationFile {
        dependencies: latest
            .map(|m| (app.app.clone(), m.name.clone()))
            .into_iter()
            .collect(),
        atomic: true,
        operations,
    };
    let text = file.to_json()?;
    let path = dir.join(format!("{number:04}_{name}.json"));
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    // create_new: never overwrite a migration that may already be applied somewhere.
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_error(&path))?;
    std::io::Write::write_all(&mut out, text.as_bytes()).map_err(io_error(&path))?;
    Ok(Some(path))
}

fn diff_state(state: &ProjectState, models: &[ModelSchema]) -> Result<Vec<Operation>> {
    let mut seen = HashSet::new();
    for model in models {
        if !seen.insert(model.table.as_str()) {
            return Err(Error::DuplicateTable {
                table: model.table.clone(),
            });
        }
    }

    let new: Vec<&ModelSchema> = models
        .iter()
        .filter(|m| state.table(&m.table).is_none())
        .collect();
    let mut operations: Vec<Operation> = dependency_order(&new)
        .into_iter()
        .map(|schema| Operation::CreateModel {
            schema: schema.clone(),
        })
        .collect();

    for model in models {
        if let Some(old) = state.table(&model.table) {
            diff_fields(old, model, &mut operations)?;
        }
    }

    let gone: Vec<&ModelSchema> = state
        .tables()
        .filter(|t| !seen.contains(t.table.as_str()))
        .collect();
    operations.extend(dependency_order(&gone).into_iter().rev().map(|schema| {
        Operation::DeleteModel {
            table: schema.table.clone(),
        }
    }));
    Ok(operations)
}

fn diff_fields(
    old: &ModelSchema,
    new: &ModelSchema,
    operations: &mut Vec<Operation>,
) -> Result<()> {
    let table = &new.table;
    for field in &new.fields {
        let Some(before) = old.fields.iter().find(|f| f.column == field.column) else {
            // An identity column fills itself; any other NOT NULL column would have no value.
            if !field.nullable && !field.primary_key && field.sql_type != SqlType::BigAuto {
                return Err(Error::NotNullWithoutDefault {
                    table: table.clone(),
                    column: field.column.clone(),
                });
            }
            operations.push(Operation::AddField {
                table: table.clone(),
                field: field.clone(),
            });
            continue;
        };
        check_supported(table, before, field)?;
        if before.nullable != field.nullable {
            operations.push(Operation::AlterNullability {
                table: table.clone(),
                column: field.column.clone(),
                nullable: field.nullable,
            });
        }
        match (needs_index(before), needs_index(field)) {
            (false, true) => operations.push(Operation::AddIndex {
                table: table.clone(),
                column: field.column.clone(),
                concurrently: false,
            }),
            (true, false) => operations.push(Operation::RemoveIndex {
                table: table.clone(),
                column: field.column.clone(),
                concurrently: false,
            }),
            _ => {}
        }
    }
    for field in &old.fields {
        if !new.fields.iter().any(|f| f.column == field.column) {
            operations.push(Operation::RemoveField {
                table: table.clone(),
                column: field.column.clone(),
            });
        }
    }
    Ok(())
}

fn check_supported(table: &str, before: &FieldSchema, after: &FieldSchema) -> Result<()> {
    let what = if before.sql_type != after.sql_type {
        format!(
            "the type ({} -> {})",
            before.sql_type.ddl(),
            after.sql_type.ddl()
        )
    } else if before.primary_key != after.primary_key {
        "the primary key".to_owned()
    } else if before.unique != after.unique {
        "uniqueness".to_owned()
    } else if before.references != after.references {
        "the referenced table".to_owned()
    } else {
        return Ok(());
    };
    Err(Error::Unsupported {
        table: table.to_owned(),
        column: after.column.clone(),
        what,
    })
}

/// `tables` reordered so that a table comes after the tables among them it references; ties
/// keep their order. A cycle of references keeps its members in their original order.
fn dependency_order<'a>(tables: &[&'a ModelSchema]) -> Vec<&'a ModelSchema> {
    let names: HashSet<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    let mut placed: HashSet<&str> = HashSet::new();
    let mut order = Vec::with_capacity(tables.len());
    let mut rest: Vec<&'a ModelSchema> = tables.to_vec();
    while !rest.is_empty() {
        let ready = rest
            .iter()
            .position(|t| {
                t.fields
                    .iter()
                    .filter_map(|f| f.references.as_deref())
                    .all(|target| {
                        target == t.table || !names.contains(target) || placed.contains(target)
                    })
            })
            .unwrap_or(0);
        let table = rest.remove(ready);
        placed.insert(table.table.as_str());
        order.push(table);
    }
    order
}

/// `employee_nickname`, `employee_nickname_remove_employee_age`, or `auto` when too long.
fn auto_name(operations: &[Operation]) -> String {
    let name = operations
        .iter()
        .map(Operation::describe)
        .collect::<Vec<_>>()
        .join("_");
    let name = name.to_ascii_lowercase();
    if name.len() <= MAX_AUTO_NAME && loader::is_valid_name(&name) {
        name
    } else {
        "auto".to_owned()
    }
}

/// Refuses a folder with migration files the app does not embed: the new file would get the
/// number of one of them and be diffed against the wrong state.
fn check_no_unknown_files(app: &AppMigrations, dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let known: HashSet<&str> = app
        .migrations
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let mut unknown = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = file_name.strip_suffix(".json")
            && loader::parse_number(stem).is_some()
            && !known.contains(stem)
        {
            unknown.push(file_name);
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    Err(Error::UnknownMigrationFiles {
        dir: dir.to_owned(),
        files: unknown,
    })
}
