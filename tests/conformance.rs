//! The run protocol's conformance cases (tests/conformance/cases.json)
//! through the native store, as the CLI runs them (`run::fs`). The same
//! cases run through the Node store (tests/js/conformance.test.mjs) and
//! the browser stores, OPFS and IndexedDB (tests/browser/stores.test.mjs); all must reach the
//! same decisions and leave the same bytes, whose sha256 the case file
//! records. `FXLABEL_UPDATE_CONFORMANCE=1` records them from this run.

use fxlabel::options::{Options, Spelling};
use fxlabel::run::fs::{self, Fill, FsStore, Store};
use fxlabel::run::{Folder, Reply, Step};
use fxlabel::{CandlesBuilder, CsvReader, EncodeOptions, Labeler, Tie};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance");

fn labeler(options: &Value, tie: Option<Tie>) -> (Labeler, EncodeOptions) {
    let o = Options::from_json(options.clone(), Spelling::Camel).unwrap();
    let mut params = o.params.clone();
    if let Some(t) = tie {
        params.tie = t;
    }
    let p = params.validate().unwrap();
    let mut b = CandlesBuilder::new();
    b.expect(p.needs());
    let mut r = CsvReader::new(None);
    r.feed(
        &std::fs::read(Path::new(DIR).join("candles.csv")).unwrap(),
        &mut b,
    )
    .unwrap();
    r.finish(&mut b).unwrap();
    (Labeler::new(b.finish().unwrap(), p).unwrap(), o.encode)
}

fn bytes_of(l: &Labeler, o: &EncodeOptions, key: &str) -> Vec<u8> {
    fxlabel::encode_config(l, &l.config(key).unwrap(), o).unwrap()
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn folder_state(dir: &Path) -> BTreeMap<String, String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    sha(&std::fs::read(e.path()).unwrap()),
                )
            })
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

/// The folder store, failing half-way through one config's temporary file.
struct Faulty {
    inner: FsStore,
    key: Option<String>,
}

impl Store for Faulty {
    fn folder(&self) -> Folder {
        self.inner.folder()
    }
    fn perform(&self, step: Step, fill: Option<Fill<'_>>) -> Reply {
        match &step {
            Step::WriteTemp { name, key } if Some(key) == self.key.as_ref() => {
                std::fs::write(self.inner.dir().join(name), b"half a file").unwrap();
                Reply::Failed(fxlabel::Error::io(
                    "",
                    std::io::Error::other("no space left on device (injected)"),
                ))
            }
            _ => self.inner.perform(step, fill),
        }
    }
}

#[test]
fn the_native_store_meets_every_case() {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(DIR).join("cases.json")).unwrap())
            .unwrap();
    let (l, o) = labeler(&spec["options"], None);
    let (other, _) = labeler(&spec["options"], Some(Tie::Target));
    let mut digests = BTreeMap::new();
    for c in l.configs() {
        let name = fxlabel::run::file_name(c, o.format);
        digests.insert(name, sha(&bytes_of(&l, &o, &c.key())));
    }
    if std::env::var_os("FXLABEL_UPDATE_CONFORMANCE").is_some() {
        let mut spec = spec.clone();
        spec["sha256"] = serde_json::to_value(&digests).unwrap();
        let text = serde_json::to_string_pretty(&spec).unwrap();
        std::fs::write(Path::new(DIR).join("cases.json"), text + "\n").unwrap();
    } else {
        let recorded: BTreeMap<String, String> =
            serde_json::from_value(spec["sha256"].clone()).unwrap();
        assert_eq!(
            recorded, digests,
            "the label files differ from those the case file records"
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    for (n, case) in spec["cases"].as_array().unwrap().iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let dir: PathBuf = tmp.path().join(format!("case{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        for s in case["setup"].as_array().unwrap() {
            if let Some(file) = s["file"].as_str() {
                let key = file.trim_end_matches(".parquet");
                let mut b = match s["from"].as_str().unwrap() {
                    "ref" => bytes_of(&l, &o, key),
                    "other" => bytes_of(&other, &o, key),
                    _ => b"junk!!\n".to_vec(),
                };
                if let Some(cut) = s["cut"].as_u64() {
                    b.truncate(cut as usize);
                }
                std::fs::write(dir.join(file), b).unwrap();
            } else if let Some(key) = s["temp"].as_str() {
                std::fs::write(
                    dir.join(format!(".{key}.parquet.tmp-{}", dead_pid())),
                    b"half",
                )
                .unwrap();
            } else if let Some(lock) = s["lock"].as_str() {
                let pid = match lock {
                    "live" => std::os::unix::process::parent_id(),
                    _ => dead_pid(),
                };
                std::fs::write(dir.join(fxlabel::run::LOCK_NAME), format!("{pid}\n")).unwrap();
            }
        }
        let before = folder_state(&dir);
        let store = Faulty {
            inner: FsStore::new(&dir),
            key: case["fault"]["writeTemp"].as_str().map(str::to_string),
        };
        let overwrite = case["overwrite"].as_bool().unwrap_or(false);
        let result = fs::plan_in(&l, &o, store, overwrite).and_then(|held| {
            let skipped: Vec<String> = (0..held.plan().total())
                .filter(|&k| held.plan().skip[k])
                .map(|k| l.configs()[k].key())
                .collect();
            let mut written = Vec::new();
            fs::run(&l, &o, &held, 1, |p| {
                if let fs::Status::Written(_) = p.status {
                    written.push(p.key.to_string());
                }
                std::ops::ControlFlow::Continue(())
            })
            .map(|_| (written, skipped))
        });
        let want = &case["expect"];
        match (&result, want["error"].as_str()) {
            (Ok((written, skipped)), None) => {
                let keys =
                    |v: &Value| -> Vec<String> { serde_json::from_value(v.clone()).unwrap() };
                assert_eq!(written, &keys(&want["written"]), "{name}: written");
                assert_eq!(skipped, &keys(&want["skipped"]), "{name}: skipped");
            }
            (Err(e), Some(kind)) => {
                assert_eq!(e.kind(), kind, "{name}: {e}");
                let msg = e.to_string();
                for field in ["key", "message"] {
                    if let Some(s) = want[field].as_str() {
                        assert!(msg.contains(s), "{name}: '{msg}' does not say '{s}'");
                    }
                }
            }
            (r, _) => panic!(
                "{name}: expected {want}, got {:?}",
                r.as_ref().map(|_| ()).map_err(|e| e.to_string())
            ),
        }
        let after = folder_state(&dir);
        if want["files"] == "same" {
            assert_eq!(after, before, "{name}: the folder changed");
        } else {
            let names: Vec<String> = serde_json::from_value(want["files"].clone()).unwrap();
            let mut names_sorted = names.clone();
            names_sorted.sort();
            assert_eq!(
                after.keys().cloned().collect::<Vec<_>>(),
                names_sorted,
                "{name}: files left"
            );
            for n in &names {
                assert_eq!(
                    after[n], digests[n],
                    "{name}: {n} differs from the reference"
                );
            }
        }
    }
}
