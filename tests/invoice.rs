//! Invoice upload (issue 15 item 3): an invoice state of an order of an enabled marketplace queues
//! UPLOAD_INVOICE; the CRON uploads the PDF the module rendered as a multipart `upload-documents`,
//! checks its ticket, and deletes the file once it succeeded. Real MariaDB, real simulator.

mod common;

use common::{state, TestDb};
use serde_json::{json, Value};
use shoppingfeed_sim::SimHandle;
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use shoppingfeed_sync::hook::{on_order_status_update, HookOutcome};
use shoppingfeed_sync::shop::Unavailable;
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

/// A PDF that cannot be read (here a directory where the file should be: EISDIR, as root reads
/// any file; in a shop, the CLI user refused the web user's 0750 folder) may be mended: the upload
/// waits, as for a file not rendered yet, instead of being dropped as refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_pdf_waits_instead_of_being_dropped() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let id = queued_invoice(&t).await;
    let path = dir.join(format!("{id}.pdf"));
    std::fs::create_dir_all(&path).expect("a directory in the way");
    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert!(shop.failures.is_empty(), "{shop:?}");
    assert_eq!(actions(&t, id).await, ["UPLOAD_INVOICE"], "it waits");
    assert!(t.tasks(id).await[0].lease_owner.is_none());
    // Mended: the next run uploads it.
    std::fs::remove_dir(&path).expect("rmdir");
    std::fs::write(&path, PDF).expect("pdf");
    let report = run_cron(&t.db, &http, &opts(&sim, &dir))
        .await
        .expect("run 2");
    assert_eq!(report.shops[0].invoices_sent, 1, "{:?}", report.shops[0]);
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

/// `n` (≤ 1000) orders of Amazon without a Shopping Feed id (their uploads wait for one), each
/// with its UPLOAD_INVOICE task due an hour ago, in one statement each; their ids, in order.
async fn waiting_invoices(t: &TestDb, n: u32) -> Vec<u32> {
    let digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
                  SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
                  SELECT 8 UNION ALL SELECT 9)";
    t.exec_params(
        &format!(
            "INSERT INTO PREFIX_orders (reference, id_shop_group, id_shop, id_carrier, id_lang, \
               id_customer, id_cart, id_currency, id_address_delivery, id_address_invoice, \
               current_state, payment, module, invoice_date, delivery_date, valid, date_add, date_upd) \
             SELECT CONCAT('W', a.d * 100 + b.d * 10 + c.d), 1, 1, 1, 1, 1, 1, 1, 1, 1, ?, 'Amazon', \
               'sfpayment', NOW(), NOW(), 1, NOW(), NOW() \
             FROM {digits} a, {digits} b, {digits} c WHERE a.d * 100 + b.d * 10 + c.d < ? \
             ORDER BY a.d, b.d, c.d"
        ),
        (state::PAYMENT_ACCEPTED, n),
    )
    .await;
    t.exec(
        "INSERT INTO PREFIX_shoppingfeed_order (id_order_marketplace, name_marketplace, id_order, date_add, date_upd) \
         SELECT CONCAT('MP-', id_order), 'Amazon', id_order, NOW(), NOW() FROM PREFIX_orders WHERE reference LIKE 'W%'; \
         INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
         SELECT 'UPLOAD_INVOICE', id_order, NOW() - INTERVAL 1 HOUR, NOW() - INTERVAL 1 HOUR, NOW() \
         FROM PREFIX_orders WHERE reference LIKE 'W%'",
    )
    .await;
    t.query(
        "SELECT id_order FROM PREFIX_orders WHERE reference LIKE 'W%' ORDER BY id_order",
        (),
    )
    .await
}

