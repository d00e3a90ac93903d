//! Serde types of the requests and responses used.
//!
//! Decoding is lenient where the API is loosely specified (HAL `_embedded` as one object or a list,
//! ids as numbers or strings, `null` for absent objects) and strict where the engine depends on a
//! value (a ticket's `state`).

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::model::{Operation, TicketState};

/// The API's limit of orders per operation request (the SDK chunks at 100; the API documentation).
pub const MAX_ORDERS_PER_REQUEST: usize = 100;

/// The API's limit of files per upload-documents request.
pub const MAX_DOCUMENTS_PER_REQUEST: usize = 20;

/// How many orders one request of `op` may carry: [`MAX_DOCUMENTS_PER_REQUEST`] for
/// upload-documents (each order brings a file), [`MAX_ORDERS_PER_REQUEST`] for the others.
pub fn max_orders_per_request(op: Operation) -> usize {
    if op == Operation::UploadDocuments {
        MAX_DOCUMENTS_PER_REQUEST
    } else {
        MAX_ORDERS_PER_REQUEST
    }
}

/// The API's limit of one uploaded file.
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// The largest ticket page the API serves.
pub const TICKET_PAGE_LIMIT: u32 = 200;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// How an order is named in an operation: the Shopping Feed order id, or the deprecated
/// marketplace reference + channel name pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderIdentifier {
    Id(i64),
    Reference {
        reference: String,
        channel_name: String,
    },
}

/// The operation-specific fields of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationData {
    Ship {
        carrier: String,
        tracking_number: String,
        tracking_link: String,
    },
    Cancel {
        reason: String,
    },
    /// A full refund has no products; a partial one lists what a credit slip refunded.
    Refund {
        shipping: bool,
        products: Vec<RefundProduct>,
    },
    /// `deliver`: the order's identifier only.
    Deliver,
    /// `upload-documents`: one invoice, a PDF sent as a `files[]` part of the multipart request
    /// (shared: a retried request does not copy it).
    Invoice {
        pdf: std::sync::Arc<Vec<u8>>,
    },
}

impl OperationData {
    /// The operation these fields belong to.
    pub const fn operation(&self) -> Operation {
        match self {
            OperationData::Ship { .. } => Operation::Ship,
            OperationData::Cancel { .. } => Operation::Cancel,
            OperationData::Refund { .. } => Operation::Refund,
            OperationData::Deliver => Operation::Deliver,
            OperationData::Invoice { .. } => Operation::UploadDocuments,
        }
    }
}

/// A refunded product: its reference as the feed exported it, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundProduct {
    pub reference: String,
    pub quantity: u32,
}

/// One item of the `order` array of an operation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOperation {
    pub identifier: OrderIdentifier,
    pub data: OperationData,
}

impl Serialize for OrderIdentifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write_entries::<S>(&mut map)?;
        map.end()
    }
}

impl OrderIdentifier {
    fn write_entries<S: Serializer>(&self, map: &mut S::SerializeMap) -> Result<(), S::Error> {
        match self {
            OrderIdentifier::Id(id) => map.serialize_entry("id", id),
            OrderIdentifier::Reference {
                reference,
                channel_name,
            } => {
                map.serialize_entry("reference", reference)?;
                map.serialize_entry("channelName", channel_name)
            }
        }
    }
}

/// The explicit defaults the SDK sends: `items: []`, `warehouseId: null`,
/// `products: []`; `returnInfo` omitted.
impl Serialize for OrderOperation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.identifier.write_entries::<S>(&mut map)?;
        match &self.data {
            OperationData::Ship {
                carrier,
                tracking_number,
                tracking_link,
            } => {
                map.serialize_entry("carrier", carrier)?;
                map.serialize_entry("trackingNumber", tracking_number)?;
                map.serialize_entry("trackingLink", tracking_link)?;
                map.serialize_entry("items", &[] as &[Value])?;
                map.serialize_entry("warehouseId", &Value::Null)?;
            }
            OperationData::Cancel { reason } => {
                map.serialize_entry("reason", reason)?;
            }
            OperationData::Refund { shipping, products } => {
                #[derive(Serialize)]
                struct Refund<'a> {
                    shipping: bool,
                    products: &'a [RefundProduct],
                }
                map.serialize_entry(
                    "refund",
                    &Refund {
                        shipping: *shipping,
                        products,
                    },
                )?;
            }
            OperationData::Deliver => {}
            OperationData::Invoice { .. } => {
                // As the SDK: the identifier's other form explicitly null beside it.
                if let OrderIdentifier::Id(_) = self.identifier {
                    map.serialize_entry("reference", &Value::Null)?;
                    map.serialize_entry("channelName", &Value::Null)?;
                }
                map.serialize_entry("documents", &[serde_json::json!({"type": "invoice"})])?;
            }
        }
        map.end()
    }
}

