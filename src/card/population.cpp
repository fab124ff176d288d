#include "card/population.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_set>

#include "card/ledger.h"
#include "common/clock.h"
#include "registry/population.h"

namespace jlis::card {
namespace {

using internal::Holder;
using internal::Stamp;
using store::Connection;

const Date kFirstCards = Date::from_ymd(2016, 1, 4).value();  // the first cards were handed over

// SplitMix64: a tiny generator, cheap to seed once per resident (a Mersenne Twister is not).
struct SplitMix64 {
  using result_type = uint64_t;
  uint64_t state;
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

enum class Outcome { none, active, suspended, lost, returned, expired, shipped, queued };

struct Tally {
  Outcome outcome = Outcome::none;
  int64_t applications = 0, rejected = 0, cards = 0;
};

// One resident's card history, told through the ledger's rules.
class Story {
 public:
  Story(Connection& conn, const Holder& h, Date today, uint64_t seed, const std::string& at, Tally& tally,
        const std::vector<CardListener>* listeners, const std::function<CardKeys(uint64_t)>& card_keys)
      : conn_(conn), h_(h), today_(today), rng_{seed}, at_(at),
        tally_(tally), listeners_(listeners), card_keys_(card_keys) {}

  Status tell(double applied_share) {
    if (!chance(applied_share)) return Status::ok();
    const bool infant = age_on(h_.date_of_birth, today_) < 1;
    const Date start = std::max(kFirstCards, h_.date_of_birth);
    Date on;
    Express express = Express::none;
    if (infant) {
      on = std::min(today_, h_.date_of_birth.add_days(uniform(3, 40)));
      express = Express::newborn;
    } else {
      const int64_t span = std::max<int64_t>(0, today_.days_since_epoch() - 10 - start.days_since_epoch());
      const double f = std::max(unit(), unit());  // more applications recently
      on = start.add_days(static_cast<int64_t>(f * static_cast<double>(span)));
      const Date first = std::max(start, on.add_days(-uniform(7, 30)));
      if (chance(0.075) && age_on(h_.date_of_birth, first) >= 1) {  // without a photo: rejected
        JLIS_RETURN_IF_ERROR(apply(first, Express::none, false).status());
      }
    }
    for (int round = 0; round < 4; ++round) {
      JLIS_ASSIGN_OR_RETURN(auto queued, apply(on, express, !infant));
      if (!queued) return internal_error("a generated application was rejected: " + rejection_);
      const bool fast = express != Express::none;
      const Date produced_on = on.add_days(fast ? uniform(1, 3) : uniform(14, 35));
      if (produced_on > today_) return end(Outcome::queued);
      JLIS_ASSIGN_OR_RETURN(std::string card_id, internal::produce(conn_, *queued, stamp(produced_on, "factory")));
      ++tally_.cards;
      const Date handed = produced_on.add_days(fast ? uniform(1, 3) : uniform(3, 40));
      if (handed > today_) return end(Outcome::shipped);
      const std::string window = "municipality:" + h_.municipality_code.str();
      std::optional<CardKeys> keys;
      if (card_keys_) keys = card_keys_(rng_());
      JLIS_ASSIGN_OR_RETURN(Card card,
                            internal::handover(conn_, card_id, h_, stamp(handed, window), keys ? &*keys : nullptr));
      const Date last = std::min(today_, card.expires_on);
      const double fate = unit();
      if (fate < 0.015) {
        JLIS_RETURN_IF_ERROR(act(card_id, CardAction::suspend, between(handed, last), "call-centre:population", ""));
        return end(card.expires_on < today_ ? Outcome::expired : Outcome::suspended);
      }
      if (fate < 0.022) {
        const Date lost_on = between(handed, last);
        JLIS_RETURN_IF_ERROR(act(card_id, CardAction::report_lost, lost_on, "call-centre:population",
                                 chance(0.2) ? "stolen" : "lost"));
        const Date again = lost_on.add_days(uniform(1, 7));
        if (!chance(0.6) || again > today_) return end(Outcome::lost);
        on = again;
        express = Express::reissue;
        continue;
      }
      if (fate < 0.025) {
        JLIS_RETURN_IF_ERROR(act(card_id, CardAction::return_, between(handed, last), window, ""));
        return end(Outcome::returned);
      }
      if (card.expires_on >= today_) return end(Outcome::active);
      if (!chance(0.9)) return end(Outcome::expired);
      on = std::max(handed, card.expires_on.add_days(-uniform(10, 85)));  // a renewal
      express = Express::none;
    }
    return end(Outcome::active);
  }

