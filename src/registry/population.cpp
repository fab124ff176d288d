#include "registry/population.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "common/digest.h"

namespace jlis::registry {

Result<Names> load_names(const std::string& dir) {
  std::ifstream in(dir + "/names.csv");
  if (!in) return invalid_argument("cannot read " + dir + "/names.csv");
  Names names;
  std::string line;
  std::getline(in, line);  // header: kind,kanji,hiragana,katakana,romaji
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
    if (f.size() < 4) continue;
    Name n{f[1], f[3]};
    if (f[0] == "last_name") names.last.push_back(n);
    else if (f[0] == "first_name_male") names.male.push_back(n);
    else if (f[0] == "first_name_female") names.female.push_back(n);
  }
  if (names.last.empty() || names.male.empty() || names.female.empty())
    return invalid_argument(dir + "/names.csv has no names of some kind");
  return names;
}

namespace {

// People per municipality, by type: roughly Japan's 125 M spread over its 1,741 municipalities
// (wards of designated cities ~150 k, Tokyo's special wards ~400 k, cities ~80 k, towns ~12 k,
// villages ~3 k), scaled by how many towns the municipality has relative to others of its type.
double weight_of(const Municipality& m, size_t towns, double median_towns) {
  double base = m.type == "特別区" ? 400e3 : m.type == "行政区" ? 150e3 : m.type == "市" ? 80e3
              : m.type == "町" ? 12e3 : 3e3;
  double scale = std::sqrt(static_cast<double>(towns) / std::max(1.0, median_towns));
  return base * std::clamp(scale, 0.4, 2.5);
}

struct Place {
  const Municipality* municipality;
  std::vector<const Town*> towns;
};

// Japan's population by ten-year age band, in millions (2020 census, rounded). People are made in
// households, so these are not drawn directly: the household compositions below (who lives with whom
// at what age) were calibrated so that the people they make fall in these bands within about two
// points each (the census also counts people in institutions, which households do not hold).
[[maybe_unused]] constexpr double kAgeBands[] = {9.6, 11.0, 12.3, 14.0, 18.0, 16.5, 16.0, 16.0, 9.5, 2.5};

// Households by number of members (2020 census, general households: 1: 38 %, 2: 28 %, 3: 16 %,
// 4: 13 %, 5 and more: 5 %, about 2.2 people per household), the 5+ split into 5 and 6.
constexpr double kHouseholdSizes[] = {38, 28, 16, 13, 3.6, 1.4};
// The age of a person living alone, of a wife in a couple without children at home, by ten-year
// band (the 10s band holds only 18 and 19), and of the eldest child living with a parent by
// five-year band.
constexpr double kSingleAges[] = {0, 0.025, 0.15, 0.10, 0.11, 0.12, 0.14, 0.17, 0.14, 0.03};
constexpr double kCoupleAges[] = {0, 0, 0.03, 0.04, 0.05, 0.12, 0.26, 0.32, 0.16, 0.02};
constexpr double kEldestChildAges[] = {0.9, 1.0, 1.0, 1.0, 0.85, 0.7, 0.6, 0.45, 0.25, 0.12};

constexpr double kYear = 365.25;

class Generator {
 public:
  Generator(Registry& registry, Names names, const PopulationOptions& options)
      : registry_(registry), names_(std::move(names)), options_(options), rng_(options.seed),
        today_(Date::today()) {
    const ReferenceData& ref = registry.reference();
    std::map<std::string, std::vector<size_t>> towns_by_type;
    for (const Municipality* m : ref.resident_municipalities()) {
      auto towns = ref.towns_of(m->code);
      if (towns.empty()) continue;  // renamed since the town data was made: no addresses to give
      towns_by_type[m->type].push_back(towns.size());
      places_.push_back({m, std::move(towns)});
    }
    std::map<std::string, double> median;
    for (auto& [type, sizes] : towns_by_type) {
      std::nth_element(sizes.begin(), sizes.begin() + sizes.size() / 2, sizes.end());
      median[type] = static_cast<double>(sizes[sizes.size() / 2]);
    }
    std::vector<double> weights;
    for (const auto& p : places_)
      weights.push_back(weight_of(*p.municipality, p.towns.size(), median[p.municipality->type]));
    pick_place_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  }

