#include "municipal/population.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "municipal/fuhyo.h"
#include "municipal/koseki.h"
#include "municipal/tax.h"
#include "registry/population.h"

namespace jlis::municipal {
namespace {

using registry::Resident;
using registry::Sex;

constexpr const char* kSpace = "　";

std::string family_name_of(const std::string& name) { return name.substr(0, name.find(kSpace)); }
std::string given_of(const std::string& name) {
  size_t at = name.find(kSpace);
  return at == std::string::npos ? name : name.substr(at + std::string(kSpace).size());
}

struct Name {
  std::string kanji, kana;
};

// The names the absent relatives get, taken from the population itself.
struct NamePool {
  std::vector<Name> surnames, male, female;
  std::unordered_map<std::string, std::string> kana[3];  // kanji → reading, by kind as above
};

struct Person {
  Resident resident;
  std::string relationship;  // 続柄 in the household
  Date address_set_on;
  std::string maiden_surname = {};  // for a woman living alone whose history has a marriage (name_change)
};

struct HouseholdRow {
  int64_t id = 0;
  LocalGovernmentCode municipality;
  std::vector<Person> members;  // the head first
};

// One register to make: the notice, then deaths of absent members, links of the residents, and
// perhaps one 分籍 (after the links, so the 附票 goes along).
struct RegisterPlan {
  LocalGovernmentCode by;
  OpenRegister open;
  std::vector<std::pair<int, Date>> deaths;  // member number (1-based), date of death
  std::string place;  // the 本籍 municipality's name: where births and deaths are said to happen
  std::vector<std::pair<int, const Person*>> links;
  struct Branch {
    int member = 0;
    Date date;
    LocalGovernmentCode municipality;
    std::string honseki;
  };
  std::optional<Branch> branch;
};

struct HouseholdWork {
  const HouseholdRow* household = nullptr;
  std::vector<RegisterPlan> registers;
  std::vector<TaxRecord> taxes;
  std::vector<SealCandidate> seals;
  int64_t absent = 0;
};

struct JobOutcome {
  bool skipped = false;
  int64_t registers = 0, linked = 0, seals = 0;
};

Date clamp_date(Date d, Date lo, Date hi) { return std::min(std::max(d, lo), hi); }

class Planner {
 public:
  Planner(const ReferenceData& ref, const NamePool& names, uint64_t seed, Date today)
      : ref_(ref), names_(names), seed_(seed), today_(today) {
    for (const Municipality* m : ref.resident_municipalities()) {
      auto towns = ref.towns_of(m->code);
      if (!towns.empty()) places_.push_back({m, std::move(towns)});
    }
    last_fiscal_year_ = std::min(kLastTaxYear, today.month() >= 6 ? today.year() : today.year() - 1);
  }

  HouseholdWork plan(const HouseholdRow& h) {
    // Seeded by what the seed decides about the head (resident codes come from the store's pools).
    const registry::Person& head = h.members.front().resident.person;
    rng_.seed(seed_ * 0x9E3779B97F4A7C15ull ^ registry::generated_identity(head));
    HouseholdWork w;
    w.household = &h;
    key_ = "gen-" + std::to_string(seed_) + "-k" + h.members.front().resident.resident_code.str();
    plan_registers(h, w);
    plan_taxes(h, w);
    for (const Person& p : h.members) {
      const Date adult = p.resident.person.date_of_birth.add_years(18);
      if (adult > today_ || !chance(0.7)) continue;
      w.seals.push_back({p.resident, between(std::max(adult, today_.add_years(-40)), today_),
                         key_ + "-seal-" + p.resident.resident_code.str(), impression(p.resident.person.name)});
    }
    return w;
  }

 private:
  // The seal of a surname, drawn once per surname ("" when it cannot be engraved: no seal then).
  const std::string& impression(const std::string& name) {
    auto [it, added] = impressions_.try_emplace(family_name_of(name));
    if (added) {
      auto png = generated_seal_impression(name);
      if (png.ok()) it->second = std::move(*png);
    }
    return it->second;
  }
  std::map<std::string, std::string> impressions_;

  struct Place {
    const Municipality* municipality;
    std::vector<const Town*> towns;
  };

  // ---- family registers ----

