//! Parameters, the config grid and config keys.
//!
//! [`Params`] holds the settings of a run with the contract's defaults
//! (6 targets x 5 stops x 7 horizons = 210 configs). [`Params::validate`]
//! rejects bad values by name and drops duplicate grid values.
//! A [`Config`] is one (target, stop, horizon) triple; its key is
//! `T{T}_S{S}_H{H}` with numbers in their shortest round-trip form.
//!
//! ```
//! use fxlabel::{Config, Params};
//! let c = Config { target_pips: 7.5, stop_pips: 5.0, horizon: 60 };
//! assert_eq!(c.key(), "T7.5_S5_H60");
//! assert_eq!(Config::parse_key("T7.5_S5_H60").unwrap(), c);
//! assert_eq!(Params::default().validate().unwrap().configs().len(), 210);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most configs one run may ask for: enough for any sensible grid, small
/// enough that a mistyped grid is refused instead of running for days.
pub const MAX_CONFIGS: usize = 10_000;

/// How the vertical barrier is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HorizonUnit {
    /// Clock time from the timestamps: a gap shortens the window.
    Minutes,
    /// A count of bars.
    Bars,
}

/// Trade direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Long,
    Short,
}

/// What a bar that touches both barriers counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tie {
    /// Pessimistic: the stop.
    Stop,
    /// Optimistic: the target.
    Target,
}

/// Where a trade enters (label contract, version 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// At the entry candle's close (the default).
    #[default]
    Close,
    /// At the next bar's open: the entry bar is `i + 1`, and it trades.
    NextOpen,
}

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Parquet,
    Arrow,
}

impl Format {
    /// File extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        }
    }
}

/// Text values (`"minutes"`, `"next_open"`, ...): parsed by `FromStr` for
/// every surface, serde included, so their errors read the same everywhere.
macro_rules! str_enum {
    ($t:ty, $param:literal, $($s:literal => $v:expr),+) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                crate::de::parsed(d)
            }
        }
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($s => Ok($v),)+
                    other => Err(Error::param($param, format!(
                        "unknown value '{other}' (expected one of: {})", [$($s),+].join(", ")))),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let s = match self { $(x if *x == $v => $s,)+ _ => unreachable!() };
                f.write_str(s)
            }
        }
    };
}
str_enum!(HorizonUnit, "horizon_unit", "minutes" => HorizonUnit::Minutes, "bars" => HorizonUnit::Bars);
str_enum!(Side, "sides", "long" => Side::Long, "short" => Side::Short);
str_enum!(Tie, "tie", "stop" => Tie::Stop, "target" => Tie::Target);
str_enum!(Format, "format", "parquet" => Format::Parquet, "arrow" => Format::Arrow);
str_enum!(Entry, "entry", "close" => Entry::Close, "next_open" => Entry::NextOpen);

/// Settings of a labeling run. Build one, then [`Params::validate`] it.
/// Its field names are the options' names ([`crate::options`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "crate::de::float_list")]
    pub target_pips: Vec<f64>,
    #[serde(deserialize_with = "crate::de::float_list")]
    pub stop_pips: Vec<f64>,
    #[serde(deserialize_with = "crate::de::whole_list")]
    pub horizons: Vec<u64>,
    pub horizon_unit: HorizonUnit,
    #[serde(deserialize_with = "crate::de::float")]
    pub pip_value: f64,
    pub sides: Vec<Side>,
    pub tie: Tie,
    /// Adds `{side}_mfe_pips` and `{side}_mae_pips`.
    pub extras: bool,
    /// A constant spread in pips (finite, >= 0); 0: none.
    #[serde(deserialize_with = "crate::de::float")]
    pub spread_pips: f64,
    /// The input column holding each bar's spread in price units; not
    /// together with a non-zero `spread_pips`.
    pub spread_column: Option<String>,
    /// Enter at the candle's close or at the next bar's open.
    pub entry: Entry,
    /// Adds `{side}_uniqueness` (average uniqueness, AFML chapter 4).
    pub weights: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            target_pips: vec![5.0, 10.0, 15.0, 20.0, 30.0, 50.0],
            stop_pips: vec![5.0, 10.0, 15.0, 20.0, 30.0],
            horizons: vec![1, 5, 15, 30, 60, 240, 1440],
            horizon_unit: HorizonUnit::Minutes,
            pip_value: 0.0001,
            sides: vec![Side::Long, Side::Short],
            tie: Tie::Stop,
            extras: false,
            spread_pips: 0.0,
            spread_column: None,
            entry: Entry::Close,
            weights: false,
        }
    }
}

/// Parameters that passed validation: grids sorted without duplicates,
/// sides in output order (long before short).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidParams(Params);

impl std::ops::Deref for ValidParams {
    type Target = Params;
    fn deref(&self) -> &Params {
        &self.0
    }
}

