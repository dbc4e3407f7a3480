//! Values bound as query parameters, and the Rust types a model field may have.
//!
//! Every value reaches Postgres as a bound parameter with an explicit type (statements are prepared with those types), so
//! no value is ever spliced into SQL. [`Value::coerce`] converts a value to a column's type
//! first; that is also how the string form of lookups (`"hire_date__year"`, from the admin's
//! query string) turns text into dates and numbers, refusing what does not parse.

use std::error::Error as StdError;

use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{ForeignKey, Model, ModelMeta};
use crate::schema::SqlType;

/// A value bound as a query parameter.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`; its type is inferred by Postgres from where it is used.
    Null,
    /// `boolean`.
    Bool(bool),
    /// `smallint`.
    SmallInt(i16),
    /// `integer`.
    Integer(i32),
    /// `bigint`.
    BigInt(i64),
    /// `double precision`.
    Double(f64),
    /// `text` (also bound to `varchar` columns).
    Text(String),
    /// `date`.
    Date(NaiveDate),
    /// `timestamp with time zone`.
    Timestamptz(DateTime<Utc>),
    /// `uuid`.
    Uuid(Uuid),
    /// `jsonb`.
    Json(serde_json::Value),
}

/// A Rust type a lookup compares a column with: the field's type without `Option` or
/// `ForeignKey` (whose lookups compare the related id, an `i64`).
pub trait Scalar: Into<Value> + Send + Sync + 'static {
    /// The column type this Rust type maps to.
    const SQL_TYPE: SqlType;
}

/// A Rust type a model field may have: a [`Scalar`], `Option<T>` (nullable) or
/// [`ForeignKey<M>`](ForeignKey).
pub trait FieldType: Sized + Send + Sync + 'static {
    /// The column type (`String` maps to `text`; `max_length` makes it `varchar(n)`).
    const SQL_TYPE: SqlType;
    /// Whether the column allows NULL.
    const NULLABLE: bool = false;
    /// For a foreign key, the model it references.
    const RELATED: Option<fn() -> &'static ModelMeta> = None;
    /// The type lookups on this field compare with.
    type Scalar: Scalar;

    /// The value stored for this field.
    fn to_value(&self) -> Value;

    /// Reads the column at `idx`, `None` when it is NULL.
    fn from_sql_nullable(row: &Row, idx: usize) -> Result<Option<Self>>;

    /// Reads the column at `idx`; NULL is an error unless the type is an `Option`.
    fn from_sql(row: &Row, idx: usize) -> Result<Self> {
        Self::from_sql_nullable(row, idx)?.ok_or_else(|| {
            Error::decode(format!(
                "column {idx} is NULL but its field is not an Option"
            ))
        })
    }

    /// Stores the related object that `select_related` read from the columns at `offset`.
    fn attach_related(&mut self, _row: &Row, _offset: usize) -> Result<()> {
        Ok(())
    }
}

// === impl Value ===

impl Value {
    /// Returns true for SQL `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Converts the value to the type of a column, parsing text (`"2001"` for an integer,
    /// `"2001-02-03"` for a date, `"true"`/`"1"` for a boolean).
    ///
    /// # Errors
    ///
    /// [`Error::is_bad_lookup`] when the value cannot be represented in the column's type.
    pub fn coerce(self, sql_type: SqlType) -> Result<Self> {
        if self.is_null() {
            return Ok(self);
        }
        let converted = match sql_type {
            SqlType::BigAuto | SqlType::BigInt => self.to_i64().map(Self::BigInt),
            SqlType::Integer => self
                .to_i64()
                .and_then(|v| i32::try_from(v).ok())
                .map(Self::Integer),
            SqlType::SmallInt => self
                .to_i64()
                .and_then(|v| i16::try_from(v).ok())
                .map(Self::SmallInt),
            SqlType::Double => self.to_f64().map(Self::Double),
            SqlType::Boolean => self.to_bool().map(Self::Bool),
            SqlType::Text | SqlType::Varchar(_) => self.to_text().map(Self::Text),
            SqlType::Date => self.to_date().map(Self::Date),
            SqlType::Timestamptz => self.to_timestamp().map(Self::Timestamptz),
            SqlType::Uuid => self.to_uuid().map(Self::Uuid),
            SqlType::Jsonb => Some(Self::Json(self.to_json())),
        };
        converted.ok_or_else(|| {
            Error::bad_lookup(format!(
                "{} is not a valid {}",
                self.describe(),
                sql_type.ddl()
            ))
        })
    }