  void plan_registers(const HouseholdRow& h, HouseholdWork& w) {
    const Person& head = h.members.front();
    const Person* spouse = nullptr;
    std::vector<const Person*> children, parents, others;
    for (size_t i = 1; i < h.members.size(); ++i) {
      const Person& p = h.members[i];
      if ((p.relationship == "妻" || p.relationship == "夫") && !spouse &&
          p.resident.person.sex != head.resident.person.sex)
        spouse = &p;
      else if (p.relationship == "子") children.push_back(&p);
      else if (p.relationship == "父" || p.relationship == "母") parents.push_back(&p);
      else others.push_back(&p);
    }
    std::sort(children.begin(), children.end(), [](const Person* a, const Person* b) {
      return a->resident.person.date_of_birth < b->resident.person.date_of_birth;
    });
    const std::string surname = family_name_of(head.resident.person.name);
    // Children of the couple (or of the single parent): same surname, born when the mother was 15 to 50.
    const Person* mother = head.resident.person.sex == Sex::female ? &head
                           : spouse                                ? spouse
                                                                   : nullptr;
    std::vector<const Person*> own_children;
    for (const Person* c : children) {
      bool fits = family_name_of(c->resident.person.name) == surname &&
                  c->resident.person.date_of_birth > head.resident.person.date_of_birth.add_years(15);
      if (mother) {
        int at = age_on(mother->resident.person.date_of_birth, c->resident.person.date_of_birth);
        fits = fits && at >= 15 && at <= 50;
      }
      (fits ? own_children : others).push_back(c);
    }

    if (spouse) {
      const Person& husband = head.resident.person.sex == Sex::male ? head : *spouse;
      const Person& wife = head.resident.person.sex == Sex::male ? *spouse : head;
      plan_couple(h, w, &husband, &wife, own_children);
    } else if (!own_children.empty()) {
      plan_single_parent(h, w, head, own_children);
    } else if (!parents.empty() && family_name_of(parents.front()->resident.person.name) == surname) {
      // An unmarried head living with a parent: both in the parents' register.
      others.insert(others.begin(), &head);
    } else {
      others.insert(others.begin(), &head);
      parents.clear();  // not the head's parents by name: each on their own
      for (size_t i = 1; i < h.members.size(); ++i)
        if (h.members[i].relationship == "父" || h.members[i].relationship == "母") others.push_back(&h.members[i]);
    }
    if (!parents.empty()) {
      // The head's parents' register, with the head in it when unmarried and at home.
      std::vector<const Person*> kids;
      if (!others.empty() && others.front() == &head) {
        kids.push_back(&head);
        others.erase(others.begin());
      }
      const Person* father = nullptr;
      const Person* mom = nullptr;
      for (const Person* p : parents) (p->resident.person.sex == Sex::male ? father : mom) = p;
      plan_parents_register(h, w, father, mom, kids, surname, /*elsewhere_share=*/0.4);
    }
    for (const Person* p : others) plan_alone(h, w, *p);
  }

  // The couple's register: the husband (or, about 5 %, the wife) is 筆頭者.
  void plan_couple(const HouseholdRow& h, HouseholdWork& w, const Person* husband, const Person* wife,
                   const std::vector<const Person*>& children) {
    RegisterPlan r;
    place_register(h, w, r, 0.25);
    const bool wife_heads = chance(0.05);
    const Person* first = wife_heads ? wife : husband;
    const Person* second = wife_heads ? husband : wife;
    // Married at about 29, before the eldest child.
    Date married = wife->resident.person.date_of_birth.add_days(static_cast<int64_t>(normal(28.5, 3.5) * 365.25));
    if (!children.empty())
      married = std::min(married, children.front()->resident.person.date_of_birth.add_days(-uniform(120, 1400)));
    const Date adults = std::max(husband->resident.person.date_of_birth, wife->resident.person.date_of_birth).add_years(18);
    married = clamp_date(married, adults, today_);
    made_on(r, married, "婚姻");
    const std::string surname = family_name_of(first->resident.person.name);
    add_resident(r, *first, parents_names(surname), birth_order(first->resident.person.sex));
    add_resident(r, *second, parents_names(pick(names_.surnames).kanji), wife_heads ? "夫" : "妻");
    add_children(r, children, husband->resident.person.name, wife->resident.person.name);
    maybe_branch(h, r, children, 2);
    w.registers.push_back(std::move(r));
  }

  void plan_single_parent(const HouseholdRow& h, HouseholdWork& w, const Person& head,
                          const std::vector<const Person*>& children) {
    RegisterPlan r;
    place_register(h, w, r, 0.3);
    made_on(r, clamp_date(children.front()->resident.person.date_of_birth.add_days(uniform(0, 3650)),
                          head.resident.person.date_of_birth.add_years(18), today_),
            "離婚");
    const std::string surname = family_name_of(head.resident.person.name);
    add_resident(r, head, parents_names(surname), birth_order(head.resident.person.sex));
    // The other parent, divorced and elsewhere, is named as such but is no member.
    const bool father_heads = head.resident.person.sex == Sex::male;
    const std::string other = surname + kSpace + pick(father_heads ? names_.female : names_.male).kanji;
    add_children(r, children, father_heads ? head.resident.person.name : other,
                 father_heads ? other : head.resident.person.name);
    maybe_branch(h, r, children, 1);
    w.registers.push_back(std::move(r));
  }

