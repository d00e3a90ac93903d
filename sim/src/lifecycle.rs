//! Ticket life cycle (`scheduled → running → succeed | failed | canceled`) and its order effects.

use serde_json::{json, Value};

use crate::model::OutcomeKind;
use crate::state::{rfc3339, Lifecycle, SimState, Ticket};
use crate::wire::{Operation, OrderStatus, TicketState};

/// Number of steps a ticket has earned: 0 scheduled, 1 running, 2 terminal.
fn target_step(t: &Ticket, lifecycle: &Lifecycle, now_sim: f64) -> u32 {
    let step = match *lifecycle {
        // 0 polls per step: terminal at the first poll.
        Lifecycle::Polls { polls_per_step } => t.polls.checked_div(polls_per_step).unwrap_or(2),
        Lifecycle::Clock { seconds_per_step } | Lifecycle::Wall { seconds_per_step } => {
            if seconds_per_step <= 0.0 {
                2
            } else {
                ((now_sim - t.created_sim) / seconds_per_step)
                    .max(0.0)
                    .floor() as u32
            }
        }
    };
    let cap = match t.outcome.outcome {
        OutcomeKind::Scheduled => 0,
        OutcomeKind::Running => 1,
        _ => 2,
    };
    step.min(cap)
}

fn current_step(state: TicketState) -> u32 {
    match state {
        TicketState::Scheduled => 0,
        TicketState::Running => 1,
        _ => 2,
    }
}

impl SimState {
    /// Moves ticket `idx` forward as far as its poll count or the clock allows; `polled` counts
    /// this read as one poll (polls mode). Applies the order effect on the terminal step.
    pub fn advance(&mut self, idx: usize, polled: bool) {
        let lifecycle = self.settings.lifecycle;
        let now_sim = self.sim_elapsed();
        let now = self.clock.at(now_sim);
        let Some(t) = self.tickets.get_mut(idx) else {
            return;
        };
        if t.vanished || t.state.is_terminal() {
            return;
        }
        if polled {
            t.polls = t.polls.saturating_add(1);
        }
        let target = target_step(t, &lifecycle, now_sim);
        if target >= 1 && t.state == TicketState::Scheduled {
            t.state = TicketState::Running;
            t.started_at = Some(now);
        }
        if target >= 2 && current_step(t.state) < 2 {
            if t.outcome.vanish {
                t.vanished = true;
                return;
            }
            let (state, result) = match t.outcome.outcome {
                OutcomeKind::Failed => (
                    TicketState::Failed,
                    json!({
                        "message": t.outcome.message.clone()
                            .unwrap_or_else(|| "Unable to update order.".into()),
                        "data": t.outcome.data.clone().unwrap_or(Value::Null),
                    }),
                ),
                OutcomeKind::Canceled => (
                    TicketState::Canceled,
                    json!({
                        "message": t.outcome.message.clone()
                            .unwrap_or_else(|| "The task has been refused".into()),
                        "data": t.outcome.data.clone().unwrap_or(Value::Null),
                    }),
                ),
                _ => (TicketState::Succeed, Value::Null),
            };
            t.state = state;
            t.result = result;
            t.finished_at = Some(now);
            let (op, order_id, payload, message) = (
                t.op,
                t.order_id,
                t.payload.clone(),
                t.result.get("message").cloned(),
            );
            self.apply_effect(op, order_id, state, &payload, message, rfc3339(now));
        }
    }

    /// Advances every live ticket by the clock only (clock and wall modes).
    pub fn advance_all_by_clock(&mut self) {
        if matches!(self.settings.lifecycle, Lifecycle::Polls { .. }) {
            return;
        }
        for idx in 0..self.tickets.len() {
            self.advance(idx, false);
        }
    }

    fn apply_effect(
        &mut self,
        op: Operation,
        order_id: i64,
        state: TicketState,
        payload: &Value,
        message: Option<Value>,
        now: String,
    ) {
        let Some(order) = self.orders.get_mut(&order_id) else {
            return;
        };
        match state {
            TicketState::Failed => {
                order.errors.push(json!({
                    "type": op.error_type(),
                    "message": message.unwrap_or(Value::Null),
                    "occurredAt": now,
                }));
            }
            TicketState::Succeed => match op {
                Operation::Ship => {
                    let items = payload.get("items").and_then(Value::as_array);
                    let partial = items.is_some_and(|shipped| {
                        !shipped.is_empty()
                            && order.items.iter().any(|it| {
                                let sent: i64 = shipped
                                    .iter()
                                    .filter(|s| s.get("id").and_then(Value::as_i64) == Some(it.id))
                                    .filter_map(|s| s.get("quantity").and_then(Value::as_i64))
                                    .sum();
                                sent < it.quantity
                            })
                    });
                    order.status = if partial {
                        OrderStatus::PartiallyShipped
                    } else {
                        OrderStatus::Shipped
                    };
                }
                Operation::Cancel => order.status = OrderStatus::Cancelled,
                Operation::Refund => {
                    let partial = payload
                        .pointer("/refund/products")
                        .and_then(Value::as_array)
                        .is_some_and(|p| !p.is_empty());
                    order.status = if partial {
                        OrderStatus::PartiallyRefunded
                    } else {
                        OrderStatus::Refunded
                    };
                }
                Operation::Acknowledge => {
                    if payload.get("status").and_then(Value::as_str) == Some("error") {
                        // An acknowledge with status=error succeeds but leaves the order
                        // unacknowledged, with the message in errors (sf-api.md 7.2).
                        order.errors.push(json!({
                            "type": "acknowledge",
                            "message": payload.get("message").cloned().unwrap_or(Value::Null),
                            "occurredAt": now,
                        }));
                    } else {
                        order.acknowledged_at = Some(
                            payload
                                .get("acknowledgedAt")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                                .unwrap_or(now),
                        );
                        order.store_reference = payload
                            .get("storeReference")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                    }
                }
                Operation::Unacknowledge => order.acknowledged_at = None,
                Operation::Accept => order.status = OrderStatus::WaitingShipment,
                Operation::Refuse => order.status = OrderStatus::Refused,
                Operation::Deliver | Operation::UploadDocuments => {}
            },
            _ => {}
        }
    }
}
