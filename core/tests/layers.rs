//! The core's layers read bottom-up: a source file may name (through `crate::` or `super::`
//! paths) only files of its own unit or of the units below it in `LAYERS`. A new import that
//! points up, or a new file no unit claims, fails this test.

use kplay_core::vec_map::VecSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Units bottom-up, each a path under `core/src` without `.rs` (a directory or a file), or
/// several joined by `|`; a file belongs to the unit with the longest prefix of its path. Units on one line are one layer
/// and may not name each other.
const LAYERS: &[&[&str]] = &[
    &["ids", "time", "rng", "sort"],
    &["vec_map", "histogram"],
    &["partition_map", "delivery", "group", "group/assignor"],
    &["config"],
    &["log", "zookeeper", "raft"],
    // ZooKeeper's data tree and its wire messages (a snapshot carries the tree) are one unit;
    // so are KRaft's log, its RPCs (a fetch carries entries) and its roles.
    &[
        "zookeeper/messages|zookeeper/tree",
        "raft/messages|raft/log|raft/state",
    ],
    &["protocol"],
    &[
        "trace",
        "partitioner",
        "controller/assignment",
        "kraft/image",
    ],
    &["scenario"],
    // The node-facing API: what a node sees while it handles an event.
    &["node"],
    // Nodes and the components they are made of, each naming only those before it.
    &[
        "zookeeper/client",
        "zookeeper/server",
        "raft/client",
        "group/records",
        "client",
    ],
    &[
        "group/coordinator",
        "txn",
        "controller",
        "kraft",
        "client/group_member",
        "client/transactional",
    ],
    &["client/producer", "client/consumer"],
    &["broker"],
    &["invariants", "lessons"],
    &["sim"],
    &["report", "view", "faults", "share"],
    &["tools"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as a path relative to `src/` without `.rs`.
fn files(dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(src()).unwrap().with_extension("");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The module path a file defines (`broker/mod` → `broker`).
fn module_of(file: &str) -> &str {
    file.strip_suffix("/mod").unwrap_or(file)
}

/// The unit of a module path (`a/b/c`): the longest unit that is a prefix of it, and its layer.
fn unit_of(module: &str) -> Option<(usize, &'static str)> {
    // The unit and the length of its prefix that matched.
    let mut best: Option<(usize, (&'static str, usize))> = None;
    for (layer, units) in LAYERS.iter().enumerate() {
        for unit in units.iter() {
            for prefix in unit.split('|') {
                let matches = module == prefix || module.starts_with(&format!("{prefix}/"));
                if matches && best.is_none_or(|(_, (_, len))| prefix.len() > len) {
                    best = Some((layer, (unit, prefix.len())));
                }
            }
        }
    }
    best.map(|(layer, (unit, _))| (layer, unit))
}

/// The module paths a file names: `crate::a::b::Item` → `a/b/Item` (the unit lookup takes
/// the longest prefix, so an item's name past the module does no harm), braces expanded one
/// level, `super::` resolved from the file's module.
fn named_modules(file: &str, text: &str) -> VecSet<String> {
    // Unit tests may reach anywhere.
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let module = module_of(file);
    let parent = module.rsplit_once('/').map_or("", |(p, _)| p);
    let mut out = VecSet::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let preceded_by_ident = rest[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[i + prefix.len()..];
            if preceded_by_ident {
                continue;
            }
            let join = |p: &str| {
                let p = p.trim().replace("::", "/");
                if base.is_empty() {
                    p
                } else {
                    format!("{base}/{p}")
                }
            };
            if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}').unwrap_or(inner.len());
                for part in inner[..end].split(',') {
                    let path: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    if !path.is_empty() {
                        out.insert(join(&path));
                    }
                }
            } else {
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                out.insert(join(path.trim_end_matches(':')));
            }
        }
    }
    out
}

#[test]
fn the_core_layers_only_import_downwards() {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.sort();
    let mut problems = Vec::new();
    for file in &all {
        if file == "lib" {
            continue;
        }
        let Some((layer, unit)) = unit_of(module_of(file)) else {
            problems.push(format!("{file}.rs belongs to no unit in LAYERS"));
            continue;
        };
        let text = fs::read_to_string(src().join(format!("{file}.rs"))).unwrap();
        for named in named_modules(file, &text) {
            let Some((their_layer, their_unit)) = unit_of(&named) else {
                continue; // an item of lib.rs (a re-export) or of a unit's root
            };
            if their_unit != unit && their_layer >= layer {
                problems.push(format!(
                    "{file}.rs (unit {unit}) names {} (unit {their_unit}, not below it)",
                    named.replace('/', "::")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports that point up:\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_file_outside_sim_and_the_layers_above_it_names_the_simulation() {
    // The issue's own check, by grep: below `sim`, nothing names `crate::sim`.
    let sim_layer = LAYERS.iter().position(|l| l.contains(&"sim")).unwrap();
    let mut all = Vec::new();
    files(&src(), &mut all);
    let offenders: Vec<_> = all
        .iter()
        .filter(|f| unit_of(module_of(f)).is_some_and(|(layer, _)| layer < sim_layer))
        .filter(|f| {
            fs::read_to_string(src().join(format!("{f}.rs")))
                .unwrap()
                .contains("crate::sim")
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:?} name crate::sim");
}

#[test]
fn the_unit_lookup_takes_the_longest_prefix() {
    assert_eq!(
        unit_of("group/assignor/range").map(|u| u.1),
        Some("group/assignor")
    );
    assert_eq!(
        unit_of("group/coordinator").map(|u| u.1),
        Some("group/coordinator")
    );
    assert_eq!(unit_of("broker/fetch").map(|u| u.1), Some("broker"));
    assert_eq!(unit_of("nowhere"), None);
    let named = named_modules(
        "broker/fetch",
        "use crate::{log::PartitionLog, ids};\nuse super::Broker;\nx::crate::y;",
    );
    assert_eq!(
        named.into_iter().collect::<Vec<_>>(),
        ["broker/Broker", "ids", "log/PartitionLog"]
    );
}
