//! The fuzz corpus (fuzz/corpus/<target>/, seeds plus what the fuzzers kept)
//! and any saved crash cases (fuzz/artifacts/<target>/), replayed through
//! the same properties the fuzz targets assert (quarry::checks).

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{target}: {} breaks the property", p.display());
            n += 1;
        }
    }
    n
}

#[test]
fn partition_union_corpus() {
    assert!(replay("partition_union", quarry::checks::partition_union) > 20);
}

#[test]
fn expression_corpus() {
    assert!(replay("expression", quarry::checks::expression) > 10);
}

#[test]
fn recipe_corpus() {
    assert!(replay("recipe", quarry::checks::recipe) > 5);
}