  // A register of parents (present or not) with `kids` (residents) as their children.
  void plan_parents_register(const HouseholdRow& h, HouseholdWork& w, const Person* father, const Person* mother,
                             const std::vector<const Person*>& kids, const std::string& surname,
                             double elsewhere_share) {
    RegisterPlan r;
    place_register(h, w, r, elsewhere_share);
    Date eldest = kids.empty() ? today_ : kids.front()->resident.person.date_of_birth;
    Date father_born = father ? father->resident.person.date_of_birth
                      : mother ? mother->resident.person.date_of_birth.add_days(-uniform(0, 1500))
                               : eldest.add_days(-static_cast<int64_t>(normal(31, 3.5) * 365.25));
    Date mother_born = mother ? mother->resident.person.date_of_birth
                              : father_born.add_days(uniform(-400, 1800));
    const std::string father_name = father ? father->resident.person.name : surname + kSpace + pick(names_.male).kanji;
    const std::string mother_name =
        mother ? mother->resident.person.name : surname + kSpace + pick(names_.female).kanji;
    const Date married = clamp_date(mother_born.add_days(static_cast<int64_t>(normal(26, 3) * 365.25)),
                                    std::max(father_born, mother_born).add_years(18),
                                    std::min(today_, eldest));
    // Registers of couples married before the computerisation were rewritten then (平成改製).
    if (married.year() < 1996)
      made_on(r, std::max(married, Date::from_ymd(1996, 1, 1).value().add_days(uniform(0, 13 * 365))), "平成改製");
    else
      made_on(r, married, "婚姻");
    auto absent = [&](const std::string& name, Date born, Sex sex, const std::string& relationship) {
      InitialMember m;
      m.name = name;
      m.name_kana = kana_of(name, sex);
      m.date_of_birth = born;
      m.sex = sex;
      auto parents = parents_names(sex == Sex::male ? surname : pick(names_.surnames).kanji);
      m.father = parents.first;
      m.mother = parents.second;
      m.relationship = relationship;
      r.open.members.push_back(std::move(m));
      ++w.absent;
      // The absent old are mostly dead.
      const int age = age_on(born, today_);
      if (age >= 95 || (age >= 70 && chance((age - 70) / 25.0)))
        r.deaths.emplace_back(static_cast<int>(r.open.members.size()),
                              between(std::max(r.open.date, born.add_years(60)), today_));
    };
    if (father) add_resident(r, *father, parents_names(surname), birth_order(Sex::male));
    else absent(father_name, father_born, Sex::male, birth_order(Sex::male));
    if (mother) add_resident(r, *mother, parents_names(pick(names_.surnames).kanji), "妻");
    else absent(mother_name, mother_born, Sex::female, "妻");
    add_children(r, kids, father_name, mother_name);
    w.registers.push_back(std::move(r));
  }

