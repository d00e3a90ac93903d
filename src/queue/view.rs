//! What the back office reads of the queue: the task grid (filtered, sorted, paged) and the
//! health figures. Reads only; the states shown are docs/queue.md's, as the merchant sees them.

use super::params;
use crate::db::sql::in_list;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::{TaskAction, TaskKind};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

/// A task's state in the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Pending, due later: its shipped delay (or the tracking number it waits for).
    Waiting,
    Due,
    /// A run holds it.
    Sending,
    /// Sent, waiting for its ticket.
    Checking,
    /// Failed, due again at its `due_at`.
    Retrying,
    /// Attempts exhausted: waits for the merchant.
    GaveUp,
}

impl TaskState {
    pub const ALL: [TaskState; 6] = [
        TaskState::Waiting,
        TaskState::Due,
        TaskState::Sending,
        TaskState::Checking,
        TaskState::Retrying,
        TaskState::GaveUp,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Due => "due",
            TaskState::Sending => "sending",
            TaskState::Checking => "checking",
            TaskState::Retrying => "retrying",
            TaskState::GaveUp => "gave_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        TaskState::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The kind of a task row, from its action.
pub fn kind_of(action: TaskAction) -> TaskKind {
    TaskKind::ALL
        .into_iter()
        .find(|k| k.pending() == action || k.checking() == action)
        .unwrap_or(TaskKind::Status)
}

/// The grid's sort columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    IdTask,
    IdOrder,
    Marketplace,
    Kind,
    State,
    DueAt,
    Attempts,
    DateAdd,
    DateUpd,
}

impl SortBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id_task" => SortBy::IdTask,
            "id_order" => SortBy::IdOrder,
            "marketplace" => SortBy::Marketplace,
            "kind" => SortBy::Kind,
            "state" => SortBy::State,
            "due_at" => SortBy::DueAt,
            "attempts" => SortBy::Attempts,
            "date_add" => SortBy::DateAdd,
            "date_upd" => SortBy::DateUpd,
            _ => return None,
        })
    }

    fn column(self, state: &str) -> String {
        match self {
            SortBy::IdTask => "t.id_shoppingfeed_task_order".into(),
            SortBy::IdOrder => "t.id_order".into(),
            SortBy::Marketplace => "so.name_marketplace".into(),
            SortBy::Kind => "t.action".into(),
            SortBy::State => format!("({state})"),
            SortBy::DueAt => "t.update_at".into(),
            SortBy::Attempts => "t.attempts".into(),
            SortBy::DateAdd => "t.date_add".into(),
            SortBy::DateUpd => "t.date_upd".into(),
        }
    }
}

/// The grid's filters, sort and page.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskQuery {
    /// The shops of the employee's context (never empty: an empty list shows nothing).
    pub shops: Vec<u32>,
    pub id_order: Option<u32>,
    /// A part of the marketplace's name.
    pub marketplace: Option<String>,
    pub kind: Option<TaskKind>,
    pub state: Option<TaskState>,
    pub sort: SortBy,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// The most rows a page shows.
pub const MAX_PER_PAGE: u32 = 1000;

impl Default for TaskQuery {
    fn default() -> Self {
        TaskQuery {
            shops: Vec::new(),
            id_order: None,
            marketplace: None,
            kind: None,
            state: None,
            sort: SortBy::IdTask,
            descending: true,
            page: 1,
            per_page: 50,
        }
    }
}

/// One row of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id_task: u32,
    pub id_order: u32,
    pub id_shop: u32,
    pub id_shop_group: u32,
    pub reference: String,
    pub marketplace: Option<String>,
    pub action: Option<TaskAction>,
    pub state: Option<TaskState>,
    pub due_at: Option<String>,
    pub attempts: u32,
    pub ticket_number: Option<String>,
    pub batch_id: Option<String>,
    pub last_error: Option<String>,
    pub id_order_slip: Option<u32>,
    pub sent_at: Option<String>,
    pub gave_up_at: Option<String>,
    pub date_add: String,
    pub date_upd: String,
    pub current_state: u32,
}

