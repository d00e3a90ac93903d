//! The merchant's state lists and what a state sends.

use super::ShopConfig;
use crate::db::sql::keys;
use crate::model::Operation;

/// Default shipped delay (minutes) when the configuration has none.
pub const DEFAULT_TIME_SHIFT: i64 = 5;
/// The largest delay accepted from the configuration (a week), so a typo cannot park a task for years.
const MAX_TIME_SHIFT: i64 = 7 * 24 * 60;

/// The state lists of a shop; a malformed list is logged and read as empty.
#[derive(Debug, Clone)]
pub struct StateLists {
    pub shipped: Vec<u32>,
    pub cancelled: Vec<u32>,
    pub refunded: Vec<u32>,
    /// `SHOPPINGFEED_DELIVERED_ORDERS` (default none): operation `deliver`.
    pub delivered: Vec<u32>,
}

impl StateLists {
    pub fn read(config: &ShopConfig, mut on_error: impl FnMut(String)) -> Self {
        let mut list = |key: &str| {
            config.state_list(key).unwrap_or_else(|e| {
                on_error(e.to_string());
                Vec::new()
            })
        };
        StateLists {
            shipped: list(keys::SHIPPED_ORDERS),
            cancelled: list(keys::CANCELLED_ORDERS),
            refunded: list(keys::REFUNDED_ORDERS),
            delivered: list(keys::DELIVERED_ORDERS),
        }
    }

    pub fn contains(&self, state: u32) -> bool {
        operation_for(self, state).is_some()
    }
}

/// Precedence when a state is in several lists: shipped > canceled > refunded > delivered (a shop
/// that had its "Delivered" state in the shipped list, as many did before `deliver` existed, keeps
/// sending its tracking number).
pub fn operation_for(lists: &StateLists, state: u32) -> Option<Operation> {
    if lists.shipped.contains(&state) {
        Some(Operation::Ship)
    } else if lists.cancelled.contains(&state) {
        Some(Operation::Cancel)
    } else if lists.refunded.contains(&state) {
        Some(Operation::Refund)
    } else if lists.delivered.contains(&state) {
        Some(Operation::Deliver)
    } else {
        None
    }
}

/// How long a shipped status waits for its tracking number (minutes, 0 to a week).
pub fn time_shift(config: &ShopConfig) -> u32 {
    config
        .int(keys::TIME_SHIFT, DEFAULT_TIME_SHIFT)
        .clamp(0, MAX_TIME_SHIFT) as u32
}

/// The delay of a status task queued for `state`: the shipped delay for a ship, none otherwise.
/// `None` when the shop holds a ship for its tracking number ([`ship_wait`]): the delay then
/// depends on the order ([`ship_delay`]).
pub fn delay_for(lists: &StateLists, config: &ShopConfig, state: u32) -> Option<u32> {
    if operation_for(lists, state) != Some(Operation::Ship) {
        Some(0)
    } else if ship_wait(config).is_some() {
        None
    } else {
        Some(time_shift(config))
    }
}

/// Hours a ship waits for its tracking number at most when nothing is configured.
pub const DEFAULT_SHIP_WAIT_HOURS: i64 = 24;
/// A week, like the fixed delay's maximum.
const MAX_SHIP_WAIT_HOURS: i64 = 168;

/// When the shop holds a shipped status until its tracking number is saved
/// (`SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING`): the longest wait, in minutes
/// (`SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS`, default 24, 1 to 168).
pub fn ship_wait(config: &ShopConfig) -> Option<u32> {
    config.flag(keys::SHIP_WAITS_TRACKING).then(|| {
        let hours = config
            .int(keys::SHIP_WAIT_MAX_HOURS, DEFAULT_SHIP_WAIT_HOURS)
            .clamp(1, MAX_SHIP_WAIT_HOURS);
        (hours * 60) as u32
    })
}

/// The delay of a ship: none when its tracking number is saved already, else the longest wait
/// (the tracking-number trigger makes it due as soon as the number is saved); the fixed delay
/// when the shop does not hold ships.
pub fn ship_delay(config: &ShopConfig, has_tracking_number: bool) -> u32 {
    match ship_wait(config) {
        Some(_) if has_tracking_number => 0,
        Some(max) => max,
        None => time_shift(config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rows: &[(&str, &str)]) -> ShopConfig {
        ShopConfig::global(rows)
    }

    #[test]
    fn time_shift_defaults_to_five_and_is_clamped() {
        assert_eq!(time_shift(&cfg(&[])), 5);
        assert_eq!(time_shift(&cfg(&[(keys::TIME_SHIFT, "0")])), 0);
        assert_eq!(time_shift(&cfg(&[(keys::TIME_SHIFT, "-3")])), 0);
        assert_eq!(time_shift(&cfg(&[(keys::TIME_SHIFT, "99999999")])), 10080);
    }

    #[test]
    fn a_ship_waits_for_its_tracking_number_when_the_shop_says_so() {
        let lists = StateLists {
            shipped: vec![4],
            cancelled: vec![6],
            refunded: vec![],
            delivered: vec![],
        };
        let fixed = cfg(&[(keys::TIME_SHIFT, "7")]);
        assert_eq!(delay_for(&lists, &fixed, 4), Some(7));
        assert_eq!(ship_delay(&fixed, true), 7);
        let waits = cfg(&[(keys::SHIP_WAITS_TRACKING, "1"), (keys::TIME_SHIFT, "7")]);
        assert_eq!(delay_for(&lists, &waits, 4), None);
        assert_eq!(delay_for(&lists, &waits, 6), Some(0));
        assert_eq!(ship_delay(&waits, false), 24 * 60);
        assert_eq!(ship_delay(&waits, true), 0);
        let long = cfg(&[
            (keys::SHIP_WAITS_TRACKING, "1"),
            (keys::SHIP_WAIT_MAX_HOURS, "1000"),
        ]);
        assert_eq!(ship_delay(&long, false), 168 * 60);
    }

    #[test]
    fn a_state_in_several_lists_follows_the_precedence() {
        let lists = StateLists {
            shipped: vec![4],
            cancelled: vec![4, 6],
            refunded: vec![6, 7],
            delivered: vec![7, 5],
        };
        assert_eq!(operation_for(&lists, 4), Some(Operation::Ship));
        assert_eq!(operation_for(&lists, 6), Some(Operation::Cancel));
        assert_eq!(operation_for(&lists, 7), Some(Operation::Refund));
        assert_eq!(operation_for(&lists, 5), Some(Operation::Deliver));
        assert_eq!(operation_for(&lists, 3), None);
        assert!(!lists.contains(3));
    }
}
