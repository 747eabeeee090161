import { migration0001 } from './0001_settings.js';
import { migration0002 } from './0002_triggers_deliveries_executions.js';
import { migration0003 } from './0003_schedule_state.js';
import { migration0004 } from './0004_execution_logs.js';
import { migration0005 } from './0005_execution_process_group.js';
import { migration0006 } from './0006_accounts_budgets.js';
import { migration0007 } from './0007_notification_outcome.js';
import { migration0008 } from './0008_execution_logs_rowid.js';
import { migration0009 } from './0009_execution_log_chunks.js';
import { migration0010 } from './0010_executions_by_created.js';
import { migration0011 } from './0011_execution_process_group_boot.js';
import { migration0012 } from './0012_executions_by_start_partial.js';
import { migration0013 } from './0013_deliveries_plain_rowid.js';
import { migration0014 } from './0014_deliveries_trigger_seq.js';
import { migration0015 } from './0015_revoked_sessions.js';
import { migration0016 } from './0016_executions_first_start.js';
import { migration0017 } from './0017_delivery_signature_check.js';
import { migration0018 } from './0018_executions_estimated_usd.js';
import { migration0019 } from './0019_executions_log_seq_reserved.js';
import { migration0020 } from './0020_process_groups.js';
import { migration0021 } from './0021_process_group_leader_start.js';
import { migration0022 } from './0022_attempt_spend.js';
import { migration0023 } from './0023_dedup_log.js';
import { migration0024 } from './0024_cooling_announced.js';
import type { Migration } from './migration.js';

/** Every migration, in order. Append only: a released migration is never edited. */
export const migrations: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0009, migration0010, migration0011, migration0012, migration0013, migration0014, migration0015, migration0016, migration0017, migration0018, migration0019, migration0020, migration0021, migration0022, migration0023, migration0024];