  // Someone the household's shape does not place: by age, unmarried (the parents' register, or
  // their own after 分籍), married with the spouse elsewhere, widowed, or divorced.
  void plan_alone(const HouseholdRow& h, HouseholdWork& w, const Person& p) {
    const int age = age_on(p.resident.person.date_of_birth, today_);
    const Sex sex = p.resident.person.sex;
    const std::string surname = family_name_of(p.resident.person.name);
    const double u = real(0, 1);
    // A woman whose surname changed at marriage is married: the husband elsewhere, or dead.
    const bool took_his_name = !p.maiden_surname.empty();
    const double unmarried = took_his_name ? 0.0 : age < 18 ? 1.0 : age < 30 ? 0.9 : age < 60 ? 0.55 : 0.18;
    const double apart = took_his_name ? (age < 60 ? 1.0 : 0.25) : age < 30 ? 0.04 : age < 60 ? 0.15 : 0.05;
    const double widowed = took_his_name ? (age < 60 ? 0.0 : 0.75) : age < 60 ? 0.0 : 0.6;
    if (u < unmarried) {
      RegisterPlan* before = nullptr;
      plan_parents_register(h, w, nullptr, nullptr, {&p}, surname, 0.55);
      before = &w.registers.back();
      if (age >= 20 && chance(0.15)) {
        RegisterPlan::Branch b;
        b.member = 3;
        b.date = between(p.resident.person.date_of_birth.add_years(18), today_);
        b.date = std::max(b.date, before->open.date);
        pick_honseki(h, 0.2, b.municipality, b.honseki);
        before->branch = b;
      }
      return;
    }
    if (u < unmarried + apart + widowed) {
      // Married: the husband heads the register; the absent spouse is alive elsewhere or dead.
      const bool dead = u >= unmarried + apart;
      RegisterPlan r;
      place_register(h, w, r, 0.3);
      const Date born_other = p.resident.person.date_of_birth.add_days(
          static_cast<int64_t>((sex == Sex::female ? -1 : 1) * normal(2, 2.5) * 365.25));
      const Date married = clamp_date(p.resident.person.date_of_birth.add_days(static_cast<int64_t>(normal(28, 3.5) * 365.25)),
                                      std::max(born_other, p.resident.person.date_of_birth).add_years(18), today_);
      made_on(r, married, "婚姻");
      const std::string other = surname + kSpace + pick(sex == Sex::female ? names_.male : names_.female).kanji;
      auto absent_spouse = [&](const std::string& relationship) {
        InitialMember m;
        m.name = other;
        m.sex = sex == Sex::female ? Sex::male : Sex::female;
        m.name_kana = kana_of(other, m.sex);
        m.date_of_birth = std::min(born_other, today_.add_years(-18));
        auto parents = parents_names(m.sex == Sex::male ? surname : pick(names_.surnames).kanji);
        m.father = parents.first;
        m.mother = parents.second;
        m.relationship = relationship;
        r.open.members.push_back(std::move(m));
        ++w.absent;
        if (dead)
          r.deaths.emplace_back(static_cast<int>(r.open.members.size()),
                                between(std::max(married, m.date_of_birth.add_years(40)), today_));
      };
      if (sex == Sex::female) {
        absent_spouse(birth_order(Sex::male));
        add_resident(r, p, parents_names(took_his_name ? p.maiden_surname : pick(names_.surnames).kanji), "妻");
      } else {
        add_resident(r, p, parents_names(surname), birth_order(Sex::male));
        absent_spouse("妻");
      }
      w.registers.push_back(std::move(r));
      return;
    }
    // Divorced: a register of their own.
    RegisterPlan r;
    place_register(h, w, r, 0.35);
    made_on(r, between(p.resident.person.date_of_birth.add_years(25), today_), "離婚");
    add_resident(r, p, parents_names(surname), birth_order(sex));
    w.registers.push_back(std::move(r));
  }

  // An adult child (from member `first_child`+1 on) has left by 分籍 now and then.
  void maybe_branch(const HouseholdRow& h, RegisterPlan& r, const std::vector<const Person*>& children, int before) {
    for (size_t i = 0; i < children.size(); ++i) {
      const Date adult = children[i]->resident.person.date_of_birth.add_years(20);
      if (adult > today_ || !chance(0.06)) continue;
      RegisterPlan::Branch b;
      b.member = before + static_cast<int>(i) + 1;
      b.date = std::max(between(adult, today_), r.open.date);
      pick_honseki(h, 0.2, b.municipality, b.honseki);
      r.branch = b;
      return;
    }
  }

  void made_on(RegisterPlan& r, Date date, const char* reason) {
    r.open.date = std::min(date, today_);
    r.open.reason = reason;
  }

  // The register's 本籍: at the household's address, or (`elsewhere` of the time) in another
  // municipality, which then holds the register.
  void place_register(const HouseholdRow& h, HouseholdWork& w, RegisterPlan& r, double elsewhere) {
    r.open.event_id = key_ + "-r" + std::to_string(w.registers.size() + 1);
    pick_honseki(h, elsewhere, r.by, r.open.honseki);
    if (const Municipality* at = ref_.find(r.by)) r.place = at->prefecture + at->name;
  }