async fn sim_post(sim: &SimHandle, path: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("simulator control");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_invoices_waiting_for_their_upload_do_not_hold_back_newer_ones() {
    let (t, sim, dir) = setup().await;
    // 600 older uploads (over a page of the listing, all due at the same second) whose PDF is
    // rendered but cannot be sent yet: their orders have no Shopping Feed id.
    let waiting = waiting_invoices(&t, 600).await;
    assert_eq!(waiting.len(), 600);
    for id in &waiting {
        std::fs::write(dir.join(format!("{id}.pdf")), PDF).expect("pdf");
    }
    // Newer ones: one to render, one whose file is empty (rendered again, as the module does),
    // one rendered already.
    let newer = queued_invoice(&t).await;
    let empty = queued_invoice(&t).await;
    std::fs::write(dir.join(format!("{empty}.pdf")), b"").expect("empty file");
    let rendered = queued_invoice(&t).await;
    std::fs::write(dir.join(format!("{rendered}.pdf")), PDF).expect("pdf");
    // One old upload whose PDF is gone (the cache was cleared): listed first, oldest first.
    let cleared = waiting[300];
    std::fs::remove_file(dir.join(format!("{cleared}.pdf"))).expect("rm");

    let ids = |list: Vec<shoppingfeed_sync::invoice::PendingInvoice>| {
        list.into_iter().map(|p| p.id_order).collect::<Vec<_>>()
    };
    let listed = shoppingfeed_sync::invoice::pending(&t.db, &dir, 0, 100)
        .await
        .expect("pending");
    assert_eq!(
        listed.iter().map(|p| p.path.clone()).collect::<Vec<_>>(),
        [cleared, newer, empty].map(|id| dir.join(format!("{id}.pdf")))
    );
    assert_eq!(ids(listed), [cleared, newer, empty]);
    // The limit counts the invoices to render only.
    let two = shoppingfeed_sync::invoice::pending(&t.db, &dir, 0, 2)
        .await
        .expect("pending");
    assert_eq!(ids(two), [cleared, newer]);
    let other_shop = shoppingfeed_sync::invoice::pending(&t.db, &dir, 2, 100)
        .await
        .expect("pending");
    assert!(other_shop.is_empty());

    // A run sends the one rendered and sendable; the waiting ones stay, with their file.
    let report = run_cron(&t.db, &reqwest::Client::new(), &opts(&sim, &dir))
        .await
        .expect("run");
    assert_eq!(report.shops[0].invoices_sent, 1, "{:?}", report.shops[0]);
    assert_eq!(actions(&t, waiting[0]).await, ["UPLOAD_INVOICE"]);
    assert!(dir.join(format!("{}.pdf", waiting[0])).exists());
    teardown(t, sim, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_whose_tickets_keep_failing_gives_up_and_its_file_is_deleted() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let id = queued_invoice(&t).await;
    let pdf = dir.join(format!("{id}.pdf"));
    std::fs::write(&pdf, PDF).expect("pdf");
    sim_post(
        &sim,
        "/_sim/outcomes/default",
        json!({"outcome": "failed", "message": "Invoice refused by the marketplace"}),
    )
    .await;
    // Two sends at most; a failed ticket is resent in the run that checked it.
    let two_tries = CronOptions {
        max_attempts: 2,
        ..opts(&sim, &dir)
    };
    let (mut failed, mut gave_up, mut failures) = (0, 0, Vec::new());
    for _ in 0..8 {
        let r = run_cron(&t.db, &http, &two_tries).await.expect("run");
        let shop = &r.shops[0];
        assert!(shop.errors.is_empty(), "{shop:?}");
        failed += shop.tickets_failed;
        gave_up += shop.gave_up;
        failures.extend(shop.failures.clone());
        if failed == 1 {
            assert!(pdf.exists(), "kept for the resend after the first failure");
        }
        if gave_up > 0 {
            break;
        }
    }
    assert_eq!((failed, gave_up), (2, 1));
    assert!(given_up(&t, id).await, "given up, kept for the merchant");
    assert_eq!(uploads(&sim).await.len(), 2, "sent twice");
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[1].gave_up, "{failures:?}");
    assert!(!pdf.exists(), "the file of an upload given up is deleted");
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        0,
        "nothing left in the invoice directory"
    );
    teardown(t, sim, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_given_up_after_an_ignored_upload_or_a_stuck_ticket_loses_its_file() {
    let (t, sim, dir) = setup().await;
    let http = reqwest::Client::new();
    let one_try = CronOptions {
        max_attempts: 1,
        ..opts(&sim, &dir)
    };

    // Ignored by the API in the 202: requeued at once, out of tries.
    let ignored = queued_invoice(&t).await;
    let ignored_pdf = dir.join(format!("{ignored}.pdf"));
    std::fs::write(&ignored_pdf, PDF).expect("pdf");
    sim_post(
        &sim,
        "/_sim/faults",
        json!({"route": "order_op", "first": 1, "fault": {"kind": "ignore", "message": "Order not found"}}),
    )
    .await;
    let r = run_cron(&t.db, &http, &one_try).await.expect("run");
    assert_eq!(r.shops[0].gave_up, 1, "{:?}", r.shops[0]);
    assert!(given_up(&t, ignored).await);
    assert!(!ignored_pdf.exists(), "deleted: a Retry renders it again");

    // A ticket still running past the deadline: stuck, out of tries.
    let stuck = queued_invoice(&t).await;
    let stuck_pdf = dir.join(format!("{stuck}.pdf"));
    std::fs::write(&stuck_pdf, PDF).expect("pdf");
    sim_post(
        &sim,
        "/_sim/outcomes/default",
        json!({"outcome": "running"}),
    )
    .await;
    run_cron(&t.db, &http, &one_try).await.expect("send");
    assert_eq!(
        t.tasks(stuck).await[0].action,
        "CHECK_TICKET_UPLOAD_INVOICE"
    );
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET sent_at = NOW() - INTERVAL 2 DAY WHERE id_order = ?",
        (stuck,),
    )
    .await;
    let r = run_cron(&t.db, &http, &one_try).await.expect("check");
    assert_eq!(
        (r.shops[0].tickets_stuck, r.shops[0].gave_up),
        (1, 1),
        "{:?}",
        r.shops[0]
    );
    assert!(given_up(&t, stuck).await);
    // The log says what became of it: not "Requeued." when it gave up.
    let logs = t.logs(Some("error")).await;
    let stuck_rows: Vec<&str> = logs
        .iter()
        .filter(|l| l.3 == Some(stuck) && l.0.contains("Ticket status : stuck"))
        .map(|l| l.0.as_str())
        .collect();
    assert_eq!(stuck_rows.len(), 1, "{stuck_rows:?}");
    assert!(
        stuck_rows[0].ends_with("Gave up: kept in the task list until retried or canceled."),
        "{stuck_rows:?}"
    );
    assert!(!stuck_pdf.exists(), "deleted: a Retry renders it again");
    teardown(t, sim, dir).await;
}

/// The order's one task gave up: kept, never due.
async fn given_up(t: &TestDb, id_order: u32) -> bool {
    let n: u64 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_shoppingfeed_task_order \
             WHERE id_order = ? AND gave_up_at IS NOT NULL AND update_at IS NULL",
            (id_order,),
        )
        .await;
    n == 1 && t.tasks(id_order).await.len() == 1
}
