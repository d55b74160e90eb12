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
}