  void pick_honseki(const HouseholdRow& h, double elsewhere, LocalGovernmentCode& by, std::string& honseki) {
    if (!chance(elsewhere) || places_.empty()) {
      by = h.municipality;
      const std::string& address = h.members.front().resident.person.address;
      // 東京都千代田区丸の内一丁目1番1号 → 東京都千代田区丸の内一丁目1番; …123番地 stays.
      const size_t at = address.rfind("番");
      if (at == std::string::npos) honseki = address;
      else if (address.compare(at, std::string("番地").size(), "番地") == 0) honseki = address.substr(0, at + std::string("番地").size());
      else honseki = address.substr(0, at + std::string("番").size());
      return;
    }
    const Place& p = places_[static_cast<size_t>(uniform(0, static_cast<int64_t>(places_.size()) - 1))];
    const Town& t = *p.towns[static_cast<size_t>(uniform(0, static_cast<int64_t>(p.towns.size()) - 1))];
    by = p.municipality->code;
    honseki = p.municipality->prefecture + p.municipality->name + std::string(t.name);
    honseki += t.name.find("丁目") != std::string::npos ? std::to_string(uniform(1, 30)) + "番"
                                                      : std::to_string(uniform(1, 3000)) + "番地";
  }

  void add_resident(RegisterPlan& r, const Person& p, const std::pair<std::string, std::string>& parents,
                    const std::string& relationship) {
    InitialMember m;
    m.name = p.resident.person.name;
    m.name_kana = p.resident.person.name_kana;
    m.date_of_birth = p.resident.person.date_of_birth;
    m.sex = p.resident.person.sex;
    m.father = parents.first;
    m.mother = parents.second;
    m.relationship = relationship;
    m.resident_code = p.resident.resident_code;
    KosekiEntry birth{KosekiEntryKind::birth, m.date_of_birth};
    birth.notified_on = std::min(today_, m.date_of_birth.add_days(uniform(1, 13)));
    birth.notifier = chance(0.8) ? "父" : "母";
    birth.place = r.place;
    m.birth = birth;
    r.open.members.push_back(std::move(m));
    r.links.emplace_back(static_cast<int>(r.open.members.size()), &p);
  }

  // The children, 長男 / 長女 / 二男 … by birth order among those of the same sex (born earlier).
  void add_children(RegisterPlan& r, const std::vector<const Person*>& children, const std::string& father,
                    const std::string& mother) {
    int sons = 0, daughters = 0;
    for (const Person* c : children) {
      const bool son = c->resident.person.sex == Sex::male;
      add_resident(r, *c, {father, mother}, order_name(son ? ++sons : ++daughters, son));
    }
  }

  static std::string order_name(int n, bool son) {
    static const char* kNumbers[] = {"", "長", "二", "三", "四", "五", "六", "七", "八", "九", "十"};
    std::string out = n >= 1 && n <= 10 ? kNumbers[n] : "十";
    return out + (son ? "男" : "女");
  }
  // The 続柄 of an adult to parents absent from the population: mostly the first of their sex.
  std::string birth_order(Sex sex) {
    double u = real(0, 1);
    return order_name(u < 0.6 ? 1 : u < 0.9 ? 2 : 3, sex == Sex::male);
  }

  std::pair<std::string, std::string> parents_names(const std::string& surname) {
    return {surname + kSpace + pick(names_.male).kanji, surname + kSpace + pick(names_.female).kanji};
  }
  // The reading of a name made here: the surname's and given name's from the pool.
  std::string kana_of(const std::string& name, Sex sex) {
    auto find = [&](int kind, const std::string& kanji) -> std::string {
      auto it = names_.kana[kind].find(kanji);
      return it == names_.kana[kind].end() ? "" : it->second;
    };
    std::string s = find(0, family_name_of(name));
    std::string g = find(sex == Sex::male ? 1 : 2, given_of(name));
    if (s.empty()) s = "ヤマダ";
    if (g.empty()) g = sex == Sex::male ? "タロウ" : "ハナコ";
    return s + kSpace + g;
  }

  // ---- tax ----

  // One person's circumstances, drawn once and applied to each year by the age of that year.
  struct Earner {
    const Person* person = nullptr;
    double u_work = 0, u_side = 0, z_salary = 0, z_pension = 0, z_business = 0;
    bool wife = false;
  };

