#include "tools/admin_token.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "domain/bytes.hpp"
#include "domain/crypto.hpp"

namespace croupier::tools {

namespace {

constexpr std::size_t kMinTokenSize = 16;  // As croupier.admin-token.

// Creates `file` with a fresh token; false when another process created it first.
bool create_token_file(const std::filesystem::path& file) {
  ensure_sodium();
  std::array<std::uint8_t, 32> secret{};
  randombytes_buf(secret.data(), secret.size());
  const std::string text = to_hex(secret) + "\n";
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST) return false;
  if (fd < 0) throw std::runtime_error("cannot create the admin token file " + file.string() + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write the admin token file " + file.string());
  return true;
}

}  // namespace

std::filesystem::path admin_token_file(const std::filesystem::path& data_dir) { return data_dir / "keys" / "admin.token"; }

std::string load_or_create_admin_token(const std::filesystem::path& data_dir) {
  const auto file = admin_token_file(data_dir);
  std::filesystem::create_directories(file.parent_path());
  if (!std::filesystem::exists(file)) create_token_file(file);
  return read_admin_token_file(file);
}

std::string read_admin_token_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw std::runtime_error("cannot read the admin token file " + file.string() + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    throw std::runtime_error("the admin token file " + file.string() + " is readable by others (mode " + mode +
                             "); chmod 600 it");
  }
  std::ifstream in(file);
  std::string token;
  std::getline(in, token);
  if (in.bad() || (!in && !in.eof())) throw std::runtime_error("cannot read the admin token file " + file.string());
  const auto first = token.find_first_not_of(" \t\r");
  const auto last = token.find_last_not_of(" \t\r");
  token = first == std::string::npos ? "" : token.substr(first, last - first + 1);
  if (token.size() < kMinTokenSize)
    throw std::runtime_error("the admin token file " + file.string() + " holds " + std::to_string(token.size()) +
                             " characters; a token has at least " + std::to_string(kMinTokenSize));
  return token;
}

}  // namespace croupier::tools
