#include "tools/node_keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace croupier::tools {

void refuse_readable_by_others(const std::filesystem::path& file, const std::string& what) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    throw std::runtime_error(what + " " + file.string() + " is readable by others (mode " + mode + "); chmod 600 it");
  }
}

bool create_secret_file(const std::filesystem::path& file, const std::string& text, const std::string& what) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST) return false;
  if (fd < 0) throw std::runtime_error("cannot create " + what + " " + file.string() + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + what + " " + file.string());
  return true;
}

KeyPair read_seed_file(const std::filesystem::path& file) {
  refuse_readable_by_others(file, "key file");
  std::ifstream in(file);
  std::string hex;
  in >> hex;
  if (!in) throw std::runtime_error("cannot read key file " + file.string());
  try {
    return keypair_from_seed(fixed_from_hex<32>(hex, file.string()));
  } catch (const InputError& e) {
    throw std::runtime_error(std::string("malformed key file: ") + e.what());
  }
}

namespace {

KeyPair load_or_create(const std::filesystem::path& file, bool may_create) {
  if (std::filesystem::exists(file)) return read_seed_file(file);
  if (!may_create)
    throw std::runtime_error("key file " + file.string() +
                             " is missing, but the event log already has history: restore the file (a new key would "
                             "change who signs for this node)");
  KeyPair k = random_keypair();
  write_seed_file(file, k);
  return k;
}

}  // namespace

void write_seed_file(const std::filesystem::path& file, const KeyPair& key) {
  if (!create_secret_file(file, to_hex(key.seed()) + "\n", "key file"))
    throw std::runtime_error("cannot create key file " + file.string() + ": " + std::strerror(EEXIST) +
                             " (refusing to overwrite a key file)");
}

NodeKeys load_or_create_node_keys(const std::filesystem::path& data_dir, bool may_create) {
  auto dir = data_dir / "keys";
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
  NodeKeys keys{load_or_create(dir / "operator.seed", may_create), load_or_create(dir / "house.seed", may_create),
                load_or_create(dir / "sequencer.seed", may_create), {}};
  keys.created_node_key = !std::filesystem::exists(dir / "node.seed");
  keys.node_key = load_or_create(dir / "node.seed", true);
  return keys;
}

std::optional<NodeKeys> read_node_keys(const std::filesystem::path& data_dir) {
  auto dir = data_dir / "keys";
  const char* files[] = {"operator.seed", "house.seed", "sequencer.seed"};
  for (const char* f : files)
    if (!std::filesystem::is_regular_file(dir / f)) return std::nullopt;
  NodeKeys keys{read_seed_file(dir / files[0]), read_seed_file(dir / files[1]), read_seed_file(dir / files[2]), {}};
  if (std::filesystem::is_regular_file(dir / "node.seed")) keys.node_key = read_seed_file(dir / "node.seed");
  return keys;
}

Id128 random_node_id() {
  ensure_sodium();
  Id128 id{};
  randombytes_buf(id.data(), id.size());
  return id;
}

}  // namespace croupier::tools