  IncomeDeclaration base_declaration(const Earner& e, int fiscal_year) {
    IncomeDeclaration d;
    d.fiscal_year = fiscal_year;
    d.age = tax_age(e.person->resident.person.date_of_birth, fiscal_year);
    const bool male = e.person->resident.person.sex == Sex::male;
    // Wages grow about 2 % a year; each year also varies a little.
    const double year = std::pow(1.02, fiscal_year - last_fiscal_year_) * (1 + 0.04 * normal(0, 1));
    auto lognormal = [](double median, double sigma, double z) { return median * std::exp(sigma * z); };
    auto yen = [](double v) { return static_cast<int64_t>(std::max(0.0, v) / 1000) * 1000; };
    const int a = d.age;
    if (a < 18) return d;
    if (a >= 65) {
      d.pension_revenue = yen(lognormal(male ? 1'900'000 : 1'100'000, 0.3, e.z_pension) * year);
      if (a < 75 && e.u_side < (male ? 0.3 : 0.2)) d.salary_revenue = yen(lognormal(2'000'000, 0.5, e.z_salary) * year);
      else if (e.u_side > 0.92) d.business_income = yen(lognormal(1'500'000, 0.7, e.z_business) * year);
      d.social_insurance_premiums = yen(0.09 * static_cast<double>(d.pension_revenue) +
                                        0.15 * static_cast<double>(d.salary_revenue) +
                                        0.12 * static_cast<double>(d.business_income));
      return d;
    }
    // Full-time salaries by age (median, yen a year), women's about 72 % of men's.
    const double median = a < 23 ? 2'400'000 : a < 30 ? 3'600'000 : a < 40 ? 4'800'000 : a < 50 ? 5'600'000
                        : a < 60 ? 6'200'000 : 4'200'000;
    double full = 0, part = 0, business = 0, none = 0;
    if (a < 23) { full = 0.4; part = 0.4; none = 0.2; }
    else if (male) { full = 0.88; business = 0.08; none = 0.04; }
    else if (e.wife) { full = 0.3; part = 0.4; business = 0.05; none = 0.25; }
    else { full = 0.6; part = 0.22; business = 0.05; none = 0.13; }
    (void)none;
    const double u = e.u_work;
    if (u < full) d.salary_revenue = yen(lognormal(median * (male ? 1.0 : 0.72), 0.35, e.z_salary) * year);
    else if (u < full + part) d.salary_revenue = yen((300'000 + 1'000'000 * (0.5 + 0.5 * std::tanh(e.z_salary))) * year);
    else if (u < full + part + business) d.business_income = yen(lognormal(2'500'000, 0.7, e.z_business) * year);
    d.social_insurance_premiums =
        yen(0.15 * static_cast<double>(d.salary_revenue) +
            (d.business_income > 0 ? 200'000 + 0.1 * static_cast<double>(d.business_income) : 0.0));
    return d;
  }

  void plan_taxes(const HouseholdRow& h, HouseholdWork& w) {
    std::vector<Earner> earners;
    for (const Person& p : h.members) {
      Earner e;
      e.person = &p;
      e.u_work = real(0, 1);
      e.u_side = real(0, 1);
      e.z_salary = normal(0, 1);
      e.z_pension = normal(0, 1);
      e.z_business = normal(0, 1);
      e.wife = p.relationship == "妻" ||
               (p.relationship == "世帯主" && p.resident.person.sex == Sex::female &&
                std::any_of(h.members.begin(), h.members.end(), [](const Person& o) { return o.relationship == "夫"; }));
      earners.push_back(e);
    }
    const bool designated = is_designated_city(h.municipality);
    for (int fy = std::max(kFirstTaxYear, last_fiscal_year_ - 2); fy <= last_fiscal_year_; ++fy) {
      std::vector<IncomeDeclaration> own;
      std::vector<int64_t> income;
      for (const Earner& e : earners) {
        own.push_back(base_declaration(e, fy));
        auto a = assess(own.back(), designated);
        income.push_back(a.ok() ? a->total_income : 0);
      }
      // The main earner of the head and the spouse claims the spouse and the others.
      size_t main = 0;
      std::optional<size_t> spouse;
      for (size_t i = 1; i < earners.size(); ++i)
        if (earners[i].person->relationship == "妻" || earners[i].person->relationship == "夫") spouse = i;
      if (spouse && income[*spouse] > income[0]) std::swap(main, *spouse);
      for (size_t i = 0; i < earners.size(); ++i) {
        if (i == main || (spouse && i == *spouse)) continue;
        const int age = tax_age(earners[i].person->resident.person.date_of_birth, fy);
        if (age < 0) continue;
        const std::string& rel = earners[i].person->relationship;
        own[main].dependants.push_back({age, income[i], rel == "父" || rel == "母"});
      }
      if (spouse)
        own[main].spouse = Spouse{tax_age(earners[*spouse].person->resident.person.date_of_birth, fy), income[*spouse]};
      for (size_t i = 0; i < earners.size(); ++i) {
        if (own[i].age < 18) continue;
        auto a = assess(own[i], designated);
        if (!a.ok()) continue;
        TaxRecord rec;
        rec.resident_code = earners[i].person->resident.resident_code;
        rec.fiscal_year = fy;
        rec.municipality_code = h.municipality;
        rec.declaration = own[i];
        rec.assessment = *a;
        w.taxes.push_back(std::move(rec));
      }
    }
  }

  // ---- randomness ----
  Date between(Date a, Date b) {
    if (b <= a) return std::min(a, today_);
    return a.add_days(uniform(0, b.days_since_epoch() - a.days_since_epoch()));
  }
  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  double normal(double mean, double sd) { return std::normal_distribution<double>(mean, sd)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(std::clamp(p, 0.0, 1.0))(rng_); }
  const Name& pick(const std::vector<Name>& v) {
    return v[static_cast<size_t>(uniform(0, static_cast<int64_t>(v.size()) - 1))];
  }

  const ReferenceData& ref_;
  const NamePool& names_;
  uint64_t seed_;
  Date today_;
  int last_fiscal_year_ = kLastTaxYear;
  std::vector<Place> places_;
  std::mt19937_64 rng_;
  std::string key_;
};

// The household's writer job: its registers, links, deaths, 分籍, tax records and seals.
Status apply_work(store::Connection& conn, const HouseholdWork& w, const MunicipalPopulationOptions& options,
                  JobOutcome& out) {
  out = {};
  JLIS_ASSIGN_OR_RETURN(auto already, Koseki::find_by_resident(conn, w.household->members.front().resident.resident_code));
  if (already) {
    out.skipped = true;
    return Status::ok();
  }
  for (const RegisterPlan& r : w.registers) {
    JLIS_ASSIGN_OR_RETURN(KosekiOutcome made, Koseki::open_register(conn, r.by, r.open));
    ++out.registers;
    const int64_t id = made.ref.register_id;
    for (const auto& [member, date] : r.deaths) {
      DeathNotice d;
      d.event_id = r.open.event_id + "-d" + std::to_string(member);
      d.member = {id, member};
      d.date = date;
      d.place = r.place;
      d.notified_on = std::min(Date::today(), date.add_days(3));
      d.notifier = "親族";
      JLIS_RETURN_IF_ERROR(Koseki::death(conn, r.by, d).status());
    }
    for (const auto& [member, person] : r.links) {
      LinkNotice l;
      l.event_id = r.open.event_id + "-l" + std::to_string(member);
      l.member = {id, member};
      l.resident = person->resident;
      l.since = person->address_set_on;
      JLIS_RETURN_IF_ERROR(Fuhyo::link(conn, r.by, l).status());
      ++out.linked;
    }
    if (r.branch) {
      BranchNotice b;
      b.event_id = r.open.event_id + "-b";
      b.member = {id, r.branch->member};
      b.date = r.branch->date;
      b.municipality = r.branch->municipality;
      b.honseki = r.branch->honseki;
      JLIS_RETURN_IF_ERROR(Koseki::branch(conn, r.by, b).status());
      ++out.registers;
    }
  }
  for (const TaxRecord& t : w.taxes) JLIS_RETURN_IF_ERROR(TaxRecords::record(conn, t));
  if (options.seals)
    for (const SealCandidate& s : w.seals) {
      if (s.impression_png.empty()) continue;
      JLIS_RETURN_IF_ERROR(options.seals
                               ->register_seal_in(conn, s.resident.municipality_code,
                                                  {s.event_id, s.resident.resident_code, s.impression_png, false},
                                                  s.registered_on)
                               .status());
      ++out.seals;
    }
  return Status::ok();
}

}  // namespace

Result<MunicipalPopulationReport> generate_municipal_records(store::Pool& pool, store::Writer& writer,
                                                             registry::Registry& registry,
                                                             const MunicipalPopulationOptions& options) {
  // Every resident, and the households they form.
  std::unordered_map<uint64_t, Resident> residents;
  NamePool names;
  {
    std::set<std::string> seen[3];
    auto add = [&](int kind, const std::string& kanji, const std::string& kana) {
      std::vector<Name>& to = kind == 0 ? names.surnames : kind == 1 ? names.male : names.female;
      if (kanji.empty() || kana.empty() || !seen[kind].insert(kanji).second) return;
      to.push_back({kanji, kana});
      names.kana[kind].emplace(kanji, kana);
    };
    JLIS_RETURN_IF_ERROR(registry.for_each_resident(std::nullopt, [&](const Resident& r) {
      add(0, family_name_of(r.person.name), family_name_of(r.person.name_kana));
      add(r.person.sex == Sex::male ? 1 : 2, given_of(r.person.name), given_of(r.person.name_kana));
      residents.emplace(r.resident_code.body(), r);
    }));
  }
  for (auto* v : {&names.surnames, &names.male, &names.female})  // an order the store does not decide
    std::sort(v->begin(), v->end(), [](const Name& a, const Name& b) { return a.kanji < b.kanji; });
  MunicipalPopulationReport report;
  if (names.surnames.empty() || names.male.empty() || names.female.empty()) return report;

  std::vector<HouseholdRow> households;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
    Status s = conn->query(
        "SELECT h.id, h.municipality_code, m.resident_code, m.relationship, m.address_set_on, "
        "CASE WHEN m.resident_code = h.head THEN 0 ELSE 1 END AS not_head "
        "FROM municipal_households h JOIN municipal_household_members m ON m.household_id = h.id "
        "WHERE h.dissolved_on IS NULL ORDER BY h.id, not_head, m.position",
        {}, [&](const store::Row& row) {
          auto it = residents.find(static_cast<uint64_t>(row.int64(2)));
          if (it == residents.end()) return true;  // not a resident now
          if (households.empty() || households.back().id != row.int64(0)) {
            households.emplace_back();
            households.back().id = row.int64(0);
            households.back().municipality = LocalGovernmentCode::parse(row.text(1)).value();
          }
          auto set_on = Date::parse_iso(row.text(4));
          households.back().members.push_back(
              {it->second, row.text(3), set_on.ok() ? *set_on : it->second.person.date_of_birth});
          return true;
        });
    JLIS_RETURN_IF_ERROR(s);
  }
  // A woman living alone who married (her surname changed) keeps her maiden surname for the register.
  for (HouseholdRow& h : households) {
    Person& p = h.members.front();
    if (h.members.size() != 1 || p.resident.person.sex != Sex::female) continue;
    JLIS_ASSIGN_OR_RETURN(auto history, registry.history(p.resident.resident_code));
    if (history.empty() ||
        std::none_of(history.begin(), history.end(),
                     [](const registry::HistoryEntry& e) { return e.type == registry::EventType::name_change; }))
      continue;
    auto first = registry::resident_from_json(nlohmann::json::parse(history.front().resident_json, nullptr, false));
    if (first.ok() && family_name_of(first->person.name) != family_name_of(p.resident.person.name))
      p.maiden_surname = family_name_of(first->person.name);
  }
  // A household whose head is not among its residents (should not happen) is left out.
  std::erase_if(households, [](const HouseholdRow& h) { return h.members.front().relationship != "世帯主"; });

  Planner planner(registry.reference(), names, options.seed, Date::today());
  // Each round is planned while the writer applies the one before.
  struct Round {
    size_t last = 0;
    std::vector<HouseholdWork> work;
    std::vector<JobOutcome> outcomes;
    store::Writer::Ticket ticket;
  };
  auto collect = [&](Round& round) {
    std::vector<Status> statuses = round.ticket.wait();
    for (size_t i = 0; i < round.work.size(); ++i) {
      const HouseholdWork& w = round.work[i];
      const JobOutcome& o = round.outcomes[i];
      ++report.households;
      if (!statuses[i].is_ok()) {
        if (report.failures++ == 0) report.first_failure = statuses[i].to_string();
        continue;
      }
      if (o.skipped) {
        ++report.skipped;
        continue;
      }
      report.registers += o.registers;
      report.linked += o.linked;
      report.absent_members += w.absent;
      report.tax_records += static_cast<int64_t>(w.taxes.size());
      report.seal_candidates += static_cast<int64_t>(w.seals.size());
      report.seals += o.seals;
      for (const RegisterPlan& r : w.registers)
        if (r.by != w.household->municipality) report.honseki_elsewhere += static_cast<int64_t>(r.links.size());
    }
    if (options.progress) options.progress(static_cast<int64_t>(round.last), static_cast<int64_t>(households.size()));
  };
  const size_t batch = std::max<size_t>(1, options.batch);
  std::unique_ptr<Round> pending;
  for (size_t first = 0; first < households.size(); first += batch) {
    auto round = std::make_unique<Round>();
    round->last = std::min(households.size(), first + batch);
    round->work.reserve(round->last - first);
    for (size_t i = first; i < round->last; ++i) round->work.push_back(planner.plan(households[i]));
    round->outcomes.resize(round->work.size());
    std::vector<store::Writer::Job> jobs;
    for (size_t i = 0; i < round->work.size(); ++i)
      jobs.push_back([&options, r = round.get(), i](store::Connection& conn) {
        return apply_work(conn, r->work[i], options, r->outcomes[i]);
      });
    round->ticket = writer.enqueue(std::move(jobs));
    if (pending) collect(*pending);
    pending = std::move(round);
  }
  if (pending) collect(*pending);
  return report;
}

}  // namespace jlis::municipal
