//! The options of a labeling run, read once for every surface.
//!
//! A host hands the core its user's options as one JSON-like object
//! (JavaScript's `{targetPips: [10], ...}`, Python's keyword arguments);
//! [`Options::from_json`] splits it into the core's own types
//! ([`Params`], [`EncodeOptions`] and the input's time column), each
//! deserialised by serde. The names an option may have are the fields of
//! those types, so no list of names is kept anywhere else: an unknown name
//! is refused, and every error names the option as the surface spells it
//! ([`Spelling`]): `target_pips` in Rust and Python, `targetPips` in JS.
//!
//! ```
//! use fxlabel::options::{Options, Spelling};
//! let o = Options::from_json(
//!     serde_json::json!({"targetPips": [10], "horizons": [30], "entry": "next_open"}),
//!     Spelling::Camel,
//! ).unwrap();
//! assert_eq!(o.params.target_pips, vec![10.0]);
//! assert_eq!(o.params.entry, fxlabel::Entry::NextOpen);
//! let err = Options::from_json(serde_json::json!({"stopPip": [5]}), Spelling::Camel).unwrap_err();
//! assert!(err.to_string().contains("'stopPip'"));
//! ```

use crate::encode::EncodeOptions;
use crate::error::{Error, Result};
use crate::grid::{Params, ValidParams};
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value};

/// How a surface spells option names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// `target_pips`: Rust, Python and the contract.
    Snake,
    /// `targetPips`: JavaScript.
    Camel,
    /// `--targets`: the command-line programs' flags (errors only: the
    /// CLIs hand their options over in snake_case or camelCase).
    Flag,
}

/// The command-line flag of an option (snake_case name), the same in both
/// command-line programs: the name in kebab-case, but for four short ones.
fn flag(name: &str) -> String {
    let short = match name {
        "target_pips" => "targets",
        "stop_pips" => "stops",
        "horizon_unit" => "unit",
        "pip_value" => "pip",
        other => return format!("--{}", other.replace('_', "-")),
    };
    format!("--{short}")
}

impl Spelling {
    /// `name` (snake_case, as the core names it) as this surface spells it.
    pub fn spell(self, name: &str) -> String {
        match self {
            Spelling::Snake => name.to_string(),
            Spelling::Flag => flag(name),
            Spelling::Camel => {
                let mut out = String::with_capacity(name.len());
                let mut upper = false;
                for ch in name.chars() {
                    if ch == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(ch.to_uppercase());
                        upper = false;
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
        }
    }

    /// The core's (snake_case) name of an option spelled `name` here
    /// (a name with an underscore is not camelCase: it is unknown there).
    pub fn core_name(self, name: &str) -> Option<String> {
        match self {
            Spelling::Snake => Some(name.to_string()),
            Spelling::Flag => None,
            Spelling::Camel if name.contains('_') => None,
            Spelling::Camel => {
                let mut out = String::with_capacity(name.len() + 4);
                for ch in name.chars() {
                    if ch.is_ascii_uppercase() {
                        out.push('_');
                        out.push(ch.to_ascii_lowercase());
                    } else {
                        out.push(ch);
                    }
                }
                Some(out)
            }
        }
    }

    /// `e` with the option it names spelled for this surface.
    pub fn error(self, e: Error) -> Error {
        match e {
            Error::Param { name, message } => Error::Param {
                name: self.spell(&name),
                message,
            },
            other => other,
        }
    }
}

/// A host's floating-point option value as JSON. JSON has no NaN or
/// infinity (serde would make them null, the default): they become their
/// spelling as a string, which the float options read back
/// ([`crate::de`]), so that the option's own rule refuses them.
pub fn float_value(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or_else(
        || Value::String(format!("{x}").replace("inf", "Infinity")),
        Value::Number,
    )
}

/// What a run takes from its user, split into the core's types.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The grid and the label settings.
    pub params: Params,
    /// How each file is written.
    pub encode: EncodeOptions,
    /// The input's time column, when it is not one of
    /// [`crate::input::TIME_COLUMNS`].
    pub time_column: Option<String>,
}

/// The input options (only the time column today).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct InputOptions {
    time_column: Option<String>,
}

impl Options {
    /// Reads `value` (an object; null means every default), names spelled
    /// as `spelling` says. A null option means its default.
    pub fn from_json(value: Value, spelling: Spelling) -> Result<Options> {
        let obj = match value {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            other => {
                return Err(Error::param(
                    "options",
                    format!("expected an object of options, got {other}"),
                ))
            }
        };
        let groups = [
            fields_of::<Params>(),
            fields_of::<EncodeOptions>(),
            fields_of::<InputOptions>(),
        ];
        let mut parts = [Map::new(), Map::new(), Map::new()];
        for (key, v) in obj {
            let name = spelling.core_name(&key).unwrap_or_default();
            let Some(g) = groups.iter().position(|f| f.contains(&name.as_str())) else {
                let known: Vec<String> = groups
                    .iter()
                    .flat_map(|f| f.iter().map(|n| spelling.spell(n)))
                    .collect();
                return Err(Error::Param {
                    name: key,
                    message: format!("unknown option (expected one of: {})", known.join(", ")),
                });
            };
            if !v.is_null() {
                parts[g].insert(name, v);
            }
        }
        let [p, e, i] = parts;
        Ok(Options {
            params: read(p, spelling)?,
            encode: read(e, spelling)?,
            time_column: read::<InputOptions>(i, spelling)?.time_column,
        })
    }

