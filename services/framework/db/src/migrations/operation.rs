//! Migration operations: the SQL each one runs and how it changes the project state.
//!
//! SQL never depends on the state, so applying a migration needs only its own file; the state
//! (table -> [`ModelSchema`]) is rebuilt by replaying an app's migrations and is what
//! `make_migrations` diffs the models against.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::{
    FieldSchema, ModelSchema, column_definition, create_index_sql, create_table_sql, index_name,
    quote_ident,
};

/// One step of a migration, stored in the migration file as an object tagged by `"operation"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", deny_unknown_fields)]
pub enum Operation {
    /// Creates a table with its columns, constraints and indexes.
    CreateModel {
        /// The whole table.
        schema: ModelSchema,
    },
    /// Drops a table.
    DeleteModel {
        /// The table.
        table: String,
    },
    /// Adds a column (and its index when the field has one).
    AddField {
        /// The table.
        table: String,
        /// The new column.
        field: FieldSchema,
    },
    /// Drops a column; Postgres drops its indexes with it.
    RemoveField {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// Makes a column nullable or `NOT NULL`.
    AlterNullability {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Whether NULL is allowed afterwards.
        nullable: bool,
    },
    /// Creates the b-tree index [`index_name`]`(table, column)`.
    AddIndex {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// `CREATE INDEX CONCURRENTLY`: needs a migration with `"atomic": false`.
        #[serde(default, skip_serializing_if = "is_false")]
        concurrently: bool,
    },
    /// Drops the index [`index_name`]`(table, column)`.
    RemoveIndex {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// `DROP INDEX CONCURRENTLY`: needs a migration with `"atomic": false`.
        #[serde(default, skip_serializing_if = "is_false")]
        concurrently: bool,
    },
    /// Hand-written SQL; it does not change the project state.
    ///
    /// In a migration with `"atomic": false` give one statement per `RunSql`: several statements
    /// in one string run as one implicit transaction.
    RunSql {
        /// The SQL to run forwards.
        sql: String,
        /// The SQL that undoes it, kept for unapplying.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reverse_sql: Option<String>,
    },
}

/// The tables an app's migrations have built so far, by table name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectState {
    tables: BTreeMap<String, ModelSchema>,
}

// === impl Operation ===

