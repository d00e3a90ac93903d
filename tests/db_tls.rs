//! TLS to the database, as a managed MySQL requires it (issue 22 item 9), against the test MariaDB
//! that `./dev db start` runs with a CA and a server certificate for the name `localhost` only,
//! and a user that may connect with TLS only. `./dev test` exports the variables read here.

use mysql_async::prelude::Queryable;
use shoppingfeed_sync::config::{DatabaseUrl, TablePrefix};
use shoppingfeed_sync::db::Db;

const PASSWORD: &str = "sfsync";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests through ./dev test (./dev db start makes the TLS server)")
    })
}

/// `SFSYNC_TEST_DB_TLS_URL` (the TLS-only user, `mysql://user:pass@127.0.0.1:port`) on the
/// fixtures' database, host replaced by `host`, with `query`.
fn url(host: &str, query: &str) -> DatabaseUrl {
    let base = env("SFSYNC_TEST_DB_TLS_URL").replace("127.0.0.1", host);
    let text = format!("{base}/prestashop{query}");
    DatabaseUrl::parse(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// Connects with the crate's pool; `Ok(cipher)` of the session, or the error's text.
async fn connect(url: &DatabaseUrl) -> Result<String, String> {
    let db = Db::new(url, &TablePrefix::default());
    let mut conn = db.conn().await.map_err(|e| {
        // The password never shows, whatever the failure.
        let text = format!("{e} {e:?}");
        assert!(!text.contains(&format!(":{PASSWORD}@")), "{text}");
        text
    })?;
    let row: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .map_err(|e| e.to_string())?;
    drop(conn);
    db.disconnect().await;
    Ok(row.map(|(_, cipher)| cipher).unwrap_or_default())
}

#[tokio::test]
async fn a_server_that_requires_tls_refuses_a_plain_connection() {
    let e = connect(&url("127.0.0.1", "")).await.unwrap_err();
    assert!(e.contains("Access denied"), "{e}");
}

#[tokio::test]
async fn ssl_mode_required_encrypts_without_checking_the_certificate() {
    let cipher = connect(&url("127.0.0.1", "?ssl_mode=required"))
        .await
        .expect("connects");
    assert!(!cipher.is_empty(), "the session is encrypted");
}

#[tokio::test]
async fn verify_ca_trusts_the_given_ca_and_refuses_another() {
    let ca = env("SFSYNC_TEST_DB_CA");
    // To the name of the certificate: mysql_async 0.37.1 checks the name even in verify_ca (its
    // skip of the name check misses rustls's current error, upstream issue 404), so the test
    // does not depend on that skip.
    let cipher = connect(&url(
        "localhost",
        &format!("?ssl_mode=verify_ca&ssl_ca={ca}"),
    ))
    .await
    .expect("connects");
    assert!(!cipher.is_empty());
    let other = env("SFSYNC_TEST_DB_OTHER_CA");
    let e = connect(&url(
        "localhost",
        &format!("?ssl_mode=verify_ca&ssl_ca={other}"),
    ))
    .await
    .unwrap_err();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
}

#[tokio::test]
async fn verify_identity_checks_the_host_name() {
    let ca = env("SFSYNC_TEST_DB_CA");
    let cipher = connect(&url("localhost", &format!("?ssl_ca={ca}")))
        .await
        .expect("the certificate is for localhost");
    assert!(!cipher.is_empty());
    let e = connect(&url(
        "127.0.0.1",
        &format!("?ssl_mode=verify_identity&ssl_ca={ca}"),
    ))
    .await
    .unwrap_err();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
}

#[tokio::test]
async fn a_missing_ca_file_is_an_error_without_the_password() {
    let e = connect(&url(
        "127.0.0.1",
        "?ssl_mode=verify_ca&ssl_ca=/nonexistent/ca.pem",
    ))
    .await
    .unwrap_err();
    assert!(
        e.contains("/nonexistent/ca.pem") || e.contains("No such file"),
        "{e}"
    );
}