    /// The parameters, validated (errors spelled for `spelling`).
    pub fn validate(&self, spelling: Spelling) -> Result<ValidParams> {
        self.params.validate().map_err(|e| spelling.error(e))
    }
}

/// Deserialises one group of options; an error names the option.
fn read<T: DeserializeOwned>(m: Map<String, Value>, spelling: Spelling) -> Result<T> {
    serde_path_to_error::deserialize(Value::Object(m)).map_err(|e| {
        let name = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
            _ => "options".to_string(),
        };
        Error::Param {
            name: spelling.spell(&name),
            message: e.into_inner().to_string(),
        }
    })
}

/// The field names of a struct that derives `Deserialize`, as serde sees
/// them: the one list of option names.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(
            self,
            _: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compression, Entry, Format, HorizonUnit, Side};
    use serde_json::json;

    #[test]
    fn names_come_from_the_types() {
        assert!(fields_of::<Params>().contains(&"spread_column"));
        assert!(fields_of::<EncodeOptions>().contains(&"row_group_size"));
        assert_eq!(Spelling::Camel.spell("row_group_size"), "rowGroupSize");
        assert_eq!(
            Spelling::Camel.core_name("rowGroupSize").unwrap(),
            "row_group_size"
        );
    }

    #[test]
    fn every_option_in_both_spellings() {
        let camel = json!({
            "targetPips": [10, 7.5], "stopPips": [5], "horizons": [30, 60.0],
            "horizonUnit": "bars", "pipValue": 0.01, "sides": ["short"], "tie": "target",
            "extras": true, "spreadPips": 0, "spreadColumn": "spread", "entry": "next_open",
            "weights": true, "format": "arrow", "compression": "zstd:3", "rowGroupSize": 1000,
            "timeColumn": "when"
        });
        let snake: Map<String, Value> = camel
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (Spelling::Camel.core_name(k).unwrap(), v.clone()))
            .collect();
        let a = Options::from_json(camel, Spelling::Camel).unwrap();
        let b = Options::from_json(Value::Object(snake), Spelling::Snake).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.params.horizons, vec![30, 60]);
        assert_eq!(a.params.horizon_unit, HorizonUnit::Bars);
        assert_eq!(a.params.sides, vec![Side::Short]);
        assert_eq!(a.params.entry, Entry::NextOpen);
        assert!(a.params.weights);
        assert_eq!(a.encode.format, Format::Arrow);
        assert_eq!(a.encode.compression, Compression::Zstd(3));
        assert_eq!(a.encode.row_group_size, 1000);
        assert_eq!(a.time_column.as_deref(), Some("when"));
        let d = Options::from_json(json!({"tie": null}), Spelling::Camel).unwrap();
        assert_eq!(d.params, Params::default());
        assert_eq!(d.encode, EncodeOptions::default());
    }

    #[test]
    fn errors_name_the_option_as_spelled() {
        let err = |v: Value, s: Spelling| match Options::from_json(v, s)
            .and_then(|o| o.validate(s).map(|_| o))
        {
            Err(Error::Param { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(json!({"stopPip": [5]}), Spelling::Camel), "stopPip");
        assert_eq!(err(json!({"stop_pips": [5]}), Spelling::Camel), "stop_pips");
        assert_eq!(err(json!({"horizons": [1.5]}), Spelling::Camel), "horizons");
        assert_eq!(
            err(json!({"horizonUnit": "hours"}), Spelling::Camel),
            "horizonUnit"
        );
        assert_eq!(err(json!({"entry": "open"}), Spelling::Snake), "entry");
        assert_eq!(
            err(json!({"spreadPips": -1}), Spelling::Camel),
            "spreadPips"
        );
        assert_eq!(
            err(
                json!({"spread_pips": 1, "spread_column": "s"}),
                Spelling::Snake
            ),
            "spread_column"
        );
        assert_eq!(
            err(json!({"compression": "zip"}), Spelling::Camel),
            "compression"
        );
        assert_eq!(
            err(json!({"rowGroupSize": 0}), Spelling::Camel),
            "rowGroupSize"
        );
        assert_eq!(
            err(json!({"targetPips": "10"}), Spelling::Camel),
            "targetPips"
        );
        assert_eq!(err(json!([1]), Spelling::Camel), "options");
    }

    /// NaN and the infinities, which hosts spell as text in JSON, are
    /// refused by the option's own rule, in the same words everywhere.
    #[test]
    fn non_finite_floats_meet_the_options_rule() {
        let message = |name: &str, x: f64| {
            let v = match name {
                "target_pips" | "horizons" => Value::Array(vec![float_value(x)]),
                _ => float_value(x),
            };
            match Options::from_json(json!({ name: v }), Spelling::Snake)
                .and_then(|o| o.validate(Spelling::Snake).map(|_| o))
            {
                Err(Error::Param { name, message }) => format!("{name}: {message}"),
                other => panic!("{other:?}"),
            }
        };
        for (name, x, said) in [
            ("pip_value", f64::NAN, "NaN is not a positive finite price"),
            (
                "spread_pips",
                f64::INFINITY,
                "inf is not a finite number of pips >= 0",
            ),
            (
                "target_pips",
                f64::NEG_INFINITY,
                "-inf is not a positive finite number of pips",
            ),
            ("horizons", f64::NAN, "NaN is not a whole number in range"),
        ] {
            assert_eq!(message(name, x), format!("{name}: {said}"));
        }
        // Other text is still refused as text.
        let err = Options::from_json(json!({"pip_value": "0.01"}), Spelling::Snake);
        assert!(format!("{err:?}").contains("expected a number"), "{err:?}");
    }
}
