//! File metadata: what each output file records about how it was made,
//! and the resume check that compares it with the current run.
//!
//! Keys (all strings, JSON values where structured):
//! `fxlabel.format_version`, `fxlabel.key`, `fxlabel.config`,
//! `fxlabel.settings`, `fxlabel.input` and, for information only,
//! `fxlabel.library`.

use crate::candles::Fingerprint;
use crate::error::{Error, Result};
use crate::grid::{Config, Settings};
use std::collections::HashMap;

/// Version of the label format (the meaning and layout of the columns).
/// Bumped whenever an output row would change for the same input.
pub const FORMAT_VERSION: &str = "1";

const K_VERSION: &str = "fxlabel.format_version";
const K_KEY: &str = "fxlabel.key";
const K_CONFIG: &str = "fxlabel.config";
const K_SETTINGS: &str = "fxlabel.settings";
const K_INPUT: &str = "fxlabel.input";
const K_LIBRARY: &str = "fxlabel.library";

/// The recorded provenance of one output file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileMeta {
    pub format_version: String,
    pub config: Config,
    pub settings: Settings,
    pub input: Fingerprint,
}

impl FileMeta {
    /// Key-value pairs to store in a file.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        vec![
            (K_VERSION.into(), self.format_version.clone()),
            (K_KEY.into(), self.config.key()),
            (K_CONFIG.into(), json(&self.config)),
            (K_SETTINGS.into(), json(&self.settings)),
            (K_INPUT.into(), json(&self.input)),
            (
                K_LIBRARY.into(),
                format!("fxlabel {}", env!("CARGO_PKG_VERSION")),
            ),
        ]
    }

    /// Reads the provenance back from a file's key-value pairs.
    pub fn from_pairs(pairs: &HashMap<String, String>) -> Result<Self> {
        let get = |k: &str| {
            pairs.get(k).ok_or_else(|| {
                Error::Format(format!(
                    "not an fxlabel file: metadata key '{k}' is missing"
                ))
            })
        };
        let parse_err = |k: &str, e: serde_json::Error| {
            Error::Format(format!("bad fxlabel metadata '{k}': {e}"))
        };
        Ok(FileMeta {
            format_version: get(K_VERSION)?.clone(),
            config: serde_json::from_str(get(K_CONFIG)?).map_err(|e| parse_err(K_CONFIG, e))?,
            settings: serde_json::from_str(get(K_SETTINGS)?)
                .map_err(|e| parse_err(K_SETTINGS, e))?,
            input: serde_json::from_str(get(K_INPUT)?).map_err(|e| parse_err(K_INPUT, e))?,
        })
    }

    /// `Ok` when a file with metadata `self` can stand for `expected`;
    /// otherwise a [`Error::Mismatch`] naming the first differing setting.
    pub fn check(&self, expected: &FileMeta) -> Result<()> {
        let key = expected.config.key();
        let differ = |what: &str, file: String, run: String| {
            Err(Error::Mismatch {
                key: key.clone(),
                message: format!("{what} differs (file: {file}, this run: {run})"),
            })
        };
        let (a, b) = (self, expected);
        if a.format_version != b.format_version {
            return differ(
                "label format version",
                a.format_version.clone(),
                b.format_version.clone(),
            );
        }
        if a.config != b.config {
            return differ("config", a.config.key(), b.config.key());
        }
        let (s, t) = (&a.settings, &b.settings);
        if s.horizon_unit != t.horizon_unit {
            return differ(
                "horizon_unit",
                s.horizon_unit.to_string(),
                t.horizon_unit.to_string(),
            );
        }
        if s.pip_value != t.pip_value {
            return differ(
                "pip_value",
                s.pip_value.to_string(),
                t.pip_value.to_string(),
            );
        }
        if s.sides != t.sides {
            let j = |v: &[crate::Side]| {
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            return differ("sides", j(&s.sides), j(&t.sides));
        }
        if s.tie != t.tie {
            return differ("tie", s.tie.to_string(), t.tie.to_string());
        }
        if s.extras != t.extras {
            return differ("extras", s.extras.to_string(), t.extras.to_string());
        }
        if s.spread_pips != t.spread_pips {
            return differ(
                "spread_pips",
                s.spread_pips.to_string(),
                t.spread_pips.to_string(),
            );
        }
        if s.spread_column != t.spread_column {
            let n = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
            return differ("spread_column", n(&s.spread_column), n(&t.spread_column));
        }
        if s.entry != t.entry {
            return differ("entry", s.entry.to_string(), t.entry.to_string());
        }
        if s.weights != t.weights {
            return differ("weights", s.weights.to_string(), t.weights.to_string());
        }
        let (x, y) = (&a.input, &b.input);
        if x.rows != y.rows {
            return differ("input rows", x.rows.to_string(), y.rows.to_string());
        }
        if x.first_ts != y.first_ts || x.last_ts != y.last_ts {
            return differ(
                "input time range",
                format!("{}..{}", x.first_ts, x.last_ts),
                format!("{}..{}", y.first_ts, y.last_ts),
            );
        }
        if x.hash != y.hash {
            return differ(
                "input data (hash of timestamps and prices)",
                x.hash.clone(),
                y.hash.clone(),
            );
        }
        Ok(())
    }
}

