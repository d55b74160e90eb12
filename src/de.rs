//! Serde helpers for option values that every surface spells alike: whole
//! numbers that arrive as doubles (JavaScript has no integers), text values
//! parsed by their `FromStr`, row group sizes. A leaf: the option types of
//! [`crate::grid`] and [`crate::encode`] use it, and the options reader
//! ([`crate::options`]) reads those types.

use crate::error::Error;
use serde::de::{self, Deserialize};

/// A float: a JSON number, or NaN and the infinities as the text
/// [`crate::options::float_value`] spells them (JSON has no such numbers),
/// so that they reach validation and are refused by its rule, with the
/// same words on every surface.
struct Float(f64);

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Float;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> std::result::Result<Float, E> {
                Ok(Float(x))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> std::result::Result<Float, E> {
                Ok(Float(x as f64))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> std::result::Result<Float, E> {
                Ok(Float(x as f64))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Float, E> {
                match s {
                    "NaN" => Ok(Float(f64::NAN)),
                    "Infinity" => Ok(Float(f64::INFINITY)),
                    "-Infinity" => Ok(Float(f64::NEG_INFINITY)),
                    _ => Err(E::invalid_type(de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A float option, as [`Float`].
pub(crate) fn float<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Float::deserialize(d).map(|f| f.0)
}

/// A list of floats, as [`Float`].
pub(crate) fn float_list<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f64>, D::Error> {
    Vec::<Float>::deserialize(d).map(|v| v.into_iter().map(|f| f.0).collect())
}

/// Whole numbers given as JSON numbers of any kind (JavaScript has only
/// doubles): `30` and `30.0` are 30, `1.5` is refused.
pub(crate) fn whole<'de, D: de::Deserializer<'de>, T: TryFrom<u64>>(
    d: D,
) -> std::result::Result<T, D::Error> {
    let x = float(d)?;
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) {
        if let Ok(v) = T::try_from(x as u64) {
            return Ok(v);
        }
    }
    Err(de::Error::custom(format!(
        "{x} is not a whole number in range"
    )))
}

/// A list of whole numbers, as [`whole`].
pub(crate) fn whole_list<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<u64>, D::Error> {
    let v = float_list(d)?;
    v.into_iter()
        .map(|x| whole::<_, u64>(serde::de::value::F64Deserializer::<D::Error>::new(x)))
        .collect()
}

/// Rows per row group: a whole number, at least 1.
pub(crate) fn row_group_size<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<usize, D::Error> {
    match whole::<_, usize>(d)? {
        0 => Err(de::Error::custom("must be at least 1")),
        n => Ok(n),
    }
}

/// A value parsed from its text with `FromStr` (e.g. `"zstd:3"`).
pub(crate) fn parsed<'de, D: de::Deserializer<'de>, T: std::str::FromStr<Err = Error>>(
    d: D,
) -> std::result::Result<T, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<T>().map_err(|e| match e {
        Error::Param { message, .. } => de::Error::custom(message),
        other => de::Error::custom(other),
    })
}