fn pips(name: &str, v: &[f64]) -> Result<Vec<f64>> {
    if v.is_empty() {
        return Err(Error::param(name, "the list is empty"));
    }
    let mut out = Vec::with_capacity(v.len());
    for &x in v {
        if !x.is_finite() || x <= 0.0 {
            return Err(Error::param(
                name,
                format!("{x} is not a positive finite number of pips"),
            ));
        }
        out.push(x);
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

impl Params {
    /// Checks every parameter; drops duplicate grid values.
    pub fn validate(&self) -> Result<ValidParams> {
        let target_pips = pips("target_pips", &self.target_pips)?;
        let stop_pips = pips("stop_pips", &self.stop_pips)?;
        if self.horizons.is_empty() {
            return Err(Error::param("horizons", "the list is empty"));
        }
        if let Some(h) = self
            .horizons
            .iter()
            .find(|&&h| h == 0 || h > u32::MAX as u64)
        {
            return Err(Error::param(
                "horizons",
                format!("{h} is not a positive whole number below 2^32"),
            ));
        }
        let mut horizons = self.horizons.clone();
        horizons.sort_unstable();
        horizons.dedup();
        if !self.pip_value.is_finite() || self.pip_value <= 0.0 {
            return Err(Error::param(
                "pip_value",
                format!("{} is not a positive finite price", self.pip_value),
            ));
        }
        if self.sides.is_empty() {
            return Err(Error::param("sides", "the list is empty"));
        }
        let mut sides = self.sides.clone();
        sides.sort();
        sides.dedup();
        if !self.spread_pips.is_finite() || self.spread_pips < 0.0 {
            return Err(Error::param(
                "spread_pips",
                format!("{} is not a finite number of pips >= 0", self.spread_pips),
            ));
        }
        if let Some(col) = &self.spread_column {
            if col.trim().is_empty() {
                return Err(Error::param("spread_column", "the column name is empty"));
            }
            if self.spread_pips != 0.0 {
                return Err(Error::param(
                    "spread_column",
                    "give either spread_column or a non-zero spread_pips, not both",
                ));
            }
        }
        let n = target_pips.len() * stop_pips.len() * horizons.len();
        if n > MAX_CONFIGS {
            return Err(Error::param(
                "grid",
                format!("{n} configs requested; at most {MAX_CONFIGS} are allowed in one run"),
            ));
        }
        Ok(ValidParams(Params {
            target_pips,
            stop_pips,
            horizons,
            sides,
            ..self.clone()
        }))
    }
}

impl ValidParams {
    /// The longest window of the grid, which a worker labeling a range of
    /// rows must keep past its last row ([`crate::CandlesBuilder::keep`]).
    pub fn longest_window(&self) -> crate::candles::Span {
        let h = self.horizons.iter().copied().max().unwrap_or(1);
        match self.horizon_unit {
            HorizonUnit::Minutes => crate::candles::Span::Millis((h as i64).saturating_mul(60_000)),
            HorizonUnit::Bars => crate::candles::Span::Bars(h),
        }
    }

    /// Every config of the grid: targets, then stops, then horizons, each
    /// ascending.
    pub fn configs(&self) -> Vec<Config> {
        let mut v = Vec::new();
        for &t in &self.target_pips {
            for &s in &self.stop_pips {
                for &h in &self.horizons {
                    v.push(Config {
                        target_pips: t,
                        stop_pips: s,
                        horizon: h,
                    });
                }
            }
        }
        v
    }

    /// The settings that every file of this run shares, as recorded in its
    /// metadata (the grid values themselves are per file).
    pub fn settings(&self) -> Settings {
        Settings {
            horizon_unit: self.horizon_unit,
            pip_value: self.pip_value,
            sides: self.sides.clone(),
            tie: self.tie,
            extras: self.extras,
            spread_pips: self.spread_pips,
            spread_column: self.spread_column.clone(),
            entry: self.entry,
            weights: self.weights,
        }
    }

    /// Whether the run pays a spread (a constant one or a column).
    pub fn has_spread(&self) -> bool {
        self.spread_pips != 0.0 || self.spread_column.is_some()
    }

    /// What the candles must hold beyond the four prices
    /// ([`crate::CandlesBuilder::expect`]).
    pub fn needs(&self) -> crate::candles::Needs {
        crate::candles::Needs {
            spread_column: self.spread_column.clone(),
            open: self.entry == Entry::NextOpen,
        }
    }

    /// The span of bars a worker labeling a range of rows must keep around
    /// it ([`crate::CandlesBuilder::keep`]).
    pub fn margin(&self) -> crate::candles::Margin {
        crate::candles::Margin {
            span: self.longest_window(),
            next_open: self.entry == Entry::NextOpen,
            weights: self.weights,
        }
    }
}

/// Run-wide settings recorded in every output file. The version 2
/// settings are recorded only when they differ from their defaults, so
/// files made before them (or without them) keep matching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub horizon_unit: HorizonUnit,
    pub pip_value: f64,
    pub sides: Vec<Side>,
    pub tie: Tie,
    pub extras: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spread_pips: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_column: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub entry: Entry,
    #[serde(default, skip_serializing_if = "is_default")]
    pub weights: bool,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_default<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

/// One config of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub target_pips: f64,
    pub stop_pips: f64,
    pub horizon: u64,
}

impl Config {
    /// `T{T}_S{S}_H{H}`, numbers in shortest round-trip form.
    pub fn key(&self) -> String {
        format!(
            "T{}_S{}_H{}",
            self.target_pips, self.stop_pips, self.horizon
        )
    }

    /// Parses a key made by [`Config::key`]. Only the canonical spelling
    /// is accepted, so a key can never name a path outside its folder.
    pub fn parse_key(key: &str) -> Result<Config> {
        let bad = || {
            Error::param(
                "key",
                format!("'{key}' is not a config key like T10_S5_H30"),
            )
        };
        let rest = key.strip_prefix('T').ok_or_else(bad)?;
        let (t, rest) = rest.split_once("_S").ok_or_else(bad)?;
        let (s, h) = rest.split_once("_H").ok_or_else(bad)?;
        let num = |x: &str| -> Result<f64> {
            if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(bad());
            }
            x.parse::<f64>().map_err(|_| bad())
        };
        let h_ok = !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit());
        let c = Config {
            target_pips: num(t)?,
            stop_pips: num(s)?,
            horizon: if h_ok {
                h.parse().map_err(|_| bad())?
            } else {
                return Err(bad());
            },
        };
        if c.key() != key {
            return Err(bad());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shortest_round_trip() {
        let k = |t, s, h| {
            Config {
                target_pips: t,
                stop_pips: s,
                horizon: h,
            }
            .key()
        };
        assert_eq!(k(5.0, 5.0, 1), "T5_S5_H1");
        assert_eq!(k(7.5, 5.0, 60), "T7.5_S5_H60");
        assert_eq!(k(50.0, 30.0, 1440), "T50_S30_H1440");
        assert_eq!(k(0.1, 2.25, 3), "T0.1_S2.25_H3");
    }

    #[test]
    fn keys_parse_back_and_reject_others() {
        for k in ["T5_S5_H1", "T7.5_S5_H60", "T0.1_S2.25_H3"] {
            assert_eq!(Config::parse_key(k).unwrap().key(), k);
        }
        for k in [
            "",
            "T5_S5",
            "T5_S5_H",
            "T5.0_S5_H1",
            "T-5_S5_H1",
            "T5_S5_H1.5",
            "T5_S5_H1/../x",
            "../T5_S5_H1",
            "T1e3_S5_H1",
            "t5_s5_h1",
        ] {
            assert!(Config::parse_key(k).is_err(), "{k}");
        }
    }

    #[test]
    fn defaults_and_dedup() {
        let p = Params::default().validate().unwrap();
        assert_eq!(p.configs().len(), 210);
        let p = Params {
            target_pips: vec![10.0, 5.0, 10.0],
            horizons: vec![30, 30],
            sides: vec![Side::Short, Side::Long, Side::Short],
            ..Params::default()
        }
        .validate()
        .unwrap();
        assert_eq!(p.target_pips, vec![5.0, 10.0]);
        assert_eq!(p.horizons, vec![30]);
        assert_eq!(p.sides, vec![Side::Long, Side::Short]);
        assert_eq!(p.configs()[0].key(), "T5_S5_H30");
    }

    #[test]
    fn bad_params_are_named() {
        let name = |p: Params| match p.validate() {
            Err(Error::Param { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        let d = Params::default;
        assert_eq!(
            name(Params {
                target_pips: vec![],
                ..d()
            }),
            "target_pips"
        );
        assert_eq!(
            name(Params {
                target_pips: vec![0.0],
                ..d()
            }),
            "target_pips"
        );
        assert_eq!(
            name(Params {
                stop_pips: vec![-1.0],
                ..d()
            }),
            "stop_pips"
        );
        assert_eq!(
            name(Params {
                stop_pips: vec![f64::NAN],
                ..d()
            }),
            "stop_pips"
        );
        assert_eq!(
            name(Params {
                target_pips: vec![f64::INFINITY],
                ..d()
            }),
            "target_pips"
        );
        assert_eq!(
            name(Params {
                horizons: vec![0],
                ..d()
            }),
            "horizons"
        );
        assert_eq!(
            name(Params {
                horizons: vec![],
                ..d()
            }),
            "horizons"
        );
        assert_eq!(
            name(Params {
                pip_value: 0.0,
                ..d()
            }),
            "pip_value"
        );
        assert_eq!(
            name(Params {
                pip_value: f64::NAN,
                ..d()
            }),
            "pip_value"
        );
        assert_eq!(
            name(Params {
                sides: vec![],
                ..d()
            }),
            "sides"
        );
        let many: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        assert_eq!(
            name(Params {
                target_pips: many.clone(),
                stop_pips: many,
                ..d()
            }),
            "grid"
        );
        assert_eq!(
            "sideways"
                .parse::<Side>()
                .unwrap_err()
                .to_string()
                .contains("sides"),
            true
        );
        assert!("maybe".parse::<Tie>().is_err());
        assert!("hours".parse::<HorizonUnit>().is_err());
    }
}