  Result<PopulationReport> run() {
    if (places_.empty()) return invalid_argument("the reference data has no towns");
    PopulationReport report;
    int64_t next = 0;
    while (next < options_.count) {
      // Whole households per round, about `batch` people.
      std::vector<HouseholdPlan> households;
      int64_t people = 0;
      while (next + people < options_.count && people < static_cast<int64_t>(std::max<size_t>(1, options_.batch))) {
        households.push_back(plan_household(next + people, options_.count - next - people));
        people += static_cast<int64_t>(households.back().members.size());
      }
      JLIS_RETURN_IF_ERROR(batch(households, report));
      next += people;
      if (options_.progress) options_.progress(report.residents, options_.count);
      // A bulk load was rolled back by its first refusal: every later event would be refused too.
      if (options_.bulk && report.refused > 0) break;
    }
    return report;
  }

 private:
  struct MemberPlan {
    Person person;
    std::string relationship;  // 続柄 to the head; kHeadRelationship for the head
    bool from_abroad = false;
    Date first;                // the day of the first registration
    std::string key;           // event id prefix
    std::optional<ResidentCode> code;  // once registered
    int next_event = 2;
  };
  struct HouseholdPlan {
    size_t place = 0;
    std::vector<MemberPlan> members;  // the head first
  };
  static constexpr const char* kHeadRelationship = "世帯主";

