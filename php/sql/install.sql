-- Module tables of shoppingfeed_sync. PREFIX_ is the PrestaShop table prefix (_DB_PREFIX_).
-- Names, columns and enum values are the reference module's (the Shopping Feed module's tables); the columns
-- marked "added" are this project's and keep the reference's PHP code working unchanged.

CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_task_order` (
  `id_shoppingfeed_task_order` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  `action` ENUM('SYNC_STATUS','CHECK_TICKET_SYNC_STATUS','UPLOAD_INVOICE','CHECK_TICKET_UPLOAD_INVOICE','PARTIAL_REFUND','ACTION_CHECK_TICKET_PARTIAL_REFUND') NOT NULL,
  `id_order` INT(10) UNSIGNED NOT NULL,
  `ticket_number` VARCHAR(50) NULL,
  `batch_id` VARCHAR(50) NULL,
  `update_at` DATETIME NULL,
  `date_add` DATETIME NOT NULL,
  `date_upd` DATETIME NOT NULL,
  -- added: how many times the status was sent and failed (bounded retries)
  `attempts` INT(10) UNSIGNED NOT NULL DEFAULT 0,
  -- added: the last failure reason, shown in the report and the e-mail
  `last_error` VARCHAR(255) NULL,
  -- added: the CRON run holding the task and until when (lease; crash-safe claiming)
  `lease_owner` VARCHAR(40) NULL,
  `lease_until` DATETIME NULL,
  -- added: when the status was sent (ticket deadline for stuck tickets)
  `sent_at` DATETIME NULL,
  -- added: bumped by every re-arm, so a run that sent an older state never marks a newer one as sent
  `version` INT(10) UNSIGNED NOT NULL DEFAULT 0,
  -- added: dedupe key; one pending SYNC_STATUS row per order, enforced by the database
  `pending_order` INT(10) UNSIGNED AS (IF(`action` = 'SYNC_STATUS', `id_order`, NULL)) STORED,
  -- added: the credit slip a PARTIAL_REFUND task refunds; one task per slip, whatever its action
  `id_order_slip` INT(10) UNSIGNED NULL,
  -- added: dedupe key; one invoice task per order, pending or waiting for its ticket
  `pending_invoice` INT(10) UNSIGNED AS (IF(`action` IN ('UPLOAD_INVOICE','CHECK_TICKET_UPLOAD_INVOICE'), `id_order`, NULL)) STORED,
  -- added: when the task gave up (attempts exhausted). It stays, never due (update_at NULL), until
  -- the merchant retries or cancels it, a new status change re-arms it, or its retention ends
  `gave_up_at` DATETIME NULL,
  PRIMARY KEY (`id_shoppingfeed_task_order`),
  UNIQUE KEY `action_order_ticket` (`action`, `id_order`, `ticket_number`),
  UNIQUE KEY `pending_order` (`pending_order`),
  UNIQUE KEY `order_slip` (`id_order_slip`),
  UNIQUE KEY `pending_invoice` (`pending_invoice`),
  KEY `due` (`action`, `update_at`),
  -- the ticket check lists the distinct batches waiting, in order
  KEY `batch` (`action`, `batch_id`),
  -- a run reads back the tasks it leased
  KEY `lease` (`lease_owner`),
  -- the tasks that gave up: health counts them, the CRON removes them after their retention
  KEY `gave_up` (`gave_up_at`),
  -- an order's tasks (the order page, the sweep, the task grid's order filter)
  KEY `order_tasks` (`id_order`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_order` (
  `id_shoppingfeed_order` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  -- the Shopping Feed order id (sent as "id" when known)
  `id_internal_shoppingfeed` VARCHAR(50) NULL,
  `id_order_marketplace` VARCHAR(255) NULL,
  `name_marketplace` VARCHAR(255) NOT NULL,
  `id_order` INT(10) UNSIGNED NOT NULL,
  -- the Shopping Feed account (shoppingfeed_token row) the order was imported with; 0: the shop's
  -- first active account (the reference HEAD's column, NOT NULL there too)
  `id_shoppingfeed_token` INT(10) NOT NULL DEFAULT 0,
  `date_add` DATETIME NOT NULL,
  `date_upd` DATETIME NOT NULL,
  PRIMARY KEY (`id_shoppingfeed_order`),
  UNIQUE KEY `id_order` (`id_order`),
  -- added: the CRON finds the orders of accounts that are not active without a scan
  KEY `account` (`id_shoppingfeed_token`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_processlogger` (
  `id_shoppingfeed_processlogger` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(100) NOT NULL,
  `msg` MEDIUMTEXT NOT NULL,
  `level` VARCHAR(10) NOT NULL,
  `object_name` VARCHAR(100) NOT NULL,
  `object_id` INT(10) UNSIGNED NULL,
  `date_add` DATETIME NOT NULL,
  `id_session` VARCHAR(255) NULL,
  PRIMARY KEY (`id_shoppingfeed_processlogger`),
  KEY `date_log` (`date_add`),
  -- added: an order's rows (the order page, the log view's order filter)
  KEY `object_log` (`object_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_processmonitor` (
  `id_shoppingfeed_processmonitor` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(100) NOT NULL,
  `pid` INT(10) UNSIGNED NULL,
  `data` VARCHAR(255) NOT NULL,
  `duration` DECIMAL(10,6) NOT NULL,
  `active` TINYINT(1) UNSIGNED NOT NULL,
  `last_update` DATETIME NOT NULL,
  PRIMARY KEY (`id_shoppingfeed_processmonitor`),
  UNIQUE KEY `name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_token` (
  `id_shoppingfeed_token` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  `id_shop` INT(10) UNSIGNED NOT NULL,
  `id_lang` INT(10) UNSIGNED NOT NULL,
  `id_currency` INT(10) UNSIGNED NOT NULL,
  `content` VARCHAR(255) NOT NULL,
  `active` TINYINT(1) UNSIGNED NOT NULL,
  `merchant` VARCHAR(100) NOT NULL,
  `shoppingfeed_store_id` INT(10) UNSIGNED NOT NULL,
  `feed_key` VARCHAR(50) NOT NULL,
  `date_add` DATETIME NOT NULL,
  `date_upd` DATETIME NOT NULL,
  PRIMARY KEY (`id_shoppingfeed_token`),
  UNIQUE KEY `content_feed_key` (`content`, `feed_key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- added: failure notices waiting for the merchant's e-mail. A failed, refused or abandoned order is
-- written here before its task changes, and removed only once the mailer accepted the e-mail that
-- listed it, so a mailer that throws or returns false loses nothing (the next run mails it again).
CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_sync_notice` (
  `id_shoppingfeed_sync_notice` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  `id_shop` INT(10) UNSIGNED NOT NULL,
  `id_order` INT(10) UNSIGNED NOT NULL,
  `operation` VARCHAR(32) NULL,
  `reason` VARCHAR(1000) NOT NULL,
  `gave_up` TINYINT(1) UNSIGNED NOT NULL DEFAULT 0,
  `date_add` DATETIME NOT NULL,
  PRIMARY KEY (`id_shoppingfeed_sync_notice`),
  KEY `shop` (`id_shop`, `id_shoppingfeed_sync_notice`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- added: per order and operation (ship, cancel, refund, deliver, partial_refund, upload_invoice),
-- the last one sent and what became of it: the order page shows it, the tracking-number trigger
-- compares the tracking number a ship carried, the reconciliation sweep skips what was sent (or
-- canceled by the merchant) after the order's last status change. Replaces 0.4's
-- shoppingfeed_sync_shipment (its rows are moved here by the upgrade).
CREATE TABLE IF NOT EXISTS `PREFIX_shoppingfeed_sync_operation` (
  `id_order` INT(10) UNSIGNED NOT NULL,
  `operation` VARCHAR(32) NOT NULL,
  `carrier` VARCHAR(64) NULL,
  `tracking_number` VARCHAR(64) NULL,
  `batch_id` VARCHAR(50) NULL,
  `ticket_number` VARCHAR(50) NULL,
  `result` ENUM('sent','succeeded','failed','refused','gave_up','canceled') NOT NULL,
  `date_add` DATETIME NOT NULL,
  `date_upd` DATETIME NOT NULL,
  PRIMARY KEY (`id_order`, `operation`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
