#pragma once
// The admin door's token, which every `croupier shell` command carries. The door is closed to
// anyone without it, as Erlang's cookie closes a node: at start the node writes a random one
// to DATA/keys/admin.token (mode 0600) unless the file exists, and a shell run by the node's
// own user reads it from there (`croupier shell --data DATA`). `croupier.admin-token` in the
// node's config overrides the file.

#include <filesystem>
#include <string>

namespace croupier::tools {

// DATA/keys/admin.token.
std::filesystem::path admin_token_file(const std::filesystem::path& data_dir);

// The token in DATA/keys/admin.token, created first (64 hex characters from the OS CSPRNG,
// mode 0600, fsynced) when the file is missing. Throws std::runtime_error naming the file.
std::string load_or_create_admin_token(const std::filesystem::path& data_dir);

// The token in `file` (its first line, without surrounding white space). Throws
// std::runtime_error naming the file when it is missing, unreadable, readable by others, or
// holds fewer than 16 characters.
std::string read_admin_token_file(const std::filesystem::path& file);

}  // namespace croupier::tools
