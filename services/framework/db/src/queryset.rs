//! Lazy, immutable [`QuerySet`]s, and the statements behind `create`, `save`, `delete` and
//! `bulk_create`.
//!
//! Chaining (`filter`, `exclude`, `order_by`, slicing, `select_related`) only records what to
//! do and runs no SQL; each terminal method (`all`, `count`, `exists`, `get`, `first`,
//! `update`, `delete`) runs exactly one statement. A mistake found while chaining (an unknown
//! field in `order_by`, a negative slice, filtering after slicing) is kept and returned by the
//! terminal method, so chains stay free of `?`.

use std::fmt::Write as _;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use tokio_postgres::Row;

use crate::change::Change;
use crate::error::{Error, Result};
use crate::executor::{Executor, Statement};
use crate::lookup::{Assignment, Node, Q, find_field};
use crate::model::{FieldMeta, Model, ModelMeta};
use crate::schema::quote_ident;
use crate::value::Value;

/// The alias of the model's own table in every statement.
const BASE: &str = "t0";

/// Postgres accepts at most this many bound parameters in one statement.
const MAX_PARAMS: usize = 65_535;

/// A lazy, immutable query over model `M`; build it with [`Model::objects`]. Chaining
/// methods return a new `QuerySet` and leave the original as it was.
pub struct QuerySet<M> {
    filters: Vec<Node>,
    /// `None` means the model's default ordering; an empty list means none at all.
    ordering: Option<Vec<String>>,
    low: u64,
    high: Option<u64>,
    related: Vec<String>,
    error: Option<String>,
    _marker: PhantomData<fn() -> M>,
}

/// A compiled SELECT, with where each `select_related` object's columns start.
struct Select {
    statement: Statement,
    related: Vec<(usize, usize)>,
}

// === impl QuerySet ===

impl<M: Model> QuerySet<M> {
    pub(crate) fn new() -> Self {
        Self {
            filters: Vec::new(),
            ordering: None,
            low: 0,
            high: None,
            related: Vec::new(),
            error: None,
            _marker: PhantomData,
        }
    }

    fn is_sliced(&self) -> bool {
        self.low > 0 || self.high.is_some()
    }

    fn refuse_after_slice(mut self, what: &str) -> Self {
        if self.is_sliced() && self.error.is_none() {
            self.error = Some(format!("cannot {what} a query once a slice has been taken"));
        }
        self
    }

    /// Keeps the rows matching `q` (combined with earlier filters by AND).
    #[must_use]
    pub fn filter(&self, q: Q<M>) -> Self {
        let mut qs = self.clone().refuse_after_slice("filter");
        qs.filters.push(q.node);
        qs
    }

    /// Drops the rows matching `q`: `NOT (q)`.
    #[must_use]
    pub fn exclude(&self, q: Q<M>) -> Self {
        self.filter(!q)
    }

    /// Orders by fields, `-` for descending: `order_by(&["name", "-id"])`. An empty list
    /// removes all ordering, including the model's default.
    #[must_use]
    pub fn order_by(&self, fields: &[&str]) -> Self {
        let mut qs = self.clone().refuse_after_slice("reorder");
        qs.ordering = Some(fields.iter().map(|&f| f.to_owned()).collect());
        qs
    }

    /// Takes rows `range.start..range.end` (`OFFSET start LIMIT end - start`), within any
    /// earlier slice. Negative bounds are refused when the query runs.
    #[must_use]
    pub fn slice(&self, range: impl RangeBounds<i64>) -> Self {
        let mut qs = self.clone();
        let low = match range.start_bound() {
            Bound::Included(&n) => Some(n),
            Bound::Excluded(&n) => Some(n.saturating_add(1)),
            Bound::Unbounded => None,
        };
        let high = match range.end_bound() {
            Bound::Included(&n) => Some(n.saturating_add(1)),
            Bound::Excluded(&n) => Some(n),
            Bound::Unbounded => None,
        };
        let (Ok(low), Ok(high)) = (
            low.map(u64::try_from).transpose(),
            high.map(u64::try_from).transpose(),
        ) else {
            if qs.error.is_none() {
                qs.error = Some("negative indexing is not supported".to_owned());
            }
            return qs;
        };
        // Bounds are relative to the current slice and never reach past it (Django's set_limits).
        if let Some(high) = high {
            let high = qs.low.saturating_add(high);
            qs.high = Some(qs.high.map_or(high, |current| current.min(high)));
        }
        if let Some(low) = low {
            let low = qs.low.saturating_add(low);
            qs.low = qs.high.map_or(low, |high| high.min(low));
        }
        qs
    }

