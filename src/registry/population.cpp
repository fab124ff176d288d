#include "registry/population.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

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

// Japan's population by ten-year age band, in millions (2020 census, rounded).
constexpr double kAgeBands[] = {9.6, 11.0, 12.3, 14.0, 18.0, 16.5, 16.0, 16.0, 9.5, 2.5};

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
    pick_band_ = std::discrete_distribution<int>(std::begin(kAgeBands), std::end(kAgeBands));
  }

  Result<PopulationReport> run() {
    if (places_.empty()) return invalid_argument("the reference data has no towns");
    PopulationReport report;
    int64_t next = 0;
    while (next < options_.count) {
      int64_t n = std::min<int64_t>(static_cast<int64_t>(options_.batch), options_.count - next);
      JLIS_RETURN_IF_ERROR(batch(next, n, report));
      next += n;
      if (options_.progress) options_.progress(report.residents, options_.count);
    }
    return report;
  }

 private:
  struct Plan {
    Person person;
    size_t place;
    bool from_abroad;
    std::string key;  // event id prefix
  };

  Status batch(int64_t first, int64_t n, PopulationReport& report) {
    std::vector<Plan> plans;
    std::vector<std::pair<LocalGovernmentCode, ChangeEvent>> events;
    for (int64_t i = 0; i < n; ++i) {
      Plan p = plan(first + i);
      ChangeEvent e;
      e.event_id = p.key + "-1";
      e.person = p.person;
      if (p.from_abroad) {
        e.type = EventType::move_in;
        e.from = "abroad";
        e.date = between(p.person.date_of_birth, today_);
      } else {
        e.type = EventType::birth;
        e.date = p.person.date_of_birth;
      }
      events.emplace_back(places_[p.place].municipality->code, std::move(e));
      plans.push_back(std::move(p));
    }
    auto first_results = registry_.submit_all(events);

    std::vector<std::pair<LocalGovernmentCode, ChangeEvent>> later;
    for (size_t i = 0; i < plans.size(); ++i) {
      if (!count(first_results[i], report)) continue;
      ++report.residents;
      life(plans[i], first_results[i]->resident, events[i].second.date, later);
    }
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

  Plan plan(int64_t index) {
    Plan p;
    p.key = "gen-" + std::to_string(options_.seed) + "-" + std::to_string(index);
    p.place = pick_place_(rng_);
    bool male = chance(0.486);
    const Name& last = pick(names_.last);
    const Name& given = pick(male ? names_.male : names_.female);
    p.person.name = last.kanji + "　" + given.kanji;
    p.person.name_kana = last.katakana + "　" + given.katakana;
    p.person.sex = male ? Sex::male : Sex::female;
    int band = pick_band_(rng_);
    int64_t age_days = static_cast<int64_t>(band * 3652.5 + uniform(0, 3652));
    p.person.date_of_birth = today_.add_days(-age_days);
    p.person.address = address(p.place);
    p.from_abroad = chance(0.02);
    return p;
  }

  // What happens after the first registration, in date order, each event from the municipality
  // that holds the person at the time.
  void life(const Plan& plan, const Resident& r, Date last, std::vector<std::pair<LocalGovernmentCode, ChangeEvent>>& out) {
    int k = 2;
    auto event = [&](EventType type, Date date) {
      ChangeEvent e;
      e.event_id = plan.key + "-" + std::to_string(k++);
      e.type = type;
      e.date = date;
      e.resident_code = r.resident_code;
      return e;
    };
    LocalGovernmentCode here = r.municipality_code;
    size_t place = plan.place;
    const Date adult = r.person.date_of_birth.add_years(18);
    if (adult >= today_) return;

    if (chance(0.15)) {  // moved to another municipality as an adult
      size_t dest = pick_place_(rng_);
      if (places_[dest].municipality->code != here) {
        Date d = between(std::max(last, adult), today_);
        ChangeEvent out_e = event(EventType::move_out, d);
        out_e.to = places_[dest].municipality->code.str();
        out.emplace_back(here, std::move(out_e));
        ChangeEvent in_e = event(EventType::move_in, d);
        in_e.from = here.str();
        in_e.address = address(dest);
        in_e.name = r.person.name;  // the destination identifies the person by the basic four
        in_e.date_of_birth = r.person.date_of_birth;
        in_e.sex = r.person.sex;
        here = places_[dest].municipality->code;
        place = dest;
        out.emplace_back(here, std::move(in_e));
        last = d;
      }
    }
    if (chance(0.05)) {  // moved within the municipality
      Date d = between(std::max(last, adult), today_);
      ChangeEvent e = event(EventType::relocation, d);
      e.address = address(place);
      out.emplace_back(here, std::move(e));
      last = d;
    }
    if (r.person.sex == Sex::female && chance(0.2)) {  // married, took the spouse's surname
      Date d = between(std::max(last, adult), today_);
      const Name& last_name = pick(names_.last);
      const std::string& given = r.person.name.substr(r.person.name.find("　") + 3);
      const std::string& given_kana = r.person.name_kana.substr(r.person.name_kana.find("　") + 3);
      ChangeEvent e = event(EventType::name_change, d);
      e.name = last_name.kanji + "　" + given;
      e.name_kana = last_name.katakana + "　" + given_kana;
      out.emplace_back(here, std::move(e));
      last = d;
    }
    int age = age_on(r.person.date_of_birth, today_);
    double death = age >= 90 ? 0.15 : age >= 80 ? 0.06 : age >= 60 ? 0.015 : 0.002;
    if (chance(death)) {
      out.emplace_back(here, event(EventType::death, between(last, today_)));
    } else if (chance(0.006)) {
      ChangeEvent e = event(EventType::move_out, between(last, today_));
      e.to = "abroad";
      e.address_abroad = "Abroad";
      out.emplace_back(here, std::move(e));
    }
  }

  std::string address(size_t place) {
    const Place& p = places_[place];
    const Town& t = *p.towns[uniform(0, static_cast<int64_t>(p.towns.size()) - 1)];
    std::string out = p.municipality->prefecture + p.municipality->name + t.name;
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
  std::discrete_distribution<int> pick_band_;
};

}  // namespace

Result<PopulationReport> generate_population(Registry& registry, const std::string& reference_dir,
                                             const PopulationOptions& options) {
  if (options.count < 0) return invalid_argument("count must not be negative");
  JLIS_ASSIGN_OR_RETURN(Names names, load_names(reference_dir));
  return Generator(registry, std::move(names), options).run();
}

}  // namespace jlis::registry
