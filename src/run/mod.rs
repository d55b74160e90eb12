//! The run protocol, once for every host: which configs to skip, refuse,
//! remove and write in an output folder, the temporary-name and lock
//! rules, and the shard plan of worker pools.
//!
//! A store is a folder (native or Node filesystem, OPFS, memory) that
//! performs a few I/O primitives, the [`Step`]s: list, read a tail,
//! write a temporary file, rename, remove, and the lock primitives. The
//! protocol decides everything else. A [`Run`] hands out [`Task`]s
//! (plan, commit one config, release) that a host steps through: the
//! native store performs each step at once ([`fs`]); the JS hosts await
//! each step and hand the reply back through the wasm skin.
//!
//! The rules:
//! - every file is written under a temporary name
//!   (`.T10_S5_H30.parquet.tmp-<owner>`), flushed, then renamed, and the
//!   rename made durable, so a file with a final name is always complete;
//! - a config whose final file exists is skipped when its metadata
//!   matches this run; a mismatching or incomplete file stops the run
//!   before anything is changed (unless `overwrite`);
//! - stale temporary files (their owner is gone) are removed;
//! - one run per folder: the lock file `.fxlabel.lock` names its owner;
//!   it is created whole and atomically; a lock whose owner is gone is
//!   taken over; the lock is checked before every rename.
//!
//! ```
//! use fxlabel::run::{Folder, LockKind, Next, Reply, Run, Step};
//! use fxlabel::{Candles, EncodeOptions, Labeler, Params};
//! let ts: Vec<i64> = (0..100).map(|i| i * 60_000).collect();
//! let px = vec![1.1; 100];
//! let candles = Candles::from_columns(&ts, &px, &px, &px, &px).unwrap();
//! let params = Params { target_pips: vec![5.0, 10.0], stop_pips: vec![5.0], horizons: vec![5, 30], ..Params::default() };
//! let labeler = Labeler::new(candles, params.validate().unwrap()).unwrap();
//! let folder = Folder { display: "labels".into(), id: "mem:labels".into(), owner: "1".into(), lock: LockKind::None };
//! let run = Run::new(&labeler, &EncodeOptions::default(), folder, false);
//! // An empty folder: the plan asks to create it and list it, then writes everything.
//! let plan = run.plan().drive(|step| match step {
//!     Step::MakeDir => Reply::Flag(false),
//!     Step::List => Reply::Names(vec![]),
//!     other => panic!("unexpected {other:?}"),
//! }).unwrap();
//! // Every config, those sharing a horizon together (they share its windows).
//! assert_eq!(plan.todo(), vec![0, 2, 1, 3]);
//! assert_eq!(run.keys(&plan).todo, ["T5_S5_H5", "T10_S5_H5", "T5_S5_H30", "T10_S5_H30"]);
//! ```

mod names;
mod protocol;
mod task;

#[cfg(not(target_arch = "wasm32"))]
pub mod fs;

pub use names::{file_name, file_names, is_temp, label_files, temp_name, temp_owner, LOCK_NAME};
pub use protocol::{Folder, LockKind, Plan, PlanKeys, Run};
pub use task::{host_failure, Next, Reply, ReplyKind, Step, Task};

/// How a pool of `workers` splits `rows` candles written in row groups of
/// `group_rows`: one `[start, end)` row range per worker, each a whole
/// number of row groups, or `None` when the work is better split by
/// configs (fewer than two row groups, one worker, or a format written
/// whole: Arrow IPC).
pub fn shards(
    rows: usize,
    group_rows: usize,
    workers: usize,
    parquet: bool,
) -> Option<Vec<(usize, usize)>> {
    let group_rows = group_rows.max(1);
    let groups = rows.div_ceil(group_rows);
    let n = workers.min(groups);
    if !parquet || n < 2 {
        return None;
    }
    Some(
        (0..n)
            .map(|k| {
                let a = groups * k / n * group_rows;
                let b = if k == n - 1 {
                    rows
                } else {
                    groups * (k + 1) / n * group_rows
                };
                (a, b)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shards_are_whole_row_groups_covering_every_row() {
        assert_eq!(super::shards(10, 4, 2, true), Some(vec![(0, 4), (4, 10)]));
        assert_eq!(
            super::shards(10, 4, 8, true),
            Some(vec![(0, 4), (4, 8), (8, 10)])
        );
        assert_eq!(super::shards(4, 4, 2, true), None, "one row group");
        assert_eq!(
            super::shards(10, 4, 2, false),
            None,
            "Arrow files are written whole"
        );
        assert_eq!(super::shards(10, 4, 1, true), None);
    }
}
