// Internal to store/: libpq's connection, result and conninfo objects owned by std::unique_ptr.
#pragma once

#include <libpq-fe.h>

#include <memory>

namespace jlis::store::internal {

struct PqDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
  void operator()(PGresult* r) const { PQclear(r); }
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using ConnPtr = std::unique_ptr<PGconn, PqDeleter>;
using ResultPtr = std::unique_ptr<PGresult, PqDeleter>;
using ConninfoPtr = std::unique_ptr<PQconninfoOption, PqDeleter>;

}  // namespace jlis::store::internal
