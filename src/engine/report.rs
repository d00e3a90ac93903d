//! What a CRON run did, per shop, returned to PHP (`runCron()`, README "PHP API"), and the failure e-mail.

pub use crate::notices::Failure;

/// The failure e-mail of one shop; the PHP glue sends it through `Mail::Send`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub id_shop: u32,
    pub id_lang: u32,
    pub to: String,
    pub shop_name: String,
    pub subject: String,
    pub html_list: String,
    pub text_list: String,
    /// The notices the e-mail lists (forgotten once a mailer accepted it).
    pub notices: Vec<u32>,
}

/// What became of a shop's failure e-mail.
#[derive(Debug, Clone, PartialEq)]
pub enum MailOutcome {
    /// The mailer returned a truthy value.
    Accepted,
    /// The mailer returned a falsy value.
    Refused,
    /// The mailer threw (the exception's class and message).
    Failed(String),
    /// No mailer is configured: the e-mail is only in the report.
    NoMailer,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopReport {
    pub id_shop: u32,
    /// The run was a dry run for this shop: nothing sent, no ticket checked, no task consumed.
    pub dry_run: bool,
    /// Orders a dry run would have sent (their payload logged).
    pub dry_run_orders: u32,
    /// Why the shop was skipped (gate closed, no token...).
    pub skipped: Option<String>,
    pub tickets_succeeded: u32,
    pub tickets_failed: u32,
    pub tickets_canceled: u32,
    pub tickets_pending: u32,
    pub tickets_stuck: u32,
    pub statuses_sent: u32,
    /// Credit slips sent as partial refunds.
    pub refunds_sent: u32,
    /// Invoices uploaded.
    pub invoices_sent: u32,
    pub requests: u32,
    pub tasks_removed: u32,
    pub requeued: u32,
    pub gave_up: u32,
    pub failures: Vec<Failure>,
    /// Orders whose status was accepted (send) or whose ticket succeeded (check).
    pub succeeded: Vec<u32>,
    pub errors: Vec<String>,
    /// True when the run stopped sending because its time budget was spent.
    pub budget_exhausted: bool,
    pub mail: Option<Mail>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CronReport {
    /// Another run holds the lock: nothing was done.
    pub locked: bool,
    pub shops: Vec<ShopReport>,
    pub duration_ms: u64,
    pub http_requests: u64,
    /// ProcessLogger rows older than the retention deleted by this run.
    pub logs_purged: u64,
    /// Tasks that gave up longer ago than their retention, removed by this run.
    pub gave_up_expired: u64,
    /// Orders the reconciliation sweep queued (status changes the hook never saw).
    pub swept: u32,
    /// Why the sweep did not run to its end, if it did not.
    pub sweep_error: Option<String>,
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The two list variables of the reference's `order-sync-errors` template.
pub fn mail_lists(failures: &[Failure]) -> (String, String) {
    let mut html = String::new();
    let mut text = String::new();
    for f in failures {
        let reason = if f.gave_up {
            format!(
                "{} (gave up after repeated failures: retry or cancel it in the task list)",
                f.reason
            )
        } else {
            f.reason.clone()
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape_html(&f.reference),
            escape_html(&f.status),
            escape_html(&reason)
        ));
        text.push_str(&format!(
            "- Order {} : Status {} : {}\n",
            f.reference, f.status, reason
        ));
    }
    (html, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    #[test]
    fn mail_lists_escape_html_and_keep_every_order() {
        let f = |r: &str, gave_up| Failure {
            id_order: 1,
            reference: r.into(),
            status: "Shipped".into(),
            operation: Some(Operation::Ship),
            reason: "Carrier <x> refused".into(),
            gave_up,
        };
        let (html, text) = mail_lists(&[f("ABC", false), f("D&E", true)]);
        assert!(html.contains("<td>ABC</td><td>Shipped</td><td>Carrier &lt;x&gt; refused</td>"));
        assert!(html.contains("D&amp;E"));
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("- Order D&E : Status Shipped : Carrier <x> refused (gave up"));
    }
}