    /// At most `n` rows: `slice(..n)`.
    #[must_use]
    pub fn limit(&self, n: i64) -> Self {
        self.slice(..n)
    }

    /// Skips `n` rows: `slice(n..)`.
    #[must_use]
    pub fn offset(&self, n: i64) -> Self {
        self.slice(n..)
    }

    /// Reads the object a `ForeignKey` field points to in the same query (a JOIN); it is then
    /// available as `object.field.get()`.
    #[must_use]
    pub fn select_related(&self, field: &str) -> Self {
        let mut qs = self.clone();
        if !qs.related.iter().any(|f| f == field) {
            qs.related.push(field.to_owned());
        }
        qs
    }

    /// Runs the query and returns every row.
    ///
    /// # Errors
    ///
    /// A mistake recorded while chaining, or any database error.
    pub async fn all<E: Executor>(&self, exec: &E) -> Result<Vec<M>> {
        let select = self.compile_select()?;
        let rows = exec.query(&select.statement).await?;
        rows.iter().map(|row| build(row, &select.related)).collect()
    }

    /// The number of rows (`SELECT COUNT(*)`).
    ///
    /// # Errors
    ///
    /// A mistake recorded while chaining, or any database error.
    pub async fn count<E: Executor>(&self, exec: &E) -> Result<i64> {
        self.check()?;
        let mut statement = Statement::new("SELECT COUNT(*) FROM ");
        if self.is_sliced() {
            statement.push("(SELECT 1 FROM ");
            self.push_from_where(&mut statement);
            self.push_order_limit(&mut statement, self.low, self.high)?;
            statement.push(") AS \"sub\"");
        } else {
            self.push_from_where(&mut statement);
        }
        let rows = exec.query(&statement).await?;
        let row = rows
            .first()
            .ok_or_else(|| Error::decode("COUNT returned no row"))?;
        row.try_get(0).map_err(|e| Error::from_decode(&e))
    }

    /// Whether any row matches (`SELECT 1 ... LIMIT 1`).
    ///
    /// # Errors
    ///
    /// A mistake recorded while chaining, or any database error.
    pub async fn exists<E: Executor>(&self, exec: &E) -> Result<bool> {
        self.check()?;
        let mut statement = Statement::new("SELECT 1 FROM ");
        self.push_from_where(&mut statement);
        let high = self
            .high
            .map_or(self.low + 1, |high| high.min(self.low + 1));
        statement.push(&format!(" LIMIT {}", high - self.low));
        if self.low > 0 {
            statement.push(" OFFSET ");
            statement.push_param(offset_value(self.low)?);
        }
        Ok(!exec.query(&statement).await?.is_empty())
    }

    /// The one row matching `q` (pass [`Q::all`] for "the one row of this query"); reads at
    /// most two rows.
    ///
    /// # Errors
    ///
    /// [`Error::is_does_not_exist`] when no row matches (a 404 in a view),
    /// [`Error::is_multiple_objects_returned`] when more than one does, or any database error.
    pub async fn get<E: Executor>(&self, exec: &E, q: Q<M>) -> Result<M> {
        let mut qs = if matches!(q.node, Node::Const(true)) {
            self.clone()
        } else {
            self.filter(q)
        };
        if !qs.is_sliced() {
            // Ordering cannot change which single row matches; skip the sort.
            qs.ordering = Some(Vec::new());
        }
        let mut found = qs.slice(..2).all(exec).await?;
        let object_name = M::meta().object_name;
        match found.len() {
            0 => Err(Error::DoesNotExist { model: object_name }),
            1 => found
                .pop()
                .ok_or(Error::DoesNotExist { model: object_name }),
            _ => Err(Error::MultipleObjectsReturned { model: object_name }),
        }
    }

    /// The first row in the query's ordering (by primary key when it has none), if any.
    ///
    /// # Errors
    ///
    /// A mistake recorded while chaining, or any database error.
    pub async fn first<E: Executor>(&self, exec: &E) -> Result<Option<M>> {
        let mut qs = self.clone();
        if qs.effective_ordering().is_empty() {
            qs.ordering = Some(vec!["pk".to_owned()]);
        }
        Ok(qs.slice(..1).all(exec).await?.pop())
    }