/// The body of `POST /v1/store/{storeId}/order/{operation}`.
#[derive(Debug, Serialize)]
pub struct OperationRequest<'a> {
    pub order: &'a [OrderOperation],
}

// ---------------------------------------------------------------------------------------------
// Shared HAL pieces
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HalLink {
    #[serde(default)]
    pub href: Option<String>,
}

/// `_links` with the relations this client reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HalLinks {
    #[serde(default, rename = "self")]
    pub self_: Option<HalLink>,
    #[serde(default)]
    pub next: Option<HalLink>,
    #[serde(default)]
    pub ticket: Option<HalLink>,
}

impl HalLinks {
    fn href(link: &Option<HalLink>) -> Option<String> {
        link.as_ref()
            .and_then(|l| l.href.clone())
            .filter(|h| !h.is_empty())
    }
}

/// A HAL `_embedded` value: the SDK accepts one object or a list, and so do we (`null` = empty).
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through Value so that the inner error message survives (an untagged enum would hide it).
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(OneOrMany(Vec::new())),
            Value::Array(items) => items
                .into_iter()
                .map(|v| serde_json::from_value(v).map_err(D::Error::custom))
                .collect::<Result<Vec<T>, _>>()
                .map(OneOrMany),
            v @ Value::Object(_) => serde_json::from_value(v)
                .map(|t| OneOrMany(vec![t]))
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected an object or a list, got {}",
                json_kind(&other)
            ))),
        }
    }
}

/// Decodes a response body that must be a JSON object. Serde would accept `[]` for a struct whose
/// fields all have defaults, turning a wrong-shaped body into an empty success.
pub(crate) fn decode_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err(format!("expected a JSON object, got {}", json_kind(&value)));
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `null` decodes as the type's default (serde's `default` only covers a missing key).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An integer id that may arrive as a JSON number or a numeric string.
fn lenient_i64_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("id {n} is not an integer"))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("id {s:?} is not an integer"))),
        Some(other) => Err(D::Error::custom(format!(
            "expected an integer id, got {}",
            json_kind(&other)
        ))),
    }
}