impl Operation {
    /// The statements that apply this operation, in order.
    pub fn forward_sql(&self) -> Vec<String> {
        match self {
            Self::CreateModel { schema } => create_table_sql(schema),
            Self::DeleteModel { table } => vec![format!("DROP TABLE {}", quote_ident(table))],
            Self::AddField { table, field } => {
                let mut sql = vec![format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    quote_ident(table),
                    column_definition(field)
                )];
                if needs_index(field) {
                    sql.push(create_index_sql(table, &field.column));
                }
                sql
            }
            Self::RemoveField { table, column } => vec![format!(
                "ALTER TABLE {} DROP COLUMN {}",
                quote_ident(table),
                quote_ident(column)
            )],
            Self::AlterNullability {
                table,
                column,
                nullable,
            } => vec![format!(
                "ALTER TABLE {} ALTER COLUMN {} {} NOT NULL",
                quote_ident(table),
                quote_ident(column),
                if *nullable { "DROP" } else { "SET" }
            )],
            Self::AddIndex {
                table,
                column,
                concurrently,
            } => {
                vec![create_index(table, column, *concurrently)]
            }
            Self::RemoveIndex {
                table,
                column,
                concurrently,
            } => vec![format!(
                "DROP INDEX {}{}",
                if *concurrently { "CONCURRENTLY " } else { "" },
                quote_ident(&index_name(table, column))
            )],
            Self::RunSql { sql, .. } => vec![sql.clone()],
        }
    }

    /// Whether this operation cannot run inside a transaction.
    pub fn is_concurrent(&self) -> bool {
        matches!(
            self,
            Self::AddIndex {
                concurrently: true,
                ..
            } | Self::RemoveIndex {
                concurrently: true,
                ..
            }
        )
    }

    /// Applies this operation to `state`; the error says why it does not fit.
    pub fn apply_to_state(&self, state: &mut ProjectState) -> Result<(), String> {
        match self {
            Self::CreateModel { schema } => {
                if state.tables.contains_key(&schema.table) {
                    return Err(format!(
                        "CreateModel: table {} already exists",
                        schema.table
                    ));
                }
                state.tables.insert(schema.table.clone(), schema.clone());
            }
            Self::DeleteModel { table } => {
                if state.tables.remove(table).is_none() {
                    return Err(format!("DeleteModel: no table {table}"));
                }
            }
            Self::AddField { table, field } => {
                let model = state.table_mut("AddField", table)?;
                if model.fields.iter().any(|f| f.column == field.column) {
                    return Err(format!(
                        "AddField: column {table}.{} already exists",
                        field.column
                    ));
                }
                model.fields.push(field.clone());
            }
            Self::RemoveField { table, column } => {
                let model = state.table_mut("RemoveField", table)?;
                let before = model.fields.len();
                model.fields.retain(|f| f.column != *column);
                if model.fields.len() == before {
                    return Err(format!("RemoveField: no column {table}.{column}"));
                }
            }
            Self::AlterNullability {
                table,
                column,
                nullable,
            } => {
                state.field_mut("AlterNullability", table, column)?.nullable = *nullable;
            }
            Self::AddIndex { table, column, .. } => {
                state.field_mut("AddIndex", table, column)?.index = true;
            }
            Self::RemoveIndex { table, column, .. } => {
                state.field_mut("RemoveIndex", table, column)?.index = false;
            }
            Self::RunSql { .. } => {}
        }
        Ok(())
    }

    /// A short, file-name-safe description, used to name migrations.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::CreateModel { schema } => schema.table.clone(),
            Self::DeleteModel { table } => format!("delete_{table}"),
            Self::AddField { table, field } => format!("{table}_{}", field.column),
            Self::RemoveField { table, column } => format!("remove_{table}_{column}"),
            Self::AlterNullability { table, column, .. } => format!("alter_{table}_{column}"),
            Self::AddIndex { table, column, .. } => format!("{table}_{column}_index"),
            Self::RemoveIndex { table, column, .. } => format!("remove_{table}_{column}_index"),
            Self::RunSql { .. } => "run_sql".to_owned(),
        }
    }
}

// === impl ProjectState ===

impl ProjectState {
    /// An empty state: no tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table named `table`, if the migrations created it.
    pub fn table(&self, table: &str) -> Option<&ModelSchema> {
        self.tables.get(table)
    }

    /// All tables, ordered by name.
    pub fn tables(&self) -> impl Iterator<Item = &ModelSchema> {
        self.tables.values()
    }

    fn table_mut(&mut self, op: &str, table: &str) -> Result<&mut ModelSchema, String> {
        self.tables
            .get_mut(table)
            .ok_or_else(|| format!("{op}: no table {table}"))
    }

    fn field_mut(
        &mut self,
        op: &str,
        table: &str,
        column: &str,
    ) -> Result<&mut FieldSchema, String> {
        self.table_mut(op, table)?
            .fields
            .iter_mut()
            .find(|f| f.column == column)
            .ok_or_else(|| format!("{op}: no column {table}.{column}"))
    }
}

/// Whether a field gets an index of its own; primary keys and unique columns already have one.
pub(crate) fn needs_index(field: &FieldSchema) -> bool {
    field.index && !field.unique && !field.primary_key
}

fn create_index(table: &str, column: &str, concurrently: bool) -> String {
    if concurrently {
        format!(
            "CREATE INDEX CONCURRENTLY {} ON {} ({})",
            quote_ident(&index_name(table, column)),
            quote_ident(table),
            quote_ident(column)
        )
    } else {
        create_index_sql(table, column)
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(value: &bool) -> bool {
    !*value
}
