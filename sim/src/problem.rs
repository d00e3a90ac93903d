//! Response builders: problem+json errors and JSON/HAL bodies.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::faults::{title_for, ErrorBody};

pub const PROBLEM_TYPE: &str = "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html";

fn with_type(status: u16, content_type: &'static str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `application/problem+json` with `type`, `title`, `detail`, `status` (sf-api.md 4.2).
pub fn problem(status: u16, detail: &str) -> Response {
    problem_with(status, detail, None)
}

/// A problem with extra members (e.g. `validationMessages`).
pub fn problem_with(status: u16, detail: &str, extra: Option<(&str, Value)>) -> Response {
    let mut body = json!({
        "type": PROBLEM_TYPE,
        "title": title_for(status),
        "detail": detail,
        "status": status,
    });
    if let (Some((k, v)), Some(obj)) = (extra, body.as_object_mut()) {
        obj.insert(k.to_string(), v);
    }
    with_type(
        status,
        "application/problem+json",
        Body::from(body.to_string()),
    )
}

pub fn forbidden() -> Response {
    problem(403, "Service not authorized")
}

pub fn not_found() -> Response {
    problem(404, "Resource does not exist")
}

/// An injected error status with the chosen body variant.
pub fn error_body(status: u16, variant: ErrorBody, detail: Option<&str>) -> Response {
    match variant {
        ErrorBody::Problem => problem(status, detail.unwrap_or(title_for(status))),
        ErrorBody::Validation => problem_with(
            status,
            detail.unwrap_or("Validation failed"),
            Some((
                "validationMessages",
                json!([{"order": {"simulated": "Injected validation failure"}}]),
            )),
        ),
        ErrorBody::Html => with_type(
            status,
            "text/html; charset=UTF-8",
            Body::from(format!(
                "<html><head><title>{status} {t}</title></head><body><center><h1>{status} {t}</h1></center><hr><center>nginx</center></body></html>\n",
                t = title_for(status)
            )),
        ),
        ErrorBody::Empty => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            resp
        }
    }
}

pub fn json_response(status: u16, v: &Value) -> Response {
    with_type(status, "application/json", Body::from(v.to_string()))
}

pub fn hal(v: &Value) -> Response {
    with_type(200, "application/hal+json", Body::from(v.to_string()))
}

pub fn raw(status: u16, content_type: &'static str, bytes: Vec<u8>) -> Response {
    with_type(status, content_type, Body::from(bytes))
}
