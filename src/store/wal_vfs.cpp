#include "store/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>

namespace jlis::store {
namespace {

constexpr int kWalHeaderBytes = 32;    // the WAL file's own header, at offset 0
constexpr int kFrameHeaderBytes = 24;  // each frame's: page number, database size on commit (else 0), ...
constexpr size_t kMaxHeldBytes = 4 << 20;
constexpr size_t kMaxWriteBytes = 31 * 4096;  // the default VFS writes at most 128 KiB - 1 bytes a call

// A WAL file: SQLite's own below, and the frames written to it but not yet to the file.
struct WalFile {
  sqlite3_file base;   // methods: kWalMethods
  sqlite3_file* real;  // the default VFS's file, in the same allocation after this struct
  std::string* held;   // consecutive bytes from held_at
  int64_t held_at;
  bool page_next;      // the last write held was a frame header: its page follows
};

WalFile* wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
sqlite3_file* real(sqlite3_file* f) { return wal(f)->real; }
sqlite3_vfs* root(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

int write_held(sqlite3_file* f) {
  WalFile* w = wal(f);
  w->page_next = false;
  int rc = SQLITE_OK;
  for (size_t at = 0; at < w->held->size() && rc == SQLITE_OK; at += kMaxWriteBytes)
    rc = real(f)->pMethods->xWrite(real(f), w->held->data() + at,
                                   static_cast<int>(std::min(kMaxWriteBytes, w->held->size() - at)),
                                   w->held_at + static_cast<int64_t>(at));
  w->held->clear();
  return rc;
}

uint32_t big_endian32(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

int wal_write(sqlite3_file* f, const void* data, int bytes, sqlite3_int64 offset) {
  WalFile* w = wal(f);
  const bool follows = w->held->empty() || offset == w->held_at + static_cast<int64_t>(w->held->size());
  // A frame header (not the WAL's own, at offset 0) without the commit marker, or the page after it.
  const bool header = bytes == kFrameHeaderBytes && offset >= kWalHeaderBytes && follows && !w->page_next &&
                      big_endian32(static_cast<const unsigned char*>(data) + 4) == 0;
  const bool page = w->page_next && follows && bytes > kFrameHeaderBytes;
  if (!header && !page) {  // a commit frame, or not a frame as SQLite appends one: in order, as it comes
    if (int rc = write_held(f); rc != SQLITE_OK) return rc;
    return real(f)->pMethods->xWrite(real(f), data, bytes, offset);
  }
  if (w->held->empty()) w->held_at = offset;
  w->held->append(static_cast<const char*>(data), static_cast<size_t>(bytes));
  w->page_next = header;
  return page && w->held->size() >= kMaxHeldBytes ? write_held(f) : SQLITE_OK;
}

// Every other method writes what is held first, then is the default VFS's.
int wal_close(sqlite3_file* f) {
  const int held = write_held(f);
  delete wal(f)->held;
  const int rc = real(f)->pMethods->xClose(real(f));
  return held != SQLITE_OK ? held : rc;
}

const sqlite3_io_methods kWalMethods = {
    1,
    wal_close,
    [](sqlite3_file* f, void* data, int bytes, sqlite3_int64 offset) {
      const int rc = write_held(f);
      return rc != SQLITE_OK ? rc : real(f)->pMethods->xRead(real(f), data, bytes, offset);
    },
    wal_write,
    [](sqlite3_file* f, sqlite3_int64 size) {
      const int rc = write_held(f);
      return rc != SQLITE_OK ? rc : real(f)->pMethods->xTruncate(real(f), size);
    },
    [](sqlite3_file* f, int flags) {
      const int rc = write_held(f);
      return rc != SQLITE_OK ? rc : real(f)->pMethods->xSync(real(f), flags);
    },
    [](sqlite3_file* f, sqlite3_int64* size) {
      const int rc = write_held(f);
      return rc != SQLITE_OK ? rc : real(f)->pMethods->xFileSize(real(f), size);
    },
    [](sqlite3_file* f, int lock) { return real(f)->pMethods->xLock(real(f), lock); },
    [](sqlite3_file* f, int lock) { return real(f)->pMethods->xUnlock(real(f), lock); },
    [](sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); },
    [](sqlite3_file* f, int op, void* arg) {
      const int rc = write_held(f);
      return rc != SQLITE_OK ? rc : real(f)->pMethods->xFileControl(real(f), op, arg);
    },
    [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); },
    [](sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); },
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,  // version 1: no shared memory, no mapping
};

// A WAL file is wrapped; any other file is the default VFS's own, opened in SQLite's allocation
// (at least as large as the default VFS's files), so SQLite calls it directly.
int open_file(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  if (!(flags & SQLITE_OPEN_WAL)) return root(vfs)->xOpen(root(vfs), name, f, flags, out_flags);
  WalFile* w = wal(f);
  w->base.pMethods = nullptr;  // SQLite closes only a file whose open succeeded
  w->real = reinterpret_cast<sqlite3_file*>(w + 1);
  const int rc = root(vfs)->xOpen(root(vfs), name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  w->held = new std::string();
  w->held_at = 0;
  w->page_next = false;
  w->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

}  // namespace

const char* buffered_wal_vfs() {
  static sqlite3_vfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    vfs = *base;  // the rest (time, randomness, dlopen) are the default VFS's, which ignore the VFS given
    vfs.pAppData = base;
    vfs.pNext = nullptr;
    vfs.zName = "jlis-buffered-wal";
    vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + base->szOsFile;  // sizeof(WalFile): a multiple of 8
    vfs.xOpen = open_file;
    vfs.xDelete = [](sqlite3_vfs* v, const char* n, int sync) { return root(v)->xDelete(root(v), n, sync); };
    vfs.xAccess = [](sqlite3_vfs* v, const char* n, int f, int* out) { return root(v)->xAccess(root(v), n, f, out); };
    vfs.xFullPathname = [](sqlite3_vfs* v, const char* n, int size, char* out) {
      return root(v)->xFullPathname(root(v), n, size, out);
    };
    sqlite3_vfs_register(&vfs, 0);
  });
  return vfs.zName;
}

}  // namespace jlis::store
