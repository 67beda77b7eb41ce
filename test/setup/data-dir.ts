import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every test file gets its own data directory (journal, control token), inherited by the apps
// it spawns: two test files running the app at once would otherwise share ./data and the second
// would be refused as a second writer of the same journal. A test that sets CWTS_DATA_DIR keeps it.
process.env.CWTS_DATA_DIR = mkdtempSync(join(tmpdir(), 'cwts-test-data-'));