    /// Sets columns on every matching row (`UPDATE ... SET`); returns how many rows changed.
    ///
    /// # Errors
    ///
    /// [`Error::is_bad_lookup`] on a sliced query or without assignments; any database error.
    pub async fn update<E: Executor>(
        &self,
        exec: &E,
        assignments: &[Assignment<M>],
    ) -> Result<u64> {
        self.check()?;
        if self.is_sliced() {
            return Err(Error::bad_lookup(
                "cannot update a query once a slice has been taken",
            ));
        }
        if assignments.is_empty() {
            return Err(Error::bad_lookup("update() needs at least one column"));
        }
        let meta = M::meta();
        let mut statement = Statement::new(format!(
            "UPDATE {} AS {} SET ",
            quote_ident(meta.table),
            quote_ident(BASE)
        ));
        for (i, assignment) in assignments.iter().enumerate() {
            if i > 0 {
                statement.push(", ");
            }
            statement.push(&format!("{} = ", quote_ident(assignment.field.column)));
            statement.push_param(assignment.value.clone());
        }
        self.push_where(&mut statement);
        let updated = exec.execute(&statement).await?;
        if updated > 0 {
            exec.changed(change_of::<M>(None)).await;
        }
        Ok(updated)
    }

    /// Deletes every matching row; returns how many were deleted.
    ///
    /// # Errors
    ///
    /// [`Error::is_bad_lookup`] on a sliced query; any database error.
    pub async fn delete<E: Executor>(&self, exec: &E) -> Result<u64> {
        self.check()?;
        if self.is_sliced() {
            return Err(Error::bad_lookup(
                "cannot delete a query once a slice has been taken",
            ));
        }
        let meta = M::meta();
        let mut statement = Statement::new(format!(
            "DELETE FROM {} AS {}",
            quote_ident(meta.table),
            quote_ident(BASE)
        ));
        self.push_where(&mut statement);
        let deleted = exec.execute(&statement).await?;
        if deleted > 0 {
            exec.changed(change_of::<M>(None)).await;
        }
        Ok(deleted)
    }

    fn check(&self) -> Result<()> {
        match &self.error {
            Some(error) => Err(Error::bad_lookup(error.clone())),
            None => Ok(()),
        }
    }

    fn effective_ordering(&self) -> Vec<String> {
        match &self.ordering {
            Some(ordering) => ordering.clone(),
            None => M::meta().ordering.iter().map(|&f| f.to_owned()).collect(),
        }
    }

    fn compile_select(&self) -> Result<Select> {
        self.check()?;
        let meta = M::meta();
        let mut columns = column_list(meta, BASE);
        let mut joins = String::new();
        let mut related = Vec::new();
        let mut offset = meta.fields.len();
        for (n, name) in self.related.iter().enumerate() {
            let (index, field, target) = meta
                .fields
                .iter()
                .enumerate()
                .find_map(|(i, f)| (f.name == name.as_str()).then_some((i, f, f.related?)))
                .ok_or_else(|| {
                    Error::bad_lookup(format!(
                        "select_related: {name:?} is not a ForeignKey of {}",
                        meta.object_name
                    ))
                })?;
            let target = target();
            let alias = format!("t{}", n + 1);
            let target_pk = &target.fields[target.pk];
            columns.push_str(", ");
            columns.push_str(&column_list(target, &alias));
            let _ = write!(
                joins,
                " {} JOIN {} AS {} ON {}.{} = {}.{}",
                if field.nullable {
                    "LEFT OUTER"
                } else {
                    "INNER"
                },
                quote_ident(target.table),
                quote_ident(&alias),
                quote_ident(&alias),
                quote_ident(target_pk.column),
                quote_ident(BASE),
                quote_ident(field.column),
            );
            related.push((index, offset));
            offset += target.fields.len();
        }
        let mut statement = Statement::new(format!(
            "SELECT {columns} FROM {} AS {}{joins}",
            quote_ident(meta.table),
            quote_ident(BASE)
        ));
        self.push_where(&mut statement);
        self.push_order_limit(&mut statement, self.low, self.high)?;
        Ok(Select { statement, related })
    }

    fn push_from_where(&self, statement: &mut Statement) {
        statement.push(&format!(
            "{} AS {}",
            quote_ident(M::meta().table),
            quote_ident(BASE)
        ));
        self.push_where(statement);
    }

