// The municipalities' replicas kept in step with their records (issue 11 §2: "the register's and
// the tax records' changes refresh the replicas without manual work"). For every person the
// platform knows (linkage_persons), the municipality that holds their record (for a ward, its
// designated city) provides, when it is a registered, active body:
//   RS001 世帯員数      the members of their household (municipal/household.h)
//   RS002 続柄         their relationship to the head, as the layout's code (01 世帯主, 02 妻, 03 夫,
//                      04 子, 05 父, 06 母, 07 孫, 08 兄弟姉妹, 10 同居人, 99 その他)
//   RS003 住民となった年月日
//   RS004 世帯主氏名    the head's name (left out when longer than the layout's 40 characters)
//   TX001 課税標準額, TX002 市町村民税所得割, TX003 道府県民税所得割, TX005 合計所得金額, TX006 森林環境税
//                      from the newest assessment the municipality recorded (municipal/tax.h)
//   TX004 課税区分      1 課税 (a tax is payable), 2 非課税, 3 未申告 (no assessment)
// The RS items are for residents only (moved out, abroad or deceased: withdrawn), and a municipality
// the person left has its RS items withdrawn. These items are the records' (a body's own PUT of
// them is overwritten at the next sweep); other items of the replica are left alone.
//
// A sweep goes through the persons in order of their anchor, a batch per writer transaction (the
// records read and the replica written in the same one), writing only what changed; a pass over
// everyone then starts again (ReplicaRefresher, a thread of `jlis serve`). So a change reaches the
// replica within one pass. Thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "common/background_loop.h"
#include "common/date.h"
#include "common/status.h"
#include "linkage/layouts.h"
#include "linkage/replicas.h"
#include "municipal/household.h"
#include "registry/registry.h"
#include "store/writer.h"

namespace jlis::linkage {

struct SweepStep {
  std::string cursor;     // the last person swept; "" when the pass is over
  int64_t persons = 0;    // persons looked at
  int64_t refreshed = 0;  // replicas that changed
};

class RecordReplicas {
 public:
  // Not owned; all must outlive this.
  RecordReplicas(store::Writer& writer, const DataLayouts& layouts, registry::Registry& registry,
                 municipal::Households& households)
      : writer_(writer), layouts_(layouts), registry_(registry), households_(households) {}

  // The items of the resident from the records, read on `conn` (empty when the record is not a
  // resident's and has no assessment of its municipality).
  Result<ItemValues> derive(store::Connection& conn, const registry::Resident& resident);

  // Sweeps up to `batch` persons after `cursor` ("" from the first) in one writer transaction, on
  // `today`'s layout version.
  Result<SweepStep> sweep(const std::string& cursor, int batch, Date today);

 private:
  store::Writer& writer_;
  const DataLayouts& layouts_;
  registry::Registry& registry_;
  municipal::Households& households_;
};

// Sweeps on a thread of its own until destroyed (the batch in progress finishes): the first pass
// `pause` after the start, each pass batch after batch, then `pause` before the next.
class ReplicaRefresher {
 public:
  ReplicaRefresher(RecordReplicas& replicas, std::chrono::milliseconds pause);

 private:
  std::string cursor_;  // the loop's own
  BackgroundLoop loop_;
};

}  // namespace jlis::linkage
