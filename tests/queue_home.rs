//! The task table has one home: no code outside `src/queue/` names it, so no other code can
//! update or delete a task row (its transitions, and the fences that keep them safe, are the
//! queue's; docs/queue.md).

use std::path::{Path, PathBuf};

const TABLE: &str = "shoppingfeed_task_order";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines naming the table itself (not a column such as `id_shoppingfeed_task_order`).
fn mentions(text: &str) -> Vec<(usize, String)> {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.match_indices(TABLE).any(|(i, _)| {
                !ident(line[..i].chars().next_back())
                    && !ident(line[i + TABLE.len()..].chars().next())
            })
        })
        .map(|(n, line)| (n + 1, line.trim().to_string()))
        .collect()
}

#[test]
fn only_the_queue_module_names_the_task_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let queue = src.join("queue");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "src/ not found: {}", src.display());
    let mut outside = Vec::new();
    let mut inside = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let found = mentions(&text);
        if file.starts_with(&queue) {
            inside += found.len();
        } else {
            outside.extend(
                found
                    .into_iter()
                    .map(|(n, l)| format!("{}:{n}: {l}", file.display())),
            );
        }
    }
    assert!(
        outside.is_empty(),
        "the task table named outside src/queue:\n{}",
        outside.join("\n")
    );
    assert!(
        inside > 0,
        "src/queue does not name the task table: the scan looks for the wrong name"
    );
}

#[test]
fn the_scan_sees_the_table_and_not_its_columns() {
    assert_eq!(
        mentions("let t = prefix.table(\"shoppingfeed_task_order\");").len(),
        1
    );
    assert_eq!(
        mentions("DELETE FROM ps_shoppingfeed_task_order WHERE").len(),
        0,
        "prefixed: {{task}} is built by queue::sql only"
    );
    assert_eq!(mentions("a.get(\"id_shoppingfeed_task_order\")").len(), 0);
}
