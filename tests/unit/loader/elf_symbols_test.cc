#include "loader/elf_symbols.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

namespace sonde {
namespace {

constexpr const char* kLibssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";

uint64_t FileSize(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

TEST(ElfSymbols, FindsOpenSslFunctionsInLibssl) {
  ASSERT_GT(FileSize(kLibssl), 0u) << kLibssl << " is missing (libssl3 is a dependency of sonde's tests)";
  auto offs = FindFunctionOffsets(kLibssl, {"SSL_read", "SSL_write", "SSL_read_ex", "no_such_function"});
  ASSERT_EQ(offs.size(), 3u);
  EXPECT_FALSE(offs.count("no_such_function"));
  for (const auto& [name, off] : offs) {
    EXPECT_GT(off, 0u) << name;
    EXPECT_LT(off, FileSize(kLibssl)) << name;
  }
  EXPECT_NE(offs["SSL_read"], offs["SSL_write"]);
}

TEST(ElfSymbols, UndefinedImportsAreNotReported) {
  // libcurl imports SSL_read from libssl but does not define it.
  const char* curl = "/usr/lib/x86_64-linux-gnu/libcurl.so.4";
  ASSERT_GT(FileSize(curl), 0u) << curl << " is missing";
  EXPECT_TRUE(FindFunctionOffsets(curl, {"SSL_read", "SSL_write"}).empty());
}

TEST(ElfSymbols, NonElfAndMissingFilesGiveNothing) {
  char path[] = "/tmp/sonde-elf-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "\x7f" "ELF garbage that is not an ELF file", 36), 36);
  close(fd);
  EXPECT_TRUE(FindFunctionOffsets(path, {"SSL_read"}).empty());
  unlink(path);
  EXPECT_TRUE(FindFunctionOffsets("/nonexistent/file", {"SSL_read"}).empty());
}

}  // namespace
}  // namespace sonde
