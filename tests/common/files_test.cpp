// Whole files (common/files.h): read_file, MappedFile and write_file_atomically.
#include "common/files.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace jlis {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jlis-files-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // 200 kB of every byte value, NUL included: more than one read() and a page boundary.
  static std::string bytes() {
    std::string out;
    for (int i = 0; i < 200'000; ++i) out += static_cast<char>((i * 7) % 256);
    return out;
  }

  fs::path write(const std::string& name, const std::string& data) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  fs::path dir_;
};

// Rule: read_file answers the file's bytes exactly, whatever its size, and not_found when it cannot
// be read (missing, a directory).
TEST_F(FilesTest, ReadFileAnswersTheBytesOrNotFound) {
  EXPECT_EQ(read_file(write("big", bytes())).value(), bytes());
  EXPECT_EQ(read_file(write("empty", "")).value(), "");
  EXPECT_EQ(read_file(write("one", "x")).value(), "x");
  EXPECT_EQ(read_file(dir_ / "missing").status().code(), Code::not_found);
  EXPECT_EQ(read_file(dir_).status().code(), Code::not_found);
}

// Rule: a file without a length (a pipe) is read to its end.
TEST_F(FilesTest, ReadFileReadsAPipeToItsEnd) {
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << bytes(); });
  auto got = read_file(fifo);
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, bytes());
}

// Rule: a MappedFile's text is the file's bytes and stays valid while the MappedFile (or the one it
// was moved to) lives; an empty file maps to an empty text; missing files, directories and pipes are
// not_found.
TEST_F(FilesTest, MappedFileHoldsTheBytesUntilItIsDestroyed) {
  auto mapped = MappedFile::open(write("big", bytes()));
  ASSERT_TRUE(mapped.ok()) << mapped.status().to_string();
  EXPECT_EQ(mapped->text(), bytes());
  MappedFile moved = std::move(*mapped);
  EXPECT_TRUE(mapped->text().empty());
  fs::remove(dir_ / "big");  // the mapping keeps the bytes
  EXPECT_EQ(moved.text(), bytes());
  moved = MappedFile::open(write("small", "abc")).value();
  EXPECT_EQ(moved.text(), "abc");

  EXPECT_TRUE(MappedFile::open(write("empty", "")).value().text().empty());
  EXPECT_EQ(MappedFile::open(dir_ / "missing").status().code(), Code::not_found);
  EXPECT_EQ(MappedFile::open(dir_).status().code(), Code::not_found);
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(MappedFile::open(dir_ / "fifo").status().code(), Code::not_found);
}

// Rule: write_file_atomically replaces the whole file with the given mode and leaves no temporary
// file beside it.
TEST_F(FilesTest, WriteFileAtomicallyReplacesTheWholeFile) {
  const fs::path path = write("f", "old contents, longer than the new");
  ASSERT_TRUE(write_file_atomically(path, "new", 0600).is_ok());
  EXPECT_EQ(read_file(path).value(), "new");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  EXPECT_EQ(write_file_atomically(dir_ / "no" / "such" / "dir", "x").code(), Code::internal);
}

}  // namespace
}  // namespace jlis