 private:
  // Applies; answers the queued application, or nullopt when it was rejected.
  Result<std::optional<internal::Queued>> apply(Date on, Express express, bool photo) {
    ApplicationRequest req;
    req.resident_code = h_.resident_code;
    req.express = express;
    req.photo = photo;
    const double c = unit();
    req.channel = c < 0.35 ? Channel::web : c < 0.6 ? Channel::post : c < 0.8 ? Channel::photo_booth : Channel::window;
    const std::string actor =
        req.channel == Channel::window ? "municipality:" + h_.municipality_code.str() : "card-centre:population";
    JLIS_ASSIGN_OR_RETURN(auto out, internal::apply(conn_, h_, req, stamp(on, actor)));
    ++tally_.applications;
    if (!out.rejection.is_ok()) {
      ++tally_.rejected;
      rejection_ = out.rejection.message();
      return std::optional<internal::Queued>();
    }
    return std::optional<internal::Queued>(internal::Queued{out.application.application_id, h_.resident_code,
                                                            h_.municipality_code, express, h_.date_of_birth, on,
                                                            std::nullopt});
  }
  Status act(const std::string& card_id, CardAction action, Date on, const std::string& actor, const std::string& note) {
    return internal::transition(conn_, card_id, action, stamp(on, actor), note).status();
  }
  Status end(Outcome o) {
    tally_.outcome = o;
    return Status::ok();
  }
  Stamp stamp(Date on, std::string actor) const { return {on, std::move(actor), at_, listeners_}; }
  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  int64_t uniform(int64_t lo, int64_t hi) {  // inclusive; the modulo bias is far below what matters here
    return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
  }
  Date between(Date a, Date b) {
    if (b <= a) return a;
    return Date::from_days(uniform(a.days_since_epoch(), b.days_since_epoch()));
  }

  Connection& conn_;
  const Holder& h_;
  Date today_;
  SplitMix64 rng_;
  const std::string& at_;
  Tally& tally_;
  const std::vector<CardListener>* listeners_;
  const std::function<CardKeys(uint64_t)>& card_keys_;
  std::string rejection_;
};

}  // namespace

// Friend of CardSystem: runs the stories on its writer, against its registry.
struct Population {
  static Result<CardPopulationReport> run(CardSystem& cards, const CardPopulationOptions& o) {
    const auto started = std::chrono::steady_clock::now();
    const Date today = cards.today();
    CardPopulationReport report;
    std::unordered_set<uint64_t> applied;
    {
      JLIS_ASSIGN_OR_RETURN(auto conn, cards.pool_.acquire());
      JLIS_RETURN_IF_ERROR(conn->query("SELECT DISTINCT resident_code FROM card_applications", {},
                                       [&](const store::Row& r) {
                                         applied.insert(static_cast<uint64_t>(r.int64(0)));
                                         return true;
                                       }));
    }
    std::vector<Holder> holders;
    std::vector<uint64_t> seeds;
    JLIS_RETURN_IF_ERROR(cards.registry_.for_each_resident(std::nullopt, [&](const registry::Resident& r) {
      if (applied.count(r.resident_code.body())) {
        ++report.skipped;
      } else {
        holders.push_back(internal::holder_of(r));
        seeds.push_back(o.seed ^ (registry::generated_identity(r.person) * 0xD1B54A32D192ED03ULL));
      }
    }));
    report.residents = static_cast<int64_t>(holders.size());
    // Rounds are pipelined: the next is queued while the writer commits the one before.
    const size_t batch = std::max<size_t>(1, o.batch);
    const std::string at = now_iso8601();
    std::vector<Tally> tallies(holders.size());
    struct Round {
      size_t begin, end;
      store::Writer::Ticket ticket;
    };
    std::deque<Round> in_flight;
    auto collect = [&] {
      Round& round = in_flight.front();
      std::vector<Status> statuses = round.ticket.wait();
      for (size_t k = 0; k < statuses.size(); ++k) {
        if (!statuses[k].is_ok()) {
          if (report.failures++ == 0) report.first_failure = statuses[k].to_string();
          continue;
        }
        add(report, tallies[round.begin + k]);
      }
      if (o.progress) o.progress(static_cast<int64_t>(round.end), report.residents);
      in_flight.pop_front();
    };
    for (size_t begin = 0; begin < holders.size(); begin += batch) {
      const size_t end = std::min(holders.size(), begin + batch);
      std::vector<store::Writer::Job> jobs;
      jobs.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) {
        jobs.push_back([&, i](Connection& conn) {
          tallies[i] = {};  // the writer may run a job twice
          return Story(conn, holders[i], today, seeds[i], at, tallies[i], &cards.listeners_, o.card_keys)
              .tell(o.applied_share);
        });
      }
      in_flight.push_back({begin, end, cards.writer_.enqueue(std::move(jobs))});
      if (in_flight.size() > 1) collect();
    }
    while (!in_flight.empty()) collect();
    cards.accepted_ += static_cast<uint64_t>(report.applications - report.rejected);
    cards.rejected_ += static_cast<uint64_t>(report.rejected);
    cards.produced_ += static_cast<uint64_t>(report.cards);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  }

  static void add(CardPopulationReport& r, const Tally& t) {
    r.applications += t.applications;
    r.rejected += t.rejected;
    r.cards += t.cards;
    if (t.outcome == Outcome::none) return;
    ++r.applicants;
    switch (t.outcome) {
      case Outcome::active: ++r.active; break;
      case Outcome::suspended: ++r.suspended; break;
      case Outcome::lost: ++r.lost; break;
      case Outcome::returned: ++r.returned; break;
      case Outcome::expired: ++r.expired; break;
      case Outcome::shipped: ++r.shipped; break;
      case Outcome::queued: ++r.queued; break;
      case Outcome::none: break;
    }
  }
};

Result<CardPopulationReport> generate_cards(CardSystem& cards, const CardPopulationOptions& options) {
  return Population::run(cards, options);
}

}  // namespace jlis::card
