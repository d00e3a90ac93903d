//! Invoice upload (issue 15 item 3): an invoice state of an order of an enabled marketplace queues
//! UPLOAD_INVOICE; the CRON uploads the PDF the module rendered as a multipart `upload-documents`,
//! checks its ticket, and deletes the file once it succeeded. Real MariaDB, real simulator.

mod common;

use common::{state, TestDb};
use serde_json::{json, Value};
use shoppingfeed_sim::SimHandle;
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use shoppingfeed_sync::hook::{on_order_status_update, HookOutcome, Unavailable};
use std::path::{Path, PathBuf};

const TOKEN: &str = "invoice-test-token";
const MARKETPLACES: &str = "SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES";
/// A tiny but well-formed PDF.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// A fresh invoice directory of the test.
fn invoice_dir(t: &TestDb) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sfsync-invoices-{}", t.name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("invoice dir");
    dir
}

fn opts(sim: &SimHandle, dir: &Path) -> CronOptions {
    CronOptions {
        requeue_delay_minutes: 0,
        invoice_dir: dir.to_path_buf(),
        ..common::cron_opts(sim)
    }
}

/// A Shopping Feed order of `marketplace` in `state`, with its Shopping Feed id `900000 + id`.
async fn order(t: &TestDb, state: u32, marketplace: &str) -> u32 {
    let id = t
        .order_with(common::OrderSpec {
            payment: marketplace.into(),
            ..common::OrderSpec::new(state)
        })
        .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_order SET id_internal_shoppingfeed = ? WHERE id_order = ?",
        ((900_000 + id).to_string(), id),
    )
    .await;
    id
}

async fn actions(t: &TestDb, id_order: u32) -> Vec<String> {
    t.tasks(id_order)
        .await
        .into_iter()
        .map(|r| r.action)
        .collect()
}

async fn uploads(sim: &SimHandle) -> Vec<Value> {
    let url = format!("{}/_sim/requests?route=order_op", sim.base_url());
    let log: Value = reqwest::get(url)
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    log["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["path"] == "/v1/store/1276/order/upload-documents")
        .collect()
}

/// The JSON of the `body` part of a logged multipart request.
fn body_part(request: &Value) -> Value {
    let text = request["body"].as_str().expect("logged body");
    let start = text.find("name=\"body\"").expect("a body part");
    let json_start = start + text[start..].find("\r\n\r\n").expect("part head") + 4;
    let json_end = json_start + text[json_start..].find("\r\n--").expect("part end");
    serde_json::from_str(&text[json_start..json_end]).expect("body part JSON")
}

/// Queues an invoice for an order of Amazon in "Payment accepted" (invoice = 1, in no list).
async fn queued_invoice(t: &TestDb) -> u32 {
    let id = order(t, state::PAYMENT_ACCEPTED, "Amazon").await;
    let outcome = on_order_status_update(&t.db, id, Some(state::PAYMENT_ACCEPTED))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::InvoiceQueued);
    id
}

