//! Runs the `kplay` binary as a user would.

mod common;

use common::{kplay, temp as write_temp};

#[test]
fn partition_prints_one_line_per_key_like_the_java_client() {
    // murmur2("foobar") = -790332482 → 1357151166 % 10 = 6; % 50 = 16.
    let (code, out, _) = kplay(&["partition", "--partitions", "10", "foobar", "21"]);
    assert_eq!(code, 0);
    // murmur2("21") = -973932308 → 1173551340 % 10 = 0.
    assert_eq!(out, "foobar\t6\n21\t0\n");
    let (_, out, _) = kplay(&["partition", "--partitions", "50", "foobar"]);
    assert_eq!(out, "foobar\t16\n");
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_code_2() {
    for args in [
        &["partition", "--partitions", "0", "k"][..],
        &["partition", "--partitions", "x", "k"],
        &["partition", "--partitions", "3"],
        &["nonsense"],
    ] {
        let (code, out, err) = kplay(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(out.is_empty());
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn coordinator_prints_the_offsets_partition_of_each_group() {
    // "hello".hashCode() = 99162322 → % 50 = 22; "polygenelubricants" hashes to MIN_VALUE → 0.
    let (code, out, _) = kplay(&[
        "coordinator",
        "--partitions",
        "50",
        "hello",
        "polygenelubricants",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, "hello\t22\npolygenelubricants\t0\n");
    let (code, _, err) = kplay(&["coordinator", "--partitions", "0", "g"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error:"));
}

#[test]
fn assign_prints_each_strategys_assignment_as_json() {
    let file = write_temp(
        "group.json",
        r#"{"topics":{"t0":3,"t1":3},"members":[{"id":"C1","topics":["t0","t1"]},{"id":"C0","topics":["t0","t1"]}]}"#,
    );
    let (code, out, err) = kplay(&["assign", "--strategy", "range", &file]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "{\"C0\":[[\"t0\",0],[\"t0\",1],[\"t1\",0],[\"t1\",1]],\"C1\":[[\"t0\",2],[\"t1\",2]]}\n"
    );
    let (_, out, _) = kplay(&["assign", "--strategy", "roundrobin", &file]);
    assert_eq!(
        out,
        "{\"C0\":[[\"t0\",0],[\"t0\",2],[\"t1\",1]],\"C1\":[[\"t0\",1],[\"t1\",0],[\"t1\",2]]}\n"
    );
    for strategy in ["sticky", "cooperative-sticky"] {
        let (code, out, _) = kplay(&["assign", "--strategy", strategy, &file]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "{\"C0\":[[\"t0\",0],[\"t0\",2],[\"t1\",1]],\"C1\":[[\"t0\",1],[\"t1\",0],[\"t1\",2]]}\n"
        );
    }
}

#[test]
fn assign_rejects_bad_files_with_a_reason() {
    let cases = [
        ("{", "not a group description"),
        (
            r#"{"topics":{"t":2},"members":[{"id":"a","topics":["u"]}]}"#,
            "'u'",
        ),
        (
            r#"{"topics":{"t":2},"members":[{"id":"a","topics":["t"]},{"id":"a","topics":["t"]}]}"#,
            "twice",
        ),
        (
            r#"{"topics":{"t":-1},"members":[]}"#,
            "not a group description",
        ),
        (
            r#"{"topics":{"t":2},"members":[],"extra":1}"#,
            "unknown field",
        ),
        (
            r#"{"topics":{"a":4000000000,"b":4000000000},"members":[]}"#,
            "at most",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = write_temp(&format!("bad{i}.json"), text);
        let (code, out, err) = kplay(&["assign", "--strategy", "range", &file]);
        assert_eq!(code, 2, "{text}");
        assert!(out.is_empty());
        assert!(
            err.starts_with("error:") && err.contains(needle),
            "{text}: {err}"
        );
    }
    let (code, _, err) = kplay(&["assign", "--strategy", "fair", "x.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cooperative-sticky"), "{err}");
    let (code, _, err) = kplay(&["assign", "--strategy", "range", "/nonexistent/g.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/g.json"), "{err}");
}