    /// The Postgres type the value is bound as.
    pub(crate) fn pg_type(&self) -> Type {
        match self {
            // OID 0 leaves the type to Postgres, which infers it from the column.
            Self::Null => Type::new(
                "unknown".to_owned(),
                0,
                Kind::Pseudo,
                "pg_catalog".to_owned(),
            ),
            Self::Bool(_) => Type::BOOL,
            Self::SmallInt(_) => Type::INT2,
            Self::Integer(_) => Type::INT4,
            Self::BigInt(_) => Type::INT8,
            Self::Double(_) => Type::FLOAT8,
            Self::Text(_) => Type::TEXT,
            Self::Date(_) => Type::DATE,
            Self::Timestamptz(_) => Type::TIMESTAMPTZ,
            Self::Uuid(_) => Type::UUID,
            Self::Json(_) => Type::JSONB,
        }
    }

    /// A short description for error messages; text is not repeated, it may be anything.
    fn describe(&self) -> &'static str {
        match self {
            Self::Null => "NULL",
            Self::Bool(_) => "a boolean",
            Self::SmallInt(_) | Self::Integer(_) | Self::BigInt(_) => "an integer",
            Self::Double(_) => "a float",
            Self::Text(_) => "the text given",
            Self::Date(_) => "a date",
            Self::Timestamptz(_) => "a timestamp",
            Self::Uuid(_) => "a UUID",
            Self::Json(_) => "a JSON value",
        }
    }

    fn to_i64(&self) -> Option<i64> {
        match self {
            Self::SmallInt(v) => Some((*v).into()),
            Self::Integer(v) => Some((*v).into()),
            Self::BigInt(v) => Some(*v),
            Self::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn to_f64(&self) -> Option<f64> {
        match self {
            Self::SmallInt(v) => Some((*v).into()),
            Self::Integer(v) => Some((*v).into()),
            Self::Double(v) => Some(*v),
            Self::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn to_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(v) => Some(*v),
            Self::Text(s) => match s.trim() {
                "true" | "True" | "t" | "1" => Some(true),
                "false" | "False" | "f" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    fn to_text(&self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s.clone()),
            Self::SmallInt(v) => Some(v.to_string()),
            Self::Integer(v) => Some(v.to_string()),
            Self::BigInt(v) => Some(v.to_string()),
            Self::Uuid(v) => Some(v.to_string()),
            _ => None,
        }
    }

    fn to_date(&self) -> Option<NaiveDate> {
        match self {
            Self::Date(v) => Some(*v),
            Self::Text(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
            _ => None,
        }
    }

    fn to_timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Timestamptz(v) => Some(*v),
            Self::Date(v) => Some(v.and_time(NaiveTime::MIN).and_utc()),
            Self::Text(s) => {
                let s = s.trim();
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
                    .or_else(|| {
                        NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .ok()
                            .map(|d| d.and_time(NaiveTime::MIN).and_utc())
                    })
            }
            _ => None,
        }
    }

    fn to_uuid(&self) -> Option<Uuid> {
        match self {
            Self::Uuid(v) => Some(*v),
            Self::Text(s) => Uuid::parse_str(s.trim()).ok(),
            _ => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(v) => (*v).into(),
            Self::SmallInt(v) => (*v).into(),
            Self::Integer(v) => (*v).into(),
            Self::BigInt(v) => (*v).into(),
            Self::Double(v) => (*v).into(),
            Self::Text(s) => serde_json::from_str(s).unwrap_or_else(|_| s.clone().into()),
            Self::Date(v) => v.to_string().into(),
            Self::Timestamptz(v) => v.to_rfc3339().into(),
            Self::Uuid(v) => v.to_string().into(),
            Self::Json(v) => v.clone(),
        }
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Bool(v) => v.to_sql(ty, out),
            Self::SmallInt(v) => v.to_sql(ty, out),
            Self::Integer(v) => v.to_sql(ty, out),
            Self::BigInt(v) => v.to_sql(ty, out),
            Self::Double(v) => v.to_sql(ty, out),
            Self::Text(v) => v.to_sql(ty, out),
            Self::Date(v) => v.to_sql(ty, out),
            Self::Timestamptz(v) => v.to_sql(ty, out),
            Self::Uuid(v) => v.to_sql(ty, out),
            Self::Json(v) => v.to_sql(ty, out),
        }
    }

    // Each value is bound with the type `pg_type` gives it, so it always fits.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Self::Text(value.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

/// Implements [`Scalar`], [`FieldType`] and `From<T> for Value` for a plain Rust type.
macro_rules! scalar {
    ($ty:ty, $variant:ident, $sql:expr) => {
        scalar!($ty, $variant, $sql, |v: &$ty| *v);
    };
    ($ty:ty, $variant:ident, $sql:expr, clone) => {
        scalar!($ty, $variant, $sql, |v: &$ty| v.clone());
    };
    ($ty:ty, $variant:ident, $sql:expr, $get:expr) => {
        impl From<$ty> for Value {
            fn from(value: $ty) -> Self {
                Self::$variant(value)
            }
        }

        impl Scalar for $ty {
            const SQL_TYPE: SqlType = $sql;
        }

        impl FieldType for $ty {
            const SQL_TYPE: SqlType = $sql;
            type Scalar = $ty;

            fn to_value(&self) -> Value {
                Value::$variant(($get)(self))
            }

            fn from_sql_nullable(row: &Row, idx: usize) -> Result<Option<Self>> {
                row.try_get::<_, Option<$ty>>(idx)
                    .map_err(|e| Error::from_decode(&e))
            }
        }
    };
}

scalar!(bool, Bool, SqlType::Boolean);
scalar!(i16, SmallInt, SqlType::SmallInt);
scalar!(i32, Integer, SqlType::Integer);
scalar!(i64, BigInt, SqlType::BigInt);
scalar!(f64, Double, SqlType::Double);
scalar!(String, Text, SqlType::Text, clone);
scalar!(NaiveDate, Date, SqlType::Date);
scalar!(DateTime<Utc>, Timestamptz, SqlType::Timestamptz);
scalar!(Uuid, Uuid, SqlType::Uuid);
scalar!(serde_json::Value, Json, SqlType::Jsonb, clone);

impl<T: FieldType> FieldType for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    const NULLABLE: bool = true;
    const RELATED: Option<fn() -> &'static ModelMeta> = T::RELATED;
    type Scalar = T::Scalar;

    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }

    fn from_sql_nullable(row: &Row, idx: usize) -> Result<Option<Self>> {
        T::from_sql_nullable(row, idx).map(Some)
    }

    fn attach_related(&mut self, row: &Row, offset: usize) -> Result<()> {
        match self {
            Some(inner) => inner.attach_related(row, offset),
            None => Ok(()),
        }
    }
}