/// Serialises a metadata value to JSON (infallible for these plain types).
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{HorizonUnit, Params};

    fn meta() -> FileMeta {
        FileMeta {
            format_version: FORMAT_VERSION.into(),
            config: Config {
                target_pips: 10.0,
                stop_pips: 5.0,
                horizon: 30,
            },
            settings: Params::default().validate().unwrap().settings(),
            input: Fingerprint {
                rows: 10,
                first_ts: 0,
                last_ts: 9,
                hash: "ab".into(),
            },
        }
    }

    #[test]
    fn default_v2_settings_are_not_recorded() {
        // Files made before the version 2 settings keep matching.
        let json = serde_json::to_string(&meta().settings).unwrap();
        assert_eq!(
            json,
            r#"{"horizon_unit":"minutes","pip_value":0.0001,"sides":["long","short"],"tie":"stop","extras":false}"#
        );
        let mut m = meta();
        m.settings.entry = crate::Entry::NextOpen;
        m.settings.spread_column = Some("spread".into());
        m.settings.weights = true;
        let json = serde_json::to_string(&m.settings).unwrap();
        assert!(
            json.ends_with(r#""spread_column":"spread","entry":"next_open","weights":true}"#),
            "{json}"
        );
        let back: crate::Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m.settings);
    }

    #[test]
    fn round_trip_and_every_difference_is_named() {
        let m = meta();
        let pairs: HashMap<_, _> = m.to_pairs().into_iter().collect();
        assert_eq!(FileMeta::from_pairs(&pairs).unwrap(), m);
        let named = |f: &dyn Fn(&mut FileMeta)| {
            let mut o = meta();
            f(&mut o);
            o.check(&m).unwrap_err().to_string()
        };
        assert!(named(&|o| o.format_version = "0".into()).contains("format version"));
        assert!(named(&|o| o.config.horizon = 60).contains("config"));
        assert!(named(&|o| o.settings.horizon_unit = HorizonUnit::Bars).contains("horizon_unit"));
        assert!(named(&|o| o.settings.pip_value = 0.01).contains("pip_value"));
        assert!(named(&|o| o.settings.sides.pop().map(|_| ()).unwrap_or(())).contains("sides"));
        assert!(named(&|o| o.settings.tie = crate::Tie::Target).contains("tie"));
        assert!(named(&|o| o.settings.extras = true).contains("extras"));
        assert!(named(&|o| o.settings.spread_pips = 1.5).contains("spread_pips"));
        assert!(named(&|o| o.settings.spread_column = Some("s".into())).contains("spread_column"));
        assert!(named(&|o| o.settings.entry = crate::Entry::NextOpen).contains("entry"));
        assert!(named(&|o| o.settings.weights = true).contains("weights"));
        assert!(named(&|o| o.input.rows = 11).contains("input rows"));
        assert!(named(&|o| o.input.last_ts = 10).contains("time range"));
        assert!(named(&|o| o.input.hash = "cd".into()).contains("input data"));
        assert!(meta().check(&m).is_ok());
        assert!(FileMeta::from_pairs(&HashMap::new()).is_err());
    }
}
