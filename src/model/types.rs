//! The static types of the ordo language (SPEC §3.2).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Type {
    String,
    Int,
    Decimal,
    Bool,
    Date,
    DateTime,
    Duration,
    Money,
    Percent,
    Enum {
        name: String,
    },
    /// `int(lo..hi)`, inclusive.
    IntRange {
        lo: i64,
        hi: i64,
    },
    /// `string matching "REGEX"`.
    Matching {
        pattern: String,
    },
    /// The type of `null`: an absent optional attribute or a skipped task's output.
    Null,
}

impl Type {
    /// The family a type belongs to for operators: ranges are ints, patterns strings.
    pub fn base(&self) -> Type {
        match self {
            Type::IntRange { .. } => Type::Int,
            Type::Matching { .. } => Type::String,
            other => other.clone(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.base(), Type::Int | Type::Decimal)
    }

    /// Whether a value of type `self` may be used where `target` is expected.
    /// Narrowing (string into an enum, int into a range) is allowed here and
    /// checked on the value; callers check literals eagerly.
    pub fn fits(&self, target: &Type) -> bool {
        // Null on either side: an absent value, or a type already reported unknown.
        if self == target || *self == Type::Null || *target == Type::Null {
            return true;
        }
        matches!(
            (self.base(), target),
            (Type::Int, Type::Decimal | Type::Int | Type::IntRange { .. })
                | (
                    Type::String,
                    Type::String | Type::Matching { .. } | Type::Enum { .. }
                )
                | (Type::Enum { .. }, Type::String)
        )
    }

    /// Whether `==` between the two makes sense.
    pub fn comparable(&self, other: &Type) -> bool {
        self.fits(other) || other.fits(self) || (self.is_numeric() && other.is_numeric())
    }

    /// Whether `<`, `<=`, `>`, `>=` are defined.
    pub fn ordered(&self) -> bool {
        matches!(
            self.base(),
            Type::Int
                | Type::Decimal
                | Type::Money
                | Type::Date
                | Type::DateTime
                | Type::Duration
                | Type::Percent
        )
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Decimal => f.write_str("decimal"),
            Type::Bool => f.write_str("bool"),
            Type::Date => f.write_str("date"),
            Type::DateTime => f.write_str("datetime"),
            Type::Duration => f.write_str("duration"),
            Type::Money => f.write_str("money"),
            Type::Percent => f.write_str("percent"),
            Type::Enum { name } => f.write_str(name),
            Type::IntRange { lo, hi } => write!(f, "int({lo}..{hi})"),
            Type::Matching { pattern } => write!(f, "string matching {pattern:?}"),
            Type::Null => f.write_str("null"),
        }
    }
}

/// The type with its indefinite article, for messages: "an int", "a string".
pub fn a(ty: &Type) -> String {
    let name = ty.to_string();
    if *ty == Type::Money {
        return name;
    }
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// The built-in type names, for "did you mean" on unknown types.
pub const BUILTIN_TYPES: [&str; 8] = [
    "string", "int", "decimal", "bool", "date", "datetime", "duration", "money",
];

pub fn builtin(name: &str) -> Option<Type> {
    Some(match name {
        "string" => Type::String,
        "int" => Type::Int,
        "decimal" => Type::Decimal,
        "bool" => Type::Bool,
        "date" => Type::Date,
        "datetime" => Type::DateTime,
        "duration" => Type::Duration,
        "money" => Type::Money,
        "percent" => Type::Percent,
        _ => return None,
    })
}