    fn push_where(&self, statement: &mut Statement) {
        if self.filters.is_empty() {
            return;
        }
        statement.push(" WHERE ");
        for (i, node) in self.filters.iter().enumerate() {
            if i > 0 {
                statement.push(" AND ");
            }
            node.render(BASE, statement);
        }
    }

    fn push_order_limit(
        &self,
        statement: &mut Statement,
        low: u64,
        high: Option<u64>,
    ) -> Result<()> {
        let ordering = self.effective_ordering();
        let fields = M::meta().fields;
        for (i, term) in ordering.iter().enumerate() {
            let (name, direction) = match term.strip_prefix('-') {
                Some(name) => (name, "DESC"),
                None => (term.as_str(), "ASC"),
            };
            let field = find_field(fields, name).ok_or_else(|| {
                Error::bad_lookup(format!(
                    "cannot order by {name:?}: {} has no such field",
                    M::meta().object_name
                ))
            })?;
            statement.push(if i == 0 { " ORDER BY " } else { ", " });
            statement.push(&format!(
                "{}.{} {direction}",
                quote_ident(BASE),
                quote_ident(field.column)
            ));
        }
        if let Some(high) = high {
            statement.push(" LIMIT ");
            statement.push_param(offset_value(high.saturating_sub(low))?);
        }
        if low > 0 {
            statement.push(" OFFSET ");
            statement.push_param(offset_value(low)?);
        }
        Ok(())
    }
}