impl TaskRow {
    fn from_row(mut row: Row) -> Result<Self, DbError> {
        fn col<T: mysql_async::prelude::FromValue>(row: &mut Row, i: usize) -> Result<T, DbError> {
            row.take_opt::<T, usize>(i)
                .and_then(Result::ok)
                .ok_or_else(|| DbError::Data {
                    context: "listing tasks".into(),
                    detail: format!("column {i} of the task grid"),
                })
        }
        let action: String = col(&mut row, 6)?;
        let state: String = col(&mut row, 7)?;
        Ok(TaskRow {
            id_task: col(&mut row, 0)?,
            id_order: col(&mut row, 1)?,
            id_shop: col(&mut row, 2)?,
            id_shop_group: col(&mut row, 3)?,
            reference: col::<Option<String>>(&mut row, 4)?.unwrap_or_default(),
            marketplace: col(&mut row, 5)?,
            action: TaskAction::parse(&action),
            state: TaskState::parse(&state),
            due_at: col(&mut row, 8)?,
            attempts: col(&mut row, 9)?,
            ticket_number: col(&mut row, 10)?,
            batch_id: col(&mut row, 11)?,
            last_error: col(&mut row, 12)?,
            id_order_slip: col(&mut row, 13)?,
            sent_at: col(&mut row, 14)?,
            gave_up_at: col(&mut row, 15)?,
            date_add: col(&mut row, 16)?,
            date_upd: col(&mut row, 17)?,
            current_state: col(&mut row, 18)?,
        })
    }
}

/// A page of the grid and how many rows match in all.
pub async fn list(db: &Db, conn: &mut Conn, q: &TaskQuery) -> Result<(Vec<TaskRow>, u64), DbError> {
    if q.shops.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let sql = &db.sql().queue;
    let mut cond = format!("WHERE o.id_shop IN {}", in_list(q.shops.len()));
    let mut p: Vec<Value> = params(Vec::new(), &q.shops);
    if let Some(id_order) = q.id_order {
        cond.push_str(" AND t.id_order = ?");
        p.push(id_order.into());
    }
    if let Some(name) = q.marketplace.as_deref().filter(|n| !n.trim().is_empty()) {
        cond.push_str(" AND so.name_marketplace LIKE ?");
        let escaped = name
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        p.push(format!("%{escaped}%").into());
    }
    if let Some(kind) = q.kind {
        cond.push_str(" AND t.action IN (?, ?)");
        p.push(kind.pending().as_str().into());
        p.push(kind.checking().as_str().into());
    }
    if let Some(state) = q.state {
        cond.push_str(&format!(" AND ({}) = ?", sql.list_state));
        p.push(state.as_str().into());
    }
    let total: Option<u64> = conn
        .exec_first(
            format!("SELECT COUNT(*) {}{cond}", sql.list_from),
            p.clone(),
        )
        .await
        .ctx("counting tasks")?;
    let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
    let offset = u64::from(q.page.max(1) - 1) * u64::from(per_page);
    let query = format!(
        "{}{}{cond} ORDER BY {} {}, t.id_shoppingfeed_task_order DESC LIMIT {per_page} OFFSET {offset}",
        sql.list_columns,
        sql.list_from,
        q.sort.column(&sql.list_state),
        if q.descending { "DESC" } else { "ASC" },
    );
    let rows: Vec<Row> = conn.exec(query, p).await.ctx("listing tasks")?;
    let rows = rows
        .into_iter()
        .map(TaskRow::from_row)
        .collect::<Result<_, _>>()?;
    Ok((rows, total.unwrap_or(0)))
}

/// The queue's health figures of some shops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueHealth {
    pub due: u64,
    pub checking: u64,
    pub gave_up: u64,
    pub oldest_due_seconds: Option<i64>,
    pub oldest_unchecked_seconds: Option<i64>,
}

pub async fn health(db: &Db, conn: &mut Conn, shops: &[u32]) -> Result<QueueHealth, DbError> {
    if shops.is_empty() {
        return Ok(QueueHealth::default());
    }
    let query = format!("{}{}", db.sql().queue.health_head, in_list(shops.len()));
    type HealthRow = (u64, u64, u64, Option<i64>, Option<i64>);
    let row: Option<HealthRow> = conn
        .exec_first(query, params(Vec::new(), shops))
        .await
        .ctx("reading the queue's health")?;
    Ok(row
        .map(
            |(due, checking, gave_up, oldest_due_seconds, oldest_unchecked_seconds)| QueueHealth {
                due,
                checking,
                gave_up,
                oldest_due_seconds,
                oldest_unchecked_seconds,
            },
        )
        .unwrap_or_default())
}
