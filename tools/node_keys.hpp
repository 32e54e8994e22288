#pragma once
// The node's keys, kept as hex seeds in files under DATA/keys/ (mode 0600):
// operator.seed (signs deposits), house.seed (VRF outcomes), sequencer.seed (settlement
// proofs), node.seed (the node's own identity: signs the block headers of finality receipts).
// Missing files are generated on first start from the OS CSPRNG.

#include <filesystem>
#include <optional>
#include <string>

#include "domain/crypto.hpp"
#include "domain/ids.hpp"

namespace croupier::tools {

struct NodeKeys {
  KeyPair operator_key, house_key, sequencer_key;
  std::optional<KeyPair> node_key;  // Always set by load_or_create_node_keys.
  bool created_node_key = false;    // node.seed was missing and has just been made.
};

// Loads the keys under `data_dir`/keys. Missing ones are created only when `may_create`
// (a new log); for a log with history a missing key file is an error, because a new key
// would silently change who may sign deposits, outcomes and settlements. The node key is
// the exception: a data directory of a version before receipts has none, so it is made when
// missing (created_node_key says so; the caller tells the operator). Throws
// std::runtime_error naming the file when a key file is missing, unreadable or malformed.
NodeKeys load_or_create_node_keys(const std::filesystem::path& data_dir, bool may_create);

// The keys under `data_dir`/keys when the first three files exist (node_key when node.seed does) (nullopt when any is missing);
// creates nothing. Throws std::runtime_error as above for an unreadable or malformed file.
std::optional<NodeKeys> read_node_keys(const std::filesystem::path& data_dir);

// Reads a hex seed file (as written by write_seed_file, `croupier keygen` or the node).
// Throws std::runtime_error naming the file when it is readable by others (group/other
// mode bits set), unreadable or malformed.
KeyPair read_seed_file(const std::filesystem::path& file);

// Writes `key`'s seed as hex to `file`, created with mode 0600 and fsynced; an existing
// file is never overwritten. Throws std::runtime_error naming the file.
void write_seed_file(const std::filesystem::path& file, const KeyPair& key);

// Throws std::runtime_error "<what> <file> is readable by others (mode NNN); chmod 600 it" when
// `file` has group or other mode bits set. A missing file passes (its reader says so).
void refuse_readable_by_others(const std::filesystem::path& file, const std::string& what);

// Creates `file` with mode 0600 holding `text`, fsynced, and never overwrites one: false when
// it exists already. Throws std::runtime_error "cannot create|write <what> <file>" otherwise.
bool create_secret_file(const std::filesystem::path& file, const std::string& text, const std::string& what);

// A fresh random node id (for a new log).
Id128 random_node_id();

}  // namespace croupier::tools
