// The SQLite VFS the store opens its databases through: SQLite's own default VFS ("unix"), the
// database, shared-memory and journal files handled by it unchanged, except that a transaction's
// WAL frames reach the file in one write at its commit frame.
//
// SQLite writes each WAL frame as two system calls (its 24-byte header, then the page): a commit of
// 300 pages was 600 `pwrite`s, a quarter of the writer's time in a bulk linkage job (docs/
// PERFORMANCE.md). Here a transaction's frames are held in memory as SQLite appends them and written
// in large writes (124 KiB each, the most the default VFS writes in one call) when its commit frame
// comes, a frame whose header carries the database size (the WAL format's commit marker): the held
// frames, then the commit frame itself, as SQLite wrote them, before SQLite makes the transaction
// visible to readers and before COMMIT returns. So a committed transaction is in the operating
// system's hands exactly as before (synchronous=NORMAL: it survives a crash of the process), and a
// failed write fails the COMMIT as before. Anything else written to the WAL (its header, a page or
// a frame header rewritten in place) and every read, sync, truncate, size query or close first
// write what is held, in order, so SQLite's own reads and syncs see the file as it wrote it; a
// transaction larger than 4 MiB is written 4 MiB at a time.
#pragma once

namespace jlis::store {

// The VFS's name for sqlite3_open_v2, registered (not as the default) on the first call.
const char* buffered_wal_vfs();

}  // namespace jlis::store
