#include "tools/admin_token.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "domain/bytes.hpp"
#include "domain/crypto.hpp"
#include "tools/node_keys.hpp"

namespace croupier::tools {

namespace {

constexpr std::size_t kMinTokenSize = 16;  // As croupier.admin-token.

const std::string kWhat = "the admin token file";

// Creates `file` with a fresh token; false when another process created it first.
bool create_token_file(const std::filesystem::path& file) {
  ensure_sodium();
  std::array<std::uint8_t, 32> secret{};
  randombytes_buf(secret.data(), secret.size());
  return create_secret_file(file, to_hex(secret) + "\n", kWhat);
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
    throw std::runtime_error("cannot read " + kWhat + " " + file.string() + ": " + std::strerror(errno));
  refuse_readable_by_others(file, kWhat);
  std::ifstream in(file);
  std::string token;
  std::getline(in, token);
  if (in.bad() || (!in && !in.eof())) throw std::runtime_error("cannot read " + kWhat + " " + file.string());
  const auto first = token.find_first_not_of(" \t\r");
  const auto last = token.find_last_not_of(" \t\r");
  token = first == std::string::npos ? "" : token.substr(first, last - first + 1);
  if (token.size() < kMinTokenSize)
    throw std::runtime_error(kWhat + " " + file.string() + " holds " + std::to_string(token.size()) +
                             " characters; a token has at least " + std::to_string(kMinTokenSize));
  return token;
}

}  // namespace croupier::tools