impl<M: Model> FieldType for ForeignKey<M> {
    const SQL_TYPE: SqlType = SqlType::BigInt;
    const RELATED: Option<fn() -> &'static ModelMeta> = Some(M::meta);
    type Scalar = i64;

    fn to_value(&self) -> Value {
        Value::BigInt(self.id())
    }

    fn from_sql_nullable(row: &Row, idx: usize) -> Result<Option<Self>> {
        let id = row
            .try_get::<_, Option<i64>>(idx)
            .map_err(|e| Error::from_decode(&e))?;
        Ok(id.map(ForeignKey::new))
    }

    fn attach_related(&mut self, row: &Row, offset: usize) -> Result<()> {
        self.set_object(M::from_row_at(row, offset)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_parsed_into_the_column_type() {
        assert_eq!(
            Value::from("42").coerce(SqlType::BigInt).unwrap(),
            Value::BigInt(42)
        );
        assert_eq!(
            Value::from(" 7 ").coerce(SqlType::Integer).unwrap(),
            Value::Integer(7)
        );
        assert_eq!(
            Value::from("2001-02-03").coerce(SqlType::Date).unwrap(),
            Value::Date(NaiveDate::from_ymd_opt(2001, 2, 3).unwrap())
        );
        assert_eq!(
            Value::from("1").coerce(SqlType::Boolean).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            Value::Integer(5).coerce(SqlType::BigInt).unwrap(),
            Value::BigInt(5)
        );
        assert_eq!(Value::Null.coerce(SqlType::Date).unwrap(), Value::Null);
    }

    #[test]
    fn values_that_do_not_fit_the_column_are_refused() {
        assert!(
            Value::from("abc")
                .coerce(SqlType::BigInt)
                .unwrap_err()
                .is_bad_lookup()
        );
        assert!(
            Value::BigInt(1 << 40)
                .coerce(SqlType::Integer)
                .unwrap_err()
                .is_bad_lookup()
        );
        assert!(
            Value::from("2001-13-01")
                .coerce(SqlType::Date)
                .unwrap_err()
                .is_bad_lookup()
        );
        assert!(
            Value::Bool(true)
                .coerce(SqlType::Date)
                .unwrap_err()
                .is_bad_lookup()
        );
    }

    #[test]
    fn the_error_does_not_repeat_the_text() {
        let err = Value::from("'; DROP TABLE x; --")
            .coerce(SqlType::BigInt)
            .unwrap_err();
        assert!(!err.to_string().contains("DROP"));
    }
}