  double years_in_band(const double* weights, size_t n, double width, double floor) {
    int b = std::discrete_distribution<int>(weights, weights + n)(rng_);
    double lo = std::max(floor, b * width), hi = b * width + width;
    if (b == 9 && width == 10) hi = 100;  // 90 and over
    return hi > lo ? std::uniform_real_distribution<double>(lo, hi)(rng_) : lo;
  }
  double normal(double mean, double sd) { return std::normal_distribution<double>(mean, sd)(rng_); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

  // The ages of k children living with their mother, eldest first, and the mother's age: the mother
  // was 20 to 42 at each birth, the children at least a year apart.
  std::pair<double, std::vector<double>> children_ages(int k) {
    double eldest = 0;
    do eldest = years_in_band(kEldestChildAges, std::size(kEldestChildAges), 5, 0);
    while (eldest < (k - 1) * 1.2);
    const double first_birth = std::clamp(normal(29.5, 4), 20.0, 42.0 - 1.5 * (k - 1));
    double mother_at = first_birth;
    std::vector<double> ages{eldest};
    for (int i = 1; i < k; ++i) {
      double room = std::min(ages.back(), 42.0 - mother_at) / (k - i);
      double gap = real(1.0, std::max(1.0001, std::min(5.0, room)));
      ages.push_back(std::max(0.0, ages.back() - gap));
      mother_at += gap;
    }
    return {first_birth + eldest, ages};
  }

  // Who lives in the household and how old they are: {sex, age, relationship}, the head first.
  struct Draft {
    Sex sex;
    double age;
    std::string relationship;
  };
  std::vector<Draft> compose() {
    const int size = 1 + std::discrete_distribution<int>(std::begin(kHouseholdSizes), std::end(kHouseholdSizes))(rng_);
    const double r = real(0, 1);
    std::vector<Draft> out;
    // A couple: the wife `wife` years old, the husband about two years older; the husband heads the
    // household, or in about one case in sixteen the wife.
    auto couple = [&](double wife) {
      double husband = std::max(18.0, wife + std::clamp(normal(2, 3), -3.0, 10.0));
      if (chance(0.06)) {
        out.push_back({Sex::female, wife, kHeadRelationship});
        out.push_back({Sex::male, husband, "夫"});
      } else {
        out.push_back({Sex::male, husband, kHeadRelationship});
        out.push_back({Sex::female, wife, "妻"});
      }
    };
    auto kids = [&](const std::vector<double>& ages) {
      for (double a : ages) out.push_back({chance(0.512) ? Sex::male : Sex::female, a, "子"});
    };
    // A parent of the head, 24 to 36 years older, when that is still a plausible age.
    auto parent = [&](Sex sex) {
      double age = out.front().age + real(24, 36);
      if (age < 100) out.push_back({sex, age, sex == Sex::male ? "父" : "母"});
    };
    auto couple_with_children = [&](int k) {
      auto [mother, ages] = children_ages(k);
      couple(mother);
      kids(ages);
    };
    auto single_parent = [&](int k) {
      auto [mother, ages] = children_ages(k);
      if (chance(0.15)) out.push_back({Sex::male, mother + std::max(0.0, normal(2, 3)), kHeadRelationship});
      else out.push_back({Sex::female, mother, kHeadRelationship});
      kids(ages);
    };
    auto elderly_parent = [&]() { parent(chance(0.3) ? Sex::male : Sex::female); };
    switch (size) {
      case 1: {
        double age = years_in_band(kSingleAges, std::size(kSingleAges), 10, 18);
        // Living alone when old is mostly a widow's life; when young, slightly more often a man's.
        bool male = chance(age >= 65 ? 0.35 : 0.55);
        out.push_back({male ? Sex::male : Sex::female, age, kHeadRelationship});
        break;
      }
      case 2:
        if (r < 0.60) couple(years_in_band(kCoupleAges, std::size(kCoupleAges), 10, 18));
        else if (r < 0.85) single_parent(1);
        else {
          out.push_back({chance(0.5) ? Sex::male : Sex::female, real(35, 68), kHeadRelationship});
          elderly_parent();
        }
        break;
      case 3:
        if (r < 0.72) couple_with_children(1);
        else if (r < 0.85) single_parent(2);
        else {
          couple(years_in_band(kCoupleAges, 7, 10, 18));
          elderly_parent();
        }
        break;
      case 4:
        if (r < 0.85) couple_with_children(2);
        else if (r < 0.92) single_parent(3);
        else {
          couple_with_children(1);
          elderly_parent();
        }
        break;
      case 5:
        couple_with_children(r < 0.55 ? 3 : 2);
        if (r >= 0.55) elderly_parent();
        break;
      default:
        couple_with_children(r < 0.5 ? 3 : 2);
        if (r < 0.5) elderly_parent();
        else {
          parent(Sex::male);
          parent(Sex::female);
        }
    }
    return out;
  }

  // Plans a household of at most `room` people (the last one is cut to make `count` exactly), its
  // members numbered from `first`.
  HouseholdPlan plan_household(int64_t first, int64_t room) {
    HouseholdPlan h;
    h.place = pick_place_(rng_);
    std::vector<Draft> drafts = compose();
    if (static_cast<int64_t>(drafts.size()) > room) drafts.resize(static_cast<size_t>(room));
    const Name& last = pick(names_.last);
    const std::string address = this->address(h.place);
    for (size_t i = 0; i < drafts.size(); ++i) {
      const Draft& d = drafts[i];
      MemberPlan m;
      m.key = "gen-" + std::to_string(options_.seed) + "-" + std::to_string(first + static_cast<int64_t>(i));
      const Name& given = pick(d.sex == Sex::male ? names_.male : names_.female);
      m.person.name = last.kanji + "　" + given.kanji;
      m.person.name_kana = last.katakana + "　" + given.katakana;
      m.person.sex = d.sex;
      m.person.date_of_birth = today_.add_days(-static_cast<int64_t>(d.age * kYear));
      m.person.address = address;
      m.relationship = d.relationship;
      m.from_abroad = chance(0.02);
      m.first = m.from_abroad ? between(m.person.date_of_birth, today_) : m.person.date_of_birth;
      h.members.push_back(std::move(m));
    }
    return h;
  }

  using Events = std::vector<std::pair<LocalGovernmentCode, ChangeEvent>>;

  ChangeEvent first_event(const MemberPlan& m) {
    ChangeEvent e;
    e.event_id = m.key + "-1";
    e.person = m.person;
    e.date = m.first;
    if (m.from_abroad) {
      e.type = EventType::move_in;
      e.from = "abroad";
    } else {
      e.type = EventType::birth;
    }
    return e;
  }

  // Round 1 registers the heads; round 2 the other members, placed in the head's household (which
  // needs the head's resident code); round 3 their lives, each household's events in date order.
  Status batch(std::vector<HouseholdPlan>& households, PopulationReport& report) {
    Events heads;
    for (const HouseholdPlan& h : households) {
      ChangeEvent e = first_event(h.members.front());
      e.household = HouseholdPlacement{std::nullopt, kHeadRelationship};
      heads.emplace_back(places_[h.place].municipality->code, std::move(e));
    }
    auto head_results = registry_.submit_all(heads);
    Events members;
    std::vector<MemberPlan*> whose;
    for (size_t i = 0; i < households.size(); ++i) {
      HouseholdPlan& h = households[i];
      if (!count(head_results[i], report)) continue;
      ++report.residents;
      ++report.households;
      h.members.front().code = head_results[i]->resident.resident_code;
      for (size_t k = 1; k < h.members.size(); ++k) {
        ChangeEvent e = first_event(h.members[k]);
        e.household = HouseholdPlacement{h.members.front().code, h.members[k].relationship};
        members.emplace_back(places_[h.place].municipality->code, std::move(e));
        whose.push_back(&h.members[k]);
      }
    }
    auto member_results = registry_.submit_all(members);
    for (size_t i = 0; i < members.size(); ++i) {
      if (!count(member_results[i], report)) continue;
      ++report.residents;
      whose[i]->code = member_results[i]->resident.resident_code;
    }
    Events later;
    for (HouseholdPlan& h : households)
      if (h.members.front().code) life(h, later);
    for (auto& r : registry_.submit_all(later)) count(r, report);
    return Status::ok();
  }

  bool count(const Result<Applied>& r, PopulationReport& report) {
    if (r.ok()) {
      ++report.events;
      return true;
    }
    if (report.refused++ == 0) report.first_refusal = r.status().to_string();
    return false;
  }

  // What happens to the household after the first registrations, in date order, each event from the
  // municipality that holds the person at the time: a marriage of a woman living alone (she takes
  // her husband's surname; couples in the plan already share theirs), the household's move to
  // another municipality (together: each member's move-out, then the head's move-in and the others'
  // joining the head's new household) or within it, then each member's death or move abroad (the
  // household register hands a household whose head leaves to the successor).
  void life(HouseholdPlan& h, Events& out) {
    std::vector<MemberPlan*> present;
    for (MemberPlan& m : h.members)
      if (m.code) present.push_back(&m);
    MemberPlan& head = *present.front();
    auto event = [&](MemberPlan& m, EventType type, Date date) {
      ChangeEvent e;
      e.event_id = m.key + "-" + std::to_string(m.next_event++);
      e.type = type;
      e.date = date;
      e.resident_code = m.code;
      return e;
    };
    LocalGovernmentCode here = places_[h.place].municipality->code;
    size_t place = h.place;
    Date last = today_.add_years(-200);
    for (const MemberPlan* m : present) last = std::max(last, m->first);
    const Date adult = head.person.date_of_birth.add_years(18);
    if (adult < today_) {
      if (present.size() == 1 && head.person.sex == Sex::female &&
          head.person.date_of_birth.add_years(20) <= today_ && chance(0.25)) {
        // Married at 20 to 35 (so an old woman living alone is mostly a widow with her married name).
        Date d = between(std::max(last, head.person.date_of_birth.add_years(20)),
                         std::min(today_, head.person.date_of_birth.add_years(35)));
        const Name& last_name = pick(names_.last);
        const std::string given = head.person.name.substr(head.person.name.find("　") + 3);
        const std::string given_kana = head.person.name_kana.substr(head.person.name_kana.find("　") + 3);
        ChangeEvent e = event(head, EventType::name_change, d);
        head.person.name = last_name.kanji + "　" + given;
        head.person.name_kana = last_name.katakana + "　" + given_kana;
        e.name = head.person.name;
        e.name_kana = head.person.name_kana;
        out.emplace_back(here, std::move(e));
        last = d;
      }
      if (chance(0.15)) {  // the household moved to another municipality
        size_t dest = pick_place_(rng_);
        if (places_[dest].municipality->code != here) {
          Date d = between(std::max(last, adult), today_);
          const LocalGovernmentCode to = places_[dest].municipality->code;
          const std::string new_address = address(dest);
          for (MemberPlan* m : present) {
            ChangeEvent e = event(*m, EventType::move_out, d);
            e.to = to.str();
            out.emplace_back(here, std::move(e));
          }
          for (MemberPlan* m : present) {
            ChangeEvent e = event(*m, EventType::move_in, d);
            e.from = here.str();
            e.address = new_address;
            e.name = m->person.name;  // the destination identifies the person by the basic four
            e.date_of_birth = m->person.date_of_birth;
            e.sex = m->person.sex;
            if (m != &head) e.household = HouseholdPlacement{head.code, m->relationship};
            m->person.address = new_address;
            out.emplace_back(to, std::move(e));
          }
          here = to;
          place = dest;
          last = d;
        }
      }
      if (chance(0.05)) {  // moved within the municipality, together
        Date d = between(std::max(last, adult), today_);
        const std::string new_address = address(place);
        for (MemberPlan* m : present) {
          ChangeEvent e = event(*m, EventType::relocation, d);
          e.address = new_address;
          if (m != &head) e.household = HouseholdPlacement{head.code, m->relationship};
          m->person.address = new_address;
          out.emplace_back(here, std::move(e));
        }
        last = d;
      }
    }
    for (MemberPlan* m : present) {
      int age = age_on(m->person.date_of_birth, today_);
      double death = age >= 90 ? 0.15 : age >= 80 ? 0.06 : age >= 60 ? 0.015 : 0.002;
      if (chance(death)) {
        out.emplace_back(here, event(*m, EventType::death, between(last, today_)));
      } else if (age >= 18 && chance(0.006)) {
        ChangeEvent e = event(*m, EventType::move_out, between(last, today_));
        e.to = "abroad";
        e.address_abroad = "Abroad";
        out.emplace_back(here, std::move(e));
      }
    }
  }

  std::string address(size_t place) {
    const Place& p = places_[place];
    const Town& t = *p.towns[uniform(0, static_cast<int64_t>(p.towns.size()) - 1)];
    std::string out = p.municipality->prefecture + p.municipality->name + std::string(t.name);
    if (t.name.find("丁目") != std::string::npos)
      out += std::to_string(uniform(1, 30)) + "番" + std::to_string(uniform(1, 20)) + "号";
    else
      out += std::to_string(uniform(1, 3000)) + "番地";
    return out;
  }

  Date between(Date a, Date b) {
    if (b <= a) return a;
    return a.add_days(uniform(0, b.days_since_epoch() - a.days_since_epoch()));
  }
  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  const Name& pick(const std::vector<Name>& v) { return v[uniform(0, static_cast<int64_t>(v.size()) - 1)]; }

  Registry& registry_;
  Names names_;
  const PopulationOptions& options_;
  std::mt19937_64 rng_;
  Date today_;
  std::vector<Place> places_;
  std::discrete_distribution<size_t> pick_place_;
};

}  // namespace

uint64_t generated_identity(const Person& p) {
  return fnv1a(p.name + "|" + p.date_of_birth.to_iso() + "|" + p.address);
}

Result<PopulationReport> generate_population(Registry& registry, const std::string& reference_dir,
                                             const PopulationOptions& options) {
  if (options.count < 0) return invalid_argument("count must not be negative");
  JLIS_ASSIGN_OR_RETURN(Names names, load_names(reference_dir));
  if (!options.bulk) return Generator(registry, std::move(names), options).run();
  JLIS_ASSIGN_OR_RETURN(auto load, registry.begin_bulk_load());
  auto report = Generator(registry, std::move(names), options).run();
  if (!report.ok()) return report;  // `load` rolls back
  if (report->refused > 0) {
    JLIS_RETURN_IF_ERROR(load->abandon());
    PopulationReport none;
    none.refused = report->refused;
    none.first_refusal = report->first_refusal;
    none.rolled_back = true;
    return none;
  }
  JLIS_RETURN_IF_ERROR(load->finish());
  return report;
}

}  // namespace jlis::registry