/// An opaque id that may arrive as a string or a number; kept as a string.
fn lenient_string_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(D::Error::custom(format!(
            "expected a string id, got {}",
            json_kind(&other)
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// GET /v1/me
// ---------------------------------------------------------------------------------------------

/// A store the token can reach (`_embedded.store[]` of `/v1/me`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoreRef {
    pub id: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountRef {
    pub id: i64,
}

/// The session behind the token. The `token` field of the response is deliberately not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub login: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub roles: Vec<String>,
    pub account_id: Option<i64>,
    pub stores: Vec<StoreRef>,
}

#[derive(Deserialize)]
struct MeWire {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    roles: Vec<String>,
    #[serde(default, rename = "_embedded", deserialize_with = "null_as_default")]
    embedded: MeEmbedded,
}

#[derive(Default, Deserialize)]
struct MeEmbedded {
    #[serde(default)]
    account: OneOrMany<AccountRef>,
    #[serde(default)]
    store: OneOrMany<StoreRef>,
}

impl<'de> Deserialize<'de> for Me {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = MeWire::deserialize(deserializer)?;
        Ok(Me {
            login: w.login,
            email: w.email,
            language: w.language,
            roles: w.roles,
            account_id: w.embedded.account.0.first().map(|a| a.id),
            stores: w.embedded.store.0,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// 202 of an operation
// ---------------------------------------------------------------------------------------------

/// An order the API ignored (`report[]` of the 202): no ticket will exist for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredOrder {
    pub id: Option<i64>,
    pub reference: Option<String>,
    pub channel_name: Option<String>,
    pub message: String,
}

/// A batch the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAccepted {
    pub batch_id: String,
    /// `_links.ticket.href`, as sent (relative or absolute).
    pub ticket_href: Option<String>,
    pub ignored: Vec<IgnoredOrder>,
    /// HTTP attempts made (1 = no retry; more means a duplicate batch may exist, which is harmless).
    pub attempts: u32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BatchWire {
    #[serde(default, deserialize_with = "lenient_string_opt")]
    pub id: Option<String>,
    #[serde(default, rename = "_links", deserialize_with = "null_as_default")]
    pub links: HalLinks,
    #[serde(default, deserialize_with = "null_as_default")]
    pub report: Vec<ReportEntry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReportEntry {
    #[serde(default, deserialize_with = "lenient_i64_opt")]
    pub id: Option<i64>,
    #[serde(default, rename = "channelName")]
    pub channel_name: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
}

impl BatchWire {
    /// `None` when the batch id is missing or empty.
    pub(crate) fn into_accepted(self, attempts: u32) -> Option<BatchAccepted> {
        let batch_id = self.id.filter(|id| !id.trim().is_empty())?;
        Some(BatchAccepted {
            batch_id,
            ticket_href: HalLinks::href(&self.links.ticket),
            ignored: self
                .report
                .into_iter()
                .map(|r| IgnoredOrder {
                    id: r.id,
                    reference: r.reference,
                    channel_name: r.channel_name,
                    message: r.message,
                })
                .collect(),
            attempts,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------------------------

/// `payload` of a ticket: the order it is about, plus whatever else the API echoes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TicketPayload {
    #[serde(default, deserialize_with = "lenient_i64_opt")]
    pub id: Option<i64>,
    #[serde(default)]
    pub reference: Option<String>,
    /// The simulator (and the operation request) say `channelName`...
    #[serde(default, rename = "channelName")]
    pub channel_name: Option<String>,
    /// ...the SDK's test fixture says `channel`. Two fields, so that both can be present.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl TicketPayload {
    /// `channelName`, else `channel`.
    pub fn channel(&self) -> Option<&str> {
        self.channel_name.as_deref().or(self.channel.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TicketResult {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub data: Value,
}

/// One ticket: one operation on one order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ticket {
    #[serde(deserialize_with = "required_string_id")]
    pub id: String,
    #[serde(
        default,
        rename = "batchId",
        deserialize_with = "lenient_string_or_empty"
    )]
    pub batch_id: String,
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub ticket_type: String,
    pub state: TicketState,
    #[serde(default, deserialize_with = "null_as_default")]
    pub payload: TicketPayload,
    #[serde(default)]
    pub result: Option<TicketResult>,
    #[serde(default, rename = "scheduledAt")]
    pub scheduled_at: Option<String>,
    #[serde(default, rename = "startedAt")]
    pub started_at: Option<String>,
    #[serde(default, rename = "finishedAt")]
    pub finished_at: Option<String>,
    /// `_links.self.href`, when sent.
    #[serde(default, rename = "_links", deserialize_with = "self_href_of_links")]
    pub self_href: Option<String>,
    /// The ticket JSON as received, for diagnosis (PS logs the whole ticket).
    #[serde(skip)]
    pub raw: Value,
}

fn required_string_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    lenient_string_opt(deserializer)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| D::Error::custom("ticket without an id"))
}

fn lenient_string_or_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(lenient_string_opt(deserializer)?.unwrap_or_default())
}

fn self_href_of_links<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let links: HalLinks = null_as_default(deserializer)?;
    Ok(HalLinks::href(&links.self_))
}

impl Ticket {
    /// `result.message`, when the ticket has one.
    pub fn message(&self) -> Option<&str> {
        self.result.as_ref().and_then(|r| r.message.as_deref())
    }

    /// Decodes one ticket and keeps its JSON in `raw`.
    pub fn from_value(value: Value) -> Result<Ticket, serde_json::Error> {
        let mut t: Ticket = serde_json::from_value(value.clone())?;
        t.raw = value;
        Ok(t)
    }
}

/// One page of `GET /v1/store/{storeId}/ticket?...`.
#[derive(Debug, Deserialize)]
pub(crate) struct TicketPageWire {
    #[serde(default, rename = "_links", deserialize_with = "null_as_default")]
    pub links: HalLinks,
    /// The SDK takes the first `_embedded` relation whatever its name; we prefer `ticket`.
    #[serde(default, rename = "_embedded", deserialize_with = "null_as_default")]
    pub embedded: Map<String, Value>,
}

impl TicketPageWire {
    pub(crate) fn next_href(&self) -> Option<String> {
        HalLinks::href(&self.links.next)
    }

    pub(crate) fn into_tickets(mut self) -> Result<Vec<Ticket>, String> {
        let items = match self.embedded.remove("ticket") {
            Some(v) => v,
            None => match self.embedded.into_iter().next() {
                Some((_, v)) => v,
                None => return Ok(Vec::new()),
            },
        };
        let items = match items {
            Value::Null => Vec::new(),
            Value::Array(items) => items,
            v @ Value::Object(_) => vec![v],
            other => {
                return Err(format!(
                    "_embedded.ticket: expected a list, got {}",
                    json_kind(&other)
                ))
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| Ticket::from_value(v).map_err(|e| format!("ticket #{i}: {e}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn ship_item_matches_the_sdk_body() {
        let op = OrderOperation {
            identifier: OrderIdentifier::Id(18089105066),
            data: OperationData::Ship {
                carrier: "colissimo".into(),
                tracking_number: "6A12345678901".into(),
                tracking_link: "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"
                    .into(),
            },
        };
        assert_eq!(
            to_json(&OperationRequest { order: &[op] }),
            r#"{"order":[{"id":18089105066,"carrier":"colissimo","trackingNumber":"6A12345678901","trackingLink":"https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901","items":[],"warehouseId":null}]}"#
        );
    }

    #[test]
    fn cancel_and_refund_items() {
        let cancel = OrderOperation {
            identifier: OrderIdentifier::Id(111),
            data: OperationData::Cancel {
                reason: String::new(),
            },
        };
        assert_eq!(to_json(&cancel), r#"{"id":111,"reason":""}"#);
        let refund = OrderOperation {
            identifier: OrderIdentifier::Id(222),
            data: OperationData::Refund {
                shipping: true,
                products: Vec::new(),
            },
        };
        assert_eq!(
            to_json(&refund),
            r#"{"id":222,"refund":{"shipping":true,"products":[]}}"#
        );
        let partial = OrderOperation {
            identifier: OrderIdentifier::Id(333),
            data: OperationData::Refund {
                shipping: false,
                products: vec![RefundProduct {
                    reference: "12_4".into(),
                    quantity: 2,
                }],
            },
        };
        assert_eq!(
            to_json(&partial),
            r#"{"id":333,"refund":{"shipping":false,"products":[{"reference":"12_4","quantity":2}]}}"#
        );
    }

    #[test]
    fn legacy_identifier_uses_channel_name_in_camel_case() {
        let id = OrderIdentifier::Reference {
            reference: "221005T026057147-27855152-A".into(),
            channel_name: "alltricks".into(),
        };
        assert_eq!(
            to_json(&id),
            r#"{"reference":"221005T026057147-27855152-A","channelName":"alltricks"}"#
        );
        assert_eq!(to_json(&OrderIdentifier::Id(123)), r#"{"id":123}"#);
        let cancel = OrderOperation {
            identifier: id,
            data: OperationData::Cancel { reason: "x".into() },
        };
        assert_eq!(
            to_json(&cancel),
            r#"{"reference":"221005T026057147-27855152-A","channelName":"alltricks","reason":"x"}"#
        );
    }

    #[test]
    fn data_names_its_operation() {
        assert_eq!(
            OperationData::Refund {
                shipping: false,
                products: Vec::new()
            }
            .operation(),
            Operation::Refund
        );
    }

    const ME: &str = r#"{
      "login": "username", "email": "user@mail.com", "token": "fd9cf7c178a1efd30bb1aad0e302abde",
      "language": "en_US", "roles": ["user"], "_links": { "self": { "href": "/v1/me" } },
      "_embedded": {
        "account": [ { "id": 12 } ],
        "store": [ { "id": 1276, "name": "test-store", "status": "active", "country": "FR",
            "organization": "...", "deletedAt": null,
            "_links": { "self": { "href": "/v1/store/1276" },
              "order": { "href": "/v1/store/1276/order{/operation}", "templated": true } } },
          { "id": 1277, "name": "other", "status": "demo" } ]
      }
    }"#;

    #[test]
    fn me_decodes_stores_and_account() {
        let me: Me = serde_json::from_str(ME).unwrap();
        assert_eq!(me.account_id, Some(12));
        assert_eq!(me.login.as_deref(), Some("username"));
        assert_eq!(me.stores.len(), 2);
        assert_eq!(
            me.stores[0],
            StoreRef {
                id: 1276,
                name: "test-store".into(),
                status: Some("active".into()),
                country: Some("FR".into())
            }
        );
        assert!(!format!("{me:?}").contains("fd9cf7c178a1efd30bb1aad0e302abde"));
    }

    #[test]
    fn hal_embedded_single_object_is_a_list_of_one() {
        let me: Me = serde_json::from_value(json!({
            "_embedded": { "account": {"id": 3}, "store": {"id": 5, "name": "solo"} }
        }))
        .unwrap();
        assert_eq!(me.account_id, Some(3));
        assert_eq!(me.stores.len(), 1);
        assert_eq!(me.stores[0].id, 5);
        let empty: Me = serde_json::from_value(json!({"_embedded": null})).unwrap();
        assert!(empty.stores.is_empty());
        let bad = serde_json::from_value::<Me>(json!({"_embedded": {"store": 5}}));
        assert!(bad.is_err());
        let bad = serde_json::from_value::<Me>(json!({"_embedded": {"store": [{"name": "x"}]}}));
        assert!(bad.unwrap_err().to_string().contains("id"));
    }

    #[test]
    fn batch_with_report() {
        let w: BatchWire = serde_json::from_str(
            r#"{"id":"65f0c3a2b1e4d9001a2b3c50","_links":{"ticket":{"href":"/v1/store/1276/ticket?batchId=65f0c3a2b1e4d9001a2b3c50"}},
 "report":[{"id":999999,"channelName":null,"reference":null,"state":"ignored","message":"Order not found"}]}"#,
        )
        .unwrap();
        let b = w.into_accepted(1).unwrap();
        assert_eq!(b.batch_id, "65f0c3a2b1e4d9001a2b3c50");
        assert_eq!(
            b.ticket_href.as_deref(),
            Some("/v1/store/1276/ticket?batchId=65f0c3a2b1e4d9001a2b3c50")
        );
        assert_eq!(
            b.ignored,
            vec![IgnoredOrder {
                id: Some(999999),
                reference: None,
                channel_name: None,
                message: "Order not found".into()
            }]
        );
    }

    #[test]
    fn batch_without_id_is_none() {
        for body in [
            r#"{"_links":{"ticket":{"href":"/x"}}}"#,
            r#"{"id":null}"#,
            r#"{"id":""}"#,
        ] {
            let w: BatchWire = serde_json::from_str(body).unwrap();
            assert!(w.into_accepted(1).is_none(), "{body}");
        }
        let w: BatchWire = serde_json::from_str(r#"{"id":42}"#).unwrap();
        let b = w.into_accepted(2).unwrap();
        assert_eq!(b.batch_id, "42");
        assert!(b.ticket_href.is_none());
        assert_eq!(b.attempts, 2);
        assert!(decode_object::<BatchWire>(b"[]")
            .unwrap_err()
            .contains("a list"));
        assert!(decode_object::<BatchWire>(b"<html>").is_err());
    }

    const PAGE: &str = r#"{"total":1,"limit":200,"pages":1,"page":1,"count":1,"meta":{"processing":true},
 "_links":{"self":{"href":"/v1/store/1276/ticket?batchId=65f0c3a2b1e4d9001a2b3c4d&page=1&limit=200"},
           "next":{"href":"/v1/store/1276/ticket?batchId=65f0c3a2b1e4d9001a2b3c4d&page=2&limit=200"}},
 "_embedded":{"ticket":[{"id":"65f0c3a2b1e4d9001a2b3c4e","batchId":"65f0c3a2b1e4d9001a2b3c4d","type":"order.notify.shipment","state":"running",
   "payload":{"id":18089105066,"reference":"221005T026057147-27855152-A","channelName":"alltricks"},
   "result":null,"scheduledAt":"2025-03-12T10:00:00+00:00","startedAt":"2025-03-12T10:00:02+00:00","finishedAt":null,
   "_links":{"self":{"href":"/v1/store/1276/ticket/65f0c3a2b1e4d9001a2b3c4e"}}}]}}"#;

    #[test]
    fn ticket_collection_with_next_link() {
        let page: TicketPageWire = serde_json::from_str(PAGE).unwrap();
        assert_eq!(
            page.next_href().as_deref(),
            Some("/v1/store/1276/ticket?batchId=65f0c3a2b1e4d9001a2b3c4d&page=2&limit=200")
        );
        let tickets = page.into_tickets().unwrap();
        assert_eq!(tickets.len(), 1);
        let t = &tickets[0];
        assert_eq!(t.id, "65f0c3a2b1e4d9001a2b3c4e");
        assert_eq!(t.batch_id, "65f0c3a2b1e4d9001a2b3c4d");
        assert_eq!(t.ticket_type, "order.notify.shipment");
        assert_eq!(t.state, TicketState::Running);
        assert_eq!(t.payload.id, Some(18089105066));
        assert_eq!(t.payload.channel(), Some("alltricks"));
        assert_eq!(t.result, None);
        assert_eq!(t.finished_at, None);
        assert_eq!(t.started_at.as_deref(), Some("2025-03-12T10:00:02+00:00"));
        assert_eq!(
            t.self_href.as_deref(),
            Some("/v1/store/1276/ticket/65f0c3a2b1e4d9001a2b3c4e")
        );
        assert_eq!(t.raw["payload"]["reference"], "221005T026057147-27855152-A");
    }

    #[test]
    fn empty_collection_is_not_an_error() {
        let page: TicketPageWire = serde_json::from_str(
            r#"{"total":0,"limit":200,"pages":0,"page":1,"count":0,"_links":{"self":{"href":"/x"}},"_embedded":{"ticket":[]}}"#,
        )
        .unwrap();
        assert!(page.next_href().is_none());
        assert!(page.into_tickets().unwrap().is_empty());
        let page: TicketPageWire = serde_json::from_str(r#"{"total":0}"#).unwrap();
        assert!(page.into_tickets().unwrap().is_empty());
    }

    #[test]
    fn failed_ticket_with_sdk_payload_and_result() {
        let t = Ticket::from_value(json!({
          "id": "5f2b8c1e9d3a4b0012ab34cd", "batchId": "5f2b8c1e9d3a4b0012ab34ce",
          "type": "order.notify.shipment", "state": "failed",
          "payload": { "id": 18089105066i64, "reference": "221005T026057147-27855152-A", "channel": "Amazon", "carrier": "ups" },
          "result": { "message": "Unable to update order.", "data": {"code": 7} },
          "scheduledAt": "2019-08-26T10:25:30+00:00", "startedAt": "2019-08-26T10:25:30+00:00",
          "finishedAt": "2019-08-26T12:01:25+00:00",
          "_links": { "self": { "href": "/v1/store/1276/ticket/5f2b8c1e9d3a4b0012ab34cd" } }
        }))
        .unwrap();
        assert_eq!(t.state, TicketState::Failed);
        assert_eq!(t.message(), Some("Unable to update order."));
        assert_eq!(t.result.as_ref().unwrap().data, json!({"code": 7}));
        assert_eq!(t.payload.channel(), Some("Amazon"));
        assert_eq!(t.payload.rest.get("carrier"), Some(&json!("ups")));
        assert_eq!(t.finished_at.as_deref(), Some("2019-08-26T12:01:25+00:00"));
    }

    #[test]
    fn single_object_embedded_ticket_and_other_rel_name() {
        let page: TicketPageWire = serde_json::from_value(json!({
            "_embedded": {"tickets": {"id": "a", "state": "succeed", "payload": {"id": "77"}}}
        }))
        .unwrap();
        let t = page.into_tickets().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].payload.id, Some(77));
        assert_eq!(t[0].batch_id, "");
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let bad_state = json!({"_embedded": {"ticket": [{"id": "a", "state": "succeeded"}]}});
        let page: TicketPageWire = serde_json::from_value(bad_state).unwrap();
        assert!(page.into_tickets().unwrap_err().contains("ticket #0"));
        let page: TicketPageWire =
            serde_json::from_value(json!({"_embedded": {"ticket": 5}})).unwrap();
        assert!(page.into_tickets().is_err());
        assert!(decode_object::<TicketPageWire>(b"[]").is_err());
        assert!(decode_object::<TicketPageWire>(b"{\"_embedded\":").is_err());
        assert!(decode_object::<TicketPageWire>(b"\xff\xfe").is_err());
        assert!(decode_object::<Me>(b"null").is_err());
        assert!(Ticket::from_value(json!({"state": "running"})).is_err());
        assert!(
            Ticket::from_value(json!({"id": "x", "state": "running", "payload": {"id": 1.5}}))
                .is_err()
        );
    }
}
