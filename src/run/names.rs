//! The names a run gives files in its folder: temporary files, the lock,
//! and the owner mark (a pid, or a random id in the browser) that tells
//! one run's files from another's.

/// Name of the lock file inside an output folder.
pub const LOCK_NAME: &str = ".fxlabel.lock";

/// The temporary name a file is written under before it is renamed to
/// `name`: `.T10_S5_H30.parquet.tmp-<owner>`.
pub fn temp_name(name: &str, owner: &str) -> String {
    format!(".{name}.tmp-{owner}")
}

/// Whether `name` is a temporary file of some run (a config's or a lock's).
pub fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// The owner mark of a temporary name (`.X.tmp-<owner>`,
/// `.fxlabel.lock.tmp-<owner>-stale`).
pub fn temp_owner(name: &str) -> Option<&str> {
    let rest = &name[name.rfind(".tmp-")? + 5..];
    let owner = rest.split('-').next().unwrap_or("");
    (!owner.is_empty()).then_some(owner)
}

/// The final file name of a config in a format: `T10_S5_H30.parquet`.
pub fn file_name(config: &crate::Config, format: crate::Format) -> String {
    format!("{}.{}", config.key(), format.extension())
}

/// The names a config's file may have, one per format (Parquet first):
/// where to look for a key's results.
pub fn file_names(key: &str) -> crate::Result<Vec<String>> {
    let c = crate::Config::parse_key(key)?;
    Ok([crate::Format::Parquet, crate::Format::Arrow]
        .map(|f| file_name(&c, f))
        .to_vec())
}

/// The label files among `names` (a folder's listing): final names of a
/// canonical config key and a label format (`T10_S5_H30.parquet`), as
/// `(name, key)` in grid order (target, stop, horizon).
pub fn label_files(names: &[String]) -> Vec<(String, String)> {
    let mut found: Vec<(crate::Config, &String)> = names
        .iter()
        .filter_map(|n| {
            let (stem, ext) = n.rsplit_once('.')?;
            let ok = ext == crate::Format::Parquet.extension()
                || ext == crate::Format::Arrow.extension();
            let c = crate::Config::parse_key(stem).ok().filter(|_| ok)?;
            Some((c, n))
        })
        .collect();
    found.sort_by(|(a, n), (b, m)| {
        (a.target_pips, a.stop_pips, a.horizon)
            .partial_cmp(&(b.target_pips, b.stop_pips, b.horizon))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| n.cmp(m))
    });
    found
        .into_iter()
        .map(|(c, n)| (n.clone(), c.key()))
        .collect()
}

/// What a lock file holds: its owner's mark and a newline.
pub(crate) fn lock_text(owner: &str) -> String {
    format!("{owner}\n")
}

/// The owner named by a lock file's text.
pub(crate) fn lock_owner(text: &str) -> Option<&str> {
    text.split_whitespace().next()
}

/// The temporary file a lock is written to before it is put in place,
/// and the name a stale lock is moved aside to.
pub(crate) fn lock_temps(owner: &str) -> (String, String) {
    let via = temp_name(&LOCK_NAME[1..], owner);
    let aside = format!("{via}-stale");
    (via, aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_their_owner() {
        assert_eq!(
            temp_name("T5_S5_H30.parquet", "12"),
            ".T5_S5_H30.parquet.tmp-12"
        );
        assert_eq!(temp_owner(".T5_S5_H30.parquet.tmp-1234"), Some("1234"));
        assert_eq!(temp_owner(".fxlabel.lock.tmp-77-stale"), Some("77"));
        assert_eq!(temp_owner(".T5.parquet.tmp-k3x9a"), Some("k3x9a"));
        assert_eq!(temp_owner(".x.tmp-"), None);
        assert_eq!(temp_owner("T5_S5_H30.parquet"), None);
        assert!(is_temp(".T5_S5_H30.parquet.tmp-1") && !is_temp("T5_S5_H30.parquet"));
        let (via, aside) = lock_temps("9");
        assert_eq!(
            (via.as_str(), aside.as_str()),
            (".fxlabel.lock.tmp-9", ".fxlabel.lock.tmp-9-stale")
        );
        assert!(is_temp(&via) && is_temp(&aside));
        assert_eq!(lock_owner(&lock_text("9")), Some("9"));
    }

    #[test]
    fn label_files_in_grid_order() {
        let names: Vec<String> = [
            "T10_S5_H30.parquet",
            "T5_S5_H60.arrow",
            ".T5_S5_H30.parquet.tmp-1",
            "T5_S5_H30.parquet",
            "T05_S5_H30.parquet",
            "notes.txt",
            "T5_S5_H30.csv",
        ]
        .map(String::from)
        .to_vec();
        let got: Vec<_> = label_files(&names).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            got,
            ["T5_S5_H30.parquet", "T5_S5_H60.arrow", "T10_S5_H30.parquet"]
        );
    }
}
