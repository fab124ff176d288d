// Sample certificate documents, a municipality's issuance key, and the PDF tools the document tests
// read the rendered files with (poppler-utils, zbar-tools), run through popen.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "municipal/document.h"
#include "municipal/seal_image.h"
#include "pki/openssl.h"

namespace jlis::municipal::testing {

// A fresh EC P-256 key (an issuance key).
inline pki::EvpPkeyPtr p256_key() {
  pki::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  EXPECT_TRUE(key != nullptr);
  return key;
}

inline Date date(int y, int m, int d) { return Date::from_ymd(y, m, d).value(); }

inline Issuer chiyoda() {
  Issuer issuer;
  issuer.code = LocalGovernmentCode::parse("131016").value();
  issuer.name = "千代田区";
  issuer.mayor_title = "千代田区長";
  issuer.mayor_name = "樋口　高顕";
  return issuer;
}

// 住民票の写し of one person, as a field table, with 以下余白.
inline Document juminhyo() {
  Document d;
  d.title = "住民票の写し";
  d.issuer = chiyoda();
  d.issued_on = date(2025, 12, 2);
  d.issuance_number = "131016-2025-0012345";
  d.certification = "この写しは、住民票の原本と相違ないことを証明する。";
  d.subject = "山田　花子";
  FieldTable person;
  person.rows = {
      {"氏名", RubyText("山田　花子", "ヤマダ　ハナコ")},
      {"生年月日", RubyText("昭和60年4月12日")},
      {"性別", RubyText("女")},
      {"続柄", RubyText("妻")},
      {"世帯主", RubyText("山田　太郎", "ヤマダ　タロウ")},
      {"住所", RubyText("東京都千代田区九段南一丁目2番1号　千代田ハイツ305号")},
      {"住民となった年月日", RubyText("平成30年4月1日")},
      {"住所を定めた年月日", RubyText("平成30年4月1日")},
      {"届出日", RubyText("平成30年4月3日")},
      {"前住所", RubyText("神奈川県横浜市中区日本大通1番地")},
      {"記載事由", RubyText("平成30年4月1日　転入")},
  };
  d.blocks.push_back(person);
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

// A household of `people` in a grid table (the kiosk form's columns), long enough to need pages.
inline Document household(int people) {
  Document d = juminhyo();
  d.blocks.clear();
  FieldTable head;
  head.rows = {{"住所", RubyText("東京都千代田区九段南一丁目2番1号")},
               {"世帯主", RubyText("山田　太郎", "ヤマダ　タロウ")}};
  d.blocks.push_back(head);
  GridTable grid;
  grid.headers = {"氏名", "生年月日", "性別", "続柄", "住民となった年月日", "住所を定めた年月日"};
  grid.column_weights = {3, 2.2, 0.8, 0.8, 2.4, 2.4};
  for (int i = 1; i <= people; ++i) {
    grid.rows.push_back({RubyText("山田　人" + std::to_string(i), "ヤマダ　ヒト" + std::to_string(i)),
                         RubyText("平成2年1月" + std::to_string(1 + i % 28) + "日"), RubyText(i % 2 ? "男" : "女"),
                         RubyText("子"), RubyText("平成30年4月1日"), RubyText("平成30年4月1日")});
  }
  d.blocks.push_back(grid);
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

// 印鑑登録証明書 with the seal impression.
inline Document inkan() {
  Document d = juminhyo();
  d.title = "印鑑登録証明書";
  d.certification = "この写しは、登録されている印影と相違ないことを証明します。";
  d.blocks.clear();
  d.blocks.push_back(ImageBox{seal_png(personal_seal("山田"), 600).value(), "印影", 18, 18});
  FieldTable person;
  person.rows = {{"登録番号", RubyText("0012345")},
                 {"氏名", RubyText("山田　花子", "ヤマダ　ハナコ")},
                 {"生年月日", RubyText("昭和60年4月12日")},
                 {"住所", RubyText("東京都千代田区九段南一丁目2番1号")}};
  d.blocks.push_back(person);
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

// A directory of its own under the system's temporary directory, removed at the end, unless
// JLIS_TEST_KEEP names a directory: then the files are written there to look at.
class TempDir {
 public:
  TempDir() {
    if (const char* keep = std::getenv("JLIS_TEST_KEEP"); keep != nullptr && *keep != '\0') {
      path_ = keep;
      keep_ = true;
      std::filesystem::create_directories(path_);
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "jlis-municipal-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    if (!keep_) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& bytes) const {
    const auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << bytes;
    return file.string();
  }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

struct Output {
  int exit_code = -1;
  std::string text;
};

// Runs a shell command, answering its standard output and exit code.
inline Output run(const std::string& command) {
  Output out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.text.append(buf, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace jlis::municipal::testing