async fn setup() -> (TestDb, SimHandle, PathBuf) {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config(MARKETPLACES, r#"["amazon"]"#, None, None).await;
    let dir = invoice_dir(&t);
    (t, sim, dir)
}

async fn teardown(t: TestDb, sim: SimHandle, dir: PathBuf) {
    let _ = std::fs::remove_dir_all(dir);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_queues_an_invoice_for_invoice_states_of_enabled_marketplaces_only() {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    // Default: no marketplace, no invoice task.
    let before = order(&t, state::PAYMENT_ACCEPTED, "Amazon").await;
    let outcome = on_order_status_update(&t.db, before, Some(state::PAYMENT_ACCEPTED))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::UnmappedState(state::PAYMENT_ACCEPTED));
    assert!(actions(&t, before).await.is_empty());

    // The reference module's form (id => {name, isEnabled}), names compared case-insensitively.
    t.config(
        MARKETPLACES,
        r#"{"a1":{"name":"AMAZON","isEnabled":true},"b2":{"name":"Fnac","isEnabled":false}}"#,
        None,
        None,
    )
    .await;
    let paid = order(&t, state::PAYMENT_ACCEPTED, "Amazon").await;
    for _ in 0..2 {
        let outcome = on_order_status_update(&t.db, paid, Some(state::PAYMENT_ACCEPTED))
            .await
            .expect("hook");
        assert_eq!(outcome, HookOutcome::InvoiceQueued);
    }
    assert_eq!(actions(&t, paid).await, ["UPLOAD_INVOICE"], "one per order");

    // Shipped makes an invoice and is mapped: both tasks.
    let shipped = order(&t, state::SHIPPED, "Amazon").await;
    let outcome = on_order_status_update(&t.db, shipped, Some(state::SHIPPED))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::Queued { delay_minutes: 5 });
    let mut both = actions(&t, shipped).await;
    both.sort();
    assert_eq!(both, ["SYNC_STATUS", "UPLOAD_INVOICE"]);

    // Canceled makes no invoice; Fnac is disabled.
    let canceled = order(&t, state::CANCELED, "Amazon").await;
    on_order_status_update(&t.db, canceled, Some(state::CANCELED))
        .await
        .expect("hook");
    assert_eq!(actions(&t, canceled).await, ["SYNC_STATUS"]);
    let fnac = order(&t, state::PAYMENT_ACCEPTED, "Fnac").await;
    let outcome = on_order_status_update(&t.db, fnac, Some(state::PAYMENT_ACCEPTED))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::UnmappedState(state::PAYMENT_ACCEPTED));
    assert!(actions(&t, fnac).await.is_empty());

    // Not a Shopping Feed order: nothing.
    let own = t.order(state::PAYMENT_ACCEPTED, false).await;
    let outcome = on_order_status_update(&t.db, own, Some(state::PAYMENT_ACCEPTED))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::NotShoppingFeedOrder);

    // The gate closed: nothing queued, an error logged.
    t.config("SHOPPINGFEED_ORDER_SYNC_ENABLED", "0", None, None)
        .await;
    let closed = order(&t, state::PAYMENT_ACCEPTED, "Amazon").await;
    let outcome = on_order_status_update(&t.db, closed, Some(state::PAYMENT_ACCEPTED))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::Unavailable(Unavailable::Disabled));
    assert!(actions(&t, closed).await.is_empty());

    let logs = t.logs(None).await;
    assert!(
        logs.iter().any(|(msg, level, _, id)| *id == Some(paid)
            && level == "success"
            && msg.contains("action UPLOAD_INVOICE")),
        "{logs:?}"
    );
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cron_uploads_the_pdf_then_deletes_task_and_file_once_the_ticket_succeeded() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let id = queued_invoice(&t).await;
    let pdf = dir.join(format!("{id}.pdf"));
    std::fs::write(&pdf, PDF).expect("pdf");

    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run 1");
    let shop = &report.shops[0];
    assert_eq!(shop.invoices_sent, 1, "{shop:?}");
    assert!(shop.errors.is_empty(), "{shop:?}");
    let sent = uploads(&sim).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["status"], 202, "{:?}", sent[0]);
    assert!(sent[0]["content_type"]
        .as_str()
        .is_some_and(|c| c.starts_with("multipart/form-data; boundary=")));
    assert_eq!(
        body_part(&sent[0]),
        json!({"order": [{"id": 900_000 + id, "reference": null, "channelName": null,
                          "documents": [{"type": "invoice"}]}]})
    );
    let body = sent[0]["body"].as_str().unwrap_or_default();
    assert!(body.contains("name=\"files[]\""), "{body}");
    assert!(
        body.contains(std::str::from_utf8(PDF).unwrap()),
        "the file's bytes"
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].action, "CHECK_TICKET_UPLOAD_INVOICE");
    assert!(tasks[0].batch_id.is_some());
    assert!(pdf.exists(), "kept until the ticket succeeded");

    let mut succeeded = 0;
    for _ in 0..4 {
        let r = run_cron(&t.db, &http, &opts(&sim, &dir))
            .await
            .expect("check run");
        succeeded += r.shops[0].tickets_succeeded;
        if t.tasks(id).await.is_empty() {
            break;
        }
    }
    assert_eq!(succeeded, 1);
    assert!(t.tasks(id).await.is_empty(), "task deleted");
    assert!(!pdf.exists(), "file deleted after success");
    assert_eq!(uploads(&sim).await.len(), 1, "uploaded once");
    teardown(t, sim, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_invoice_ticket_is_mailed_and_requeued_with_its_file() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let id = queued_invoice(&t).await;
    let pdf = dir.join(format!("{id}.pdf"));
    // Requeued for later, so that the run that requeues it does not resend it at once.
    let later = CronOptions {
        requeue_delay_minutes: 5,
        ..opts(&sim, &dir)
    };
    std::fs::write(&pdf, PDF).expect("pdf");
    reqwest::Client::new()
        .post(format!("{}/_sim/outcomes/default", sim.base_url()))
        .json(&json!({"outcome": "failed", "message": "Invoice refused by the marketplace"}))
        .send()
        .await
        .expect("outcome");
    run_cron(&t.db, &http, &later).await.expect("send");
    let mut failures = Vec::new();
    for _ in 0..4 {
        let r = run_cron(&t.db, &http, &later).await.expect("check run");
        failures.extend(r.shops[0].failures.clone());
        if r.shops[0].tickets_failed > 0 {
            break;
        }
    }
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].id_order, id);
    assert!(
        failures[0].reason.contains("Invoice refused"),
        "{failures:?}"
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].action, "UPLOAD_INVOICE", "requeued");
    assert_eq!(tasks[0].attempts, 1);
    assert!(pdf.exists(), "the file stays for the resend");
    let notices: i64 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_shoppingfeed_sync_notice WHERE id_order = ?",
            (id,),
        )
        .await;
    assert_eq!(notices, 1, "waiting for the e-mail");
    teardown(t, sim, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_not_rendered_waits_then_gives_up_after_the_deadline() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let id = queued_invoice(&t).await;

    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run 1");
    let shop = &report.shops[0];
    assert_eq!(shop.invoices_sent, 0);
    assert!(shop.failures.is_empty(), "{shop:?}");
    assert!(uploads(&sim).await.is_empty());
    let tasks = t.tasks(id).await;
    assert_eq!(tasks[0].action, "UPLOAD_INVOICE");
    assert_eq!(tasks[0].lease_owner, None, "given back for the next run");
    let logs = t.logs(Some("info")).await;
    assert!(
        logs.iter()
            .any(|(m, _, _, o)| *o == Some(id) && m.contains("invoice PDF not rendered yet")),
        "{logs:?}"
    );

    // Rendered later: sent by the next run.
    std::fs::write(dir.join(format!("{id}.pdf")), PDF).expect("pdf");
    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run 2");
    assert_eq!(report.shops[0].invoices_sent, 1);

    // Another never rendered, past the deadline: removed with a notice.
    let never = queued_invoice(&t).await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET date_add = NOW() - INTERVAL 2 DAY WHERE id_order = ?",
        (never,),
    )
    .await;
    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run 3");
    let failures = &report.shops[0].failures;
    assert!(
        failures
            .iter()
            .any(|f| f.id_order == never && f.reason.contains("never rendered")),
        "{failures:?}"
    );
    assert!(t.tasks(never).await.is_empty());
    teardown(t, sim, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_2_mb_or_not_a_pdf_is_refused_with_a_notice() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let big = queued_invoice(&t).await;
    let mut bytes = PDF.to_vec();
    bytes.resize(2 * 1024 * 1024 + 1, b' ');
    std::fs::write(dir.join(format!("{big}.pdf")), &bytes).expect("big");
    let html = queued_invoice(&t).await;
    std::fs::write(dir.join(format!("{html}.pdf")), b"<html>error</html>").expect("html");

    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert_eq!(shop.invoices_sent, 0);
    assert!(uploads(&sim).await.is_empty(), "nothing sent");
    let reason = |id: u32| {
        shop.failures
            .iter()
            .find(|f| f.id_order == id)
            .map(|f| f.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason(big).contains("over the 2 MB"), "{shop:?}");
    assert!(reason(html).contains("is not a PDF"), "{shop:?}");
    assert!(t.tasks(big).await.is_empty());
    assert!(t.tasks(html).await.is_empty());
    assert!(
        !dir.join(format!("{big}.pdf")).exists(),
        "refused file removed"
    );
    teardown(t, sim, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_invoices_go_in_two_requests_of_at_most_twenty_files() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    for _ in 0..25 {
        let id = queued_invoice(&t).await;
        std::fs::write(dir.join(format!("{id}.pdf")), PDF).expect("pdf");
    }
    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run");
    assert_eq!(report.shops[0].invoices_sent, 25, "{:?}", report.shops[0]);
    let mut sizes: Vec<usize> = uploads(&sim)
        .await
        .iter()
        .map(|r| body_part(r)["order"].as_array().map_or(0, Vec::len))
        .collect();
    sizes.sort();
    assert_eq!(sizes, [5, 20]);
    teardown(t, sim, dir).await;
}