impl<M> Clone for QuerySet<M> {
    fn clone(&self) -> Self {
        Self {
            filters: self.filters.clone(),
            ordering: self.ordering.clone(),
            low: self.low,
            high: self.high,
            related: self.related.clone(),
            error: self.error.clone(),
            _marker: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for QuerySet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySet")
            .field("filters", &self.filters)
            .field("ordering", &self.ordering)
            .field("low", &self.low)
            .field("high", &self.high)
            .field("related", &self.related)
            .finish_non_exhaustive()
    }
}

/// `"t0"."id", "t0"."name", ...` in field order.
fn column_list(meta: &ModelMeta, alias: &str) -> String {
    let alias = quote_ident(alias);
    meta.fields
        .iter()
        .map(|f| format!("{alias}.{}", quote_ident(f.column)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn offset_value(n: u64) -> Result<Value> {
    i64::try_from(n)
        .map(Value::BigInt)
        .map_err(|_| Error::bad_lookup("slice bound out of range"))
}

fn build<M: Model>(row: &Row, related: &[(usize, usize)]) -> Result<M> {
    let mut object = M::from_row_at(row, 0)?;
    for &(field, offset) in related {
        object.attach_related(field, row, offset)?;
    }
    Ok(object)
}

fn pk_field<M: Model>() -> &'static FieldMeta {
    let meta = M::meta();
    &meta.fields[meta.pk]
}

/// The change to announce for `model`'s row, or for any rows of `M` when `model` is `None`.
fn change_of<M: Model>(model: Option<&M>) -> Change {
    let meta = M::meta();
    Change {
        app: meta.app,
        model: meta.name,
        pk: model.map(Model::pk),
    }
}

/// `INSERT ... RETURNING pk` for one object; sets its primary key.
pub(crate) async fn insert<M: Model, E: Executor>(exec: &E, model: &mut M) -> Result<()> {
    let statement = insert_statement::<M>(vec![model.to_values()], model.pk_is_set());
    let rows = exec.query(&statement).await?;
    let row = rows
        .first()
        .ok_or_else(|| Error::decode("INSERT returned no row"))?;
    model.set_pk_from_row(row, 0)?;
    exec.changed(change_of(Some(&*model))).await;
    Ok(())
}

/// Builds one (multi-row) INSERT; `with_pk` includes an auto primary key's column.
fn insert_statement<M: Model>(rows: Vec<Vec<Value>>, with_pk: bool) -> Statement {
    let meta = M::meta();
    let included: Vec<usize> = (0..meta.fields.len())
        .filter(|&i| with_pk || i != meta.pk || !meta.fields[i].auto)
        .collect();
    let table = quote_ident(meta.table);
    let returning = quote_ident(pk_field::<M>().column);
    if included.is_empty() {
        // Only an auto primary key: one DEFAULT VALUES row per object.
        let mut statement = Statement::new(format!("INSERT INTO {table} ("));
        statement.push(&format!("{returning}) VALUES "));
        for (i, _) in rows.iter().enumerate() {
            statement.push(if i == 0 { "(DEFAULT)" } else { ", (DEFAULT)" });
        }
        statement.push(&format!(" RETURNING {returning}"));
        return statement;
    }
    let columns: Vec<String> = included
        .iter()
        .map(|&i| quote_ident(meta.fields[i].column))
        .collect();
    let mut statement = Statement::new(format!(
        "INSERT INTO {table} ({}) VALUES ",
        columns.join(", ")
    ));
    for (r, values) in rows.into_iter().enumerate() {
        statement.push(if r == 0 { "(" } else { ", (" });
        let mut values: Vec<Option<Value>> = values.into_iter().map(Some).collect();
        for (n, &i) in included.iter().enumerate() {
            if n > 0 {
                statement.push(", ");
            }
            statement.push_param(
                values
                    .get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or(Value::Null),
            );
        }
        statement.push(")");
    }
    statement.push(&format!(" RETURNING {returning}"));
    statement
}

/// Django's `save()`: INSERT when the auto key is unset, else UPDATE, else INSERT.
pub(crate) async fn save<M: Model, E: Executor>(exec: &E, model: &mut M) -> Result<()> {
    if !model.pk_is_set() {
        return insert(exec, model).await;
    }
    let meta = M::meta();
    let pk = pk_field::<M>();
    let values = model.to_values();
    let mut statement = Statement::new(format!("UPDATE {} SET ", quote_ident(meta.table)));
    let mut assigned = 0;
    for (i, (field, value)) in meta.fields.iter().zip(values).enumerate() {
        if i == meta.pk {
            continue;
        }
        if assigned > 0 {
            statement.push(", ");
        }
        statement.push(&format!("{} = ", quote_ident(field.column)));
        statement.push_param(value);
        assigned += 1;
    }
    if assigned == 0 {
        // Nothing to update: the row either exists already or is inserted.
        if M::objects()
            .filter(Q::leaf_exact(pk, model.pk()))
            .exists(exec)
            .await?
        {
            return Ok(());
        }
        return insert(exec, model).await;
    }
    statement.push(&format!(" WHERE {} = ", quote_ident(pk.column)));
    statement.push_param(model.pk());
    if exec.execute(&statement).await? == 0 {
        return insert(exec, model).await;
    }
    exec.changed(change_of(Some(&*model))).await;
    Ok(())
}

/// `DELETE ... WHERE pk = $1` for one object.
pub(crate) async fn delete_one<M: Model, E: Executor>(exec: &E, model: &M) -> Result<u64> {
    let meta = M::meta();
    if !model.pk_is_set() {
        return Err(Error::bad_lookup(format!(
            "{} object can't be deleted because its primary key is unset",
            meta.object_name
        )));
    }
    let pk = pk_field::<M>();
    let mut statement = Statement::new(format!(
        "DELETE FROM {} WHERE {} = ",
        quote_ident(meta.table),
        quote_ident(pk.column)
    ));
    statement.push_param(model.pk());
    let deleted = exec.execute(&statement).await?;
    if deleted > 0 {
        exec.changed(change_of(Some(model))).await;
    }
    Ok(deleted)
}

/// One multi-row INSERT per chunk (objects with and without a primary key go separately).
pub(crate) async fn bulk_insert<M: Model, E: Executor>(
    exec: &E,
    mut models: Vec<M>,
) -> Result<Vec<M>> {
    let columns = M::meta().fields.len().max(1);
    let chunk = (MAX_PARAMS / columns).max(1);
    // Partition first: inserting the first group sets keys that would move it to the second.
    let (with, without): (Vec<usize>, Vec<usize>) =
        (0..models.len()).partition(|&i| models[i].pk_is_set());
    for (with_pk, indexes) in [(false, without), (true, with)] {
        for batch in indexes.chunks(chunk) {
            let rows = batch.iter().map(|&i| models[i].to_values()).collect();
            let statement = insert_statement::<M>(rows, with_pk);
            let returned = exec.query(&statement).await?;
            if returned.len() != batch.len() {
                return Err(Error::decode("INSERT returned a different number of rows"));
            }
            for (&i, row) in batch.iter().zip(&returned) {
                models[i].set_pk_from_row(row, 0)?;
            }
        }
    }
    if !models.is_empty() {
        exec.changed(change_of::<M>(None)).await;
    }
    Ok(models)
}

#[cfg(test)]
mod tests;
