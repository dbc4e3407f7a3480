//! `herd seed`: deterministic employees for development and benchmarks.
//!
//! Row `i` is always the same person (its generator is seeded with `i`), so seeding is
//! idempotent: a second run with the same count adds nothing, a larger count adds only the
//! missing rows. Names and addresses include `'`, `&`, `<` and `>` so escaping is exercised.

use chrono::{Days, NaiveDate};
use herd::db::{Database, Model};

use crate::models::Employee;

const FIRST_NAMES: &[&str] = &[
    "Ann",
    "Bob",
    "Chloé",
    "D'Arcy",
    "Eve",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Kai",
    "Lena",
    "Mateo",
    "Nia",
    "Olu",
    "Priya",
    "Quinn",
    "Renée",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoë",
    "Robert <Bob>",
    "Ana & Lu",
];

const LAST_NAMES: &[&str] = &[
    "O'Neil",
    "Smith",
    "García",
    "Nguyen",
    "Müller",
    "Okafor",
    "D'Angelo",
    "Kowalski",
    "Haddad",
    "Tanaka",
    "Johansson",
    "Silva",
    "Fischer",
    "Ivanova",
    "Dubois",
    "Rossi",
    "Patel",
    "Kim",
    "Walsh",
    "Novak",
];

const STREETS: &[&str] = &[
    "King's Road",
    "Rose & Crown Lane",
    "Main Street",
    "Elm Avenue",
    "Harbour View",
    "St. John's Place",
    "Station Road <rear entrance>",
    "Mill Lane",
    "Oak & Ash Close",
    "High Street",
];

const CITIES: &[&str] = &[
    "Lawrence, KS",
    "Bristol",
    "Lyon",
    "Osaka",
    "Porto",
    "Toronto",
    "Cork",
    "Kraków",
];

/// The first hire date seeded.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

/// Days from 2000-01-01 to 2025-12-31 inclusive.
const HIRE_DAYS: u64 = 9_497;

/// Rows inserted per statement.
const CHUNK: usize = 1_000;

/// `SplitMix64`: tiny, fast and stable across releases, which a fixed seed needs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or_default();
        items[index]
    }
}

/// The employee seeded as row `index` (0-based).
pub fn employee(index: u64) -> Employee {
    let mut rng = SplitMix64(index ^ 0x4845_5244_5345_4544);
    let name = format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
    let address = format!(
        "{} {}, {}",
        1 + rng.below(240),
        rng.pick(STREETS),
        rng.pick(CITIES)
    );
    let hire_date = first_day()
        .checked_add_days(Days::new(rng.below(HIRE_DAYS)))
        .unwrap_or_else(first_day);
    Employee {
        id: 0,
        name,
        address,
        hire_date,
    }
}

/// Makes sure the first `count` seeded employees exist; returns how many were added.
///
/// # Errors
///
/// The database cannot be reached or the table is missing (run `herd migrate`).
pub async fn seed(db: &Database, count: u64) -> herd::db::Result<u64> {
    let existing = u64::try_from(Employee::objects().count(db).await?).unwrap_or_default();
    let mut added = 0;
    let mut next = existing;
    while next < count {
        let end = count.min(next + CHUNK as u64);
        let rows: Vec<Employee> = (next..end).map(employee).collect();
        added += rows.len() as u64;
        Employee::bulk_create(db, rows).await?;
        next = end;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_always_gives_the_same_employee() {
        assert_eq!(employee(42), employee(42));
        assert_ne!(employee(42), employee(43));
    }

    #[test]
    fn hire_dates_stay_within_2000_to_2025() {
        let last = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        for index in 0..5_000 {
            let date = employee(index).hire_date;
            assert!(date >= first_day() && date <= last, "{date}");
        }
        assert_eq!(
            first_day()
                .checked_add_days(Days::new(HIRE_DAYS - 1))
                .unwrap(),
            last
        );
    }

    #[test]
    fn seeded_text_exercises_escaping() {
        let mut text = String::new();
        for index in 0..2_000 {
            let seeded = employee(index);
            text.push_str(&seeded.name);
            text.push_str(&seeded.address);
        }
        for ch in ['\'', '&', '<', '>'] {
            assert!(text.contains(ch), "{ch}");
        }
    }
}
