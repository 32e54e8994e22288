#pragma once
// Helpers shared by the event-log and tool tests: temporary directories, running the
// croupier executable with its output captured, and raw LMDB access to a log's files
// for tests that must corrupt, forge or inspect bytes on purpose.
//
// Header-only. Not thread-safe: each helper is used by one test thread at a time.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <lmdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/bytes.hpp"
#include "eventlog/record_format.hpp"

namespace croupier::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp directory, removed (with its contents) on
// destruction. Not copyable.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "croupier") {
    std::string pattern = (fs::temp_directory_path() / (std::string(tag) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);  // Best effort: a failed cleanup must not fail a test.
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const fs::path& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// --- processes ------------------------------------------------------------------------

struct ProcessResult {
  int exit_code = -1;   // The exit status, or -1 when the process died of a signal.
  int signal = 0;       // The signal that ended it, 0 when it exited.
  bool timed_out = false;  // The deadline passed and the helper SIGKILLed it.
  std::string out;
  std::string err;
};

// A child process running argv[0] (a path) with argv[1..], stdin from /dev/null and
// stdout/stderr each in a pipe. The destructor SIGKILLs and reaps the child if it is
// still running. Not copyable.
// A result for failure messages: exit status, signal, timeout, the ends of stdout and stderr.
inline std::string describe(const ProcessResult& r) {
  auto tail = [](const std::string& s) { return s.size() <= 3000 ? s : "..." + s.substr(s.size() - 3000); };
  return "exit " + std::to_string(r.exit_code) + ", signal " + std::to_string(r.signal) +
         (r.timed_out ? ", timed out" : "") + "\nstdout:\n" + tail(r.out) + "\nstderr:\n" + tail(r.err);
}

// A loopback port no one listens on now (the kernel's pick for a socket bound to port 0).
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/getsockname failed");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

class Process {
 public:
  explicit Process(const std::vector<std::string>& argv) {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    // Everything exec needs is built before fork: the child only calls async-signal-safe functions.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out_pipe[1], 1) < 0 || ::dup2(err_pipe[1], 2) < 0) ::_exit(126);
      ::execv(args[0], args.data());
      static const char kMsg[] = "exec failed\n";
      [[maybe_unused]] auto n = ::write(2, kMsg, sizeof kMsg - 1);
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
  }
  ~Process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads output until stdout contains `needle` (true), both pipes close or the limit
  // passes (false). The limit only guards against a hang.
  bool read_until(std::string_view needle, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (out_.find(needle) == std::string::npos) {
      if (!pump(deadline)) return out_.find(needle) != std::string::npos;
    }
    return true;
  }

  // The same for stderr (where `croupier node` writes its log lines).
  bool read_err_until(std::string_view needle, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (err_.find(needle) == std::string::npos) {
      if (!pump(deadline)) return err_.find(needle) != std::string::npos;
    }
    return true;
  }

  void send(int sig) {
    if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
  }

  // Reads both pipes to their end and reaps the child. Past the limit the child is
  // SIGKILLed and the result says timed_out.
  ProcessResult wait(std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    ProcessResult r;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      if (!pump(deadline)) {
        if (std::chrono::steady_clock::now() >= deadline) {
          r.timed_out = true;
          ::kill(pid_, SIGKILL);
        }
        close_fd(out_fd_);  // Past the deadline, or poll failed: stop reading.
        close_fd(err_fd_);
      }
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.out = out_;
    r.err = err_;
    return r;
  }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  // One poll round over the open pipes. False when nothing is left open or the deadline passed.
  bool pump(std::chrono::steady_clock::time_point deadline) {
    pollfd fds[2];
    int n = 0;
    if (out_fd_ >= 0) fds[n++] = pollfd{out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = pollfd{err_fd_, POLLIN, 0};
    if (n == 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int rc = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) return true;
    if (rc <= 0) return false;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      bool is_out = fds[i].fd == out_fd_;
      if (got <= 0) {
        close_fd(is_out ? out_fd_ : err_fd_);
        continue;
      }
      (is_out ? out_ : err_).append(buf, static_cast<std::size_t>(got));
    }
    return true;
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
};

// Runs argv to completion and returns its exit status and output.
inline ProcessResult run_process(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  Process p(argv);
  return p.wait(limit);
}

// --- raw LMDB access ------------------------------------------------------------------

// The event log's LMDB environment opened directly, bypassing EventLog. The EventLog on
// the same directory must be closed first: LMDB forbids opening one environment twice
// in a process. Every call is its own transaction. Not copyable.
class RawLmdb {
 public:
  explicit RawLmdb(const fs::path& dir) {
    check(mdb_env_create(&env_), "mdb_env_create");
    check(mdb_env_set_maxdbs(env_, 16), "mdb_env_set_maxdbs");
    int rc = mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0600);
    if (rc != MDB_SUCCESS) {
      mdb_env_close(env_);
      env_ = nullptr;
      check(rc, "mdb_env_open " + dir.string());
    }
  }
  ~RawLmdb() {
    if (env_) mdb_env_close(env_);
  }
  RawLmdb(const RawLmdb&) = delete;
  RawLmdb& operator=(const RawLmdb&) = delete;

  std::optional<Bytes> get(const char* db, ByteView key) {
    std::optional<Bytes> result;
    txn(db, MDB_RDONLY, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_val k = val(key), v;
      int rc = mdb_get(t, dbi, &k, &v);
      if (rc == MDB_NOTFOUND) return;
      check(rc, "mdb_get");
      auto* p = static_cast<const std::uint8_t*>(v.mv_data);
      result = Bytes(p, p + v.mv_size);
    });
    return result;
  }

  void put(const char* db, ByteView key, ByteView value) {
    txn(db, 0, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_val k = val(key), v = val(value);
      check(mdb_put(t, dbi, &k, &v, 0), "mdb_put");
    });
  }

  void erase(const char* db, ByteView key) {
    txn(db, 0, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_val k = val(key);
      check(mdb_del(t, dbi, &k, nullptr), "mdb_del");
    });
  }

  // Every (key, value) of `db`, in key order.
  std::vector<std::pair<Bytes, Bytes>> entries(const char* db) {
    std::vector<std::pair<Bytes, Bytes>> out;
    txn(db, MDB_RDONLY, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_cursor* c = nullptr;
      check(mdb_cursor_open(t, dbi, &c), "mdb_cursor_open");
      MDB_val k, v;
      int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
      while (rc == MDB_SUCCESS) {
        auto* kp = static_cast<const std::uint8_t*>(k.mv_data);
        auto* vp = static_cast<const std::uint8_t*>(v.mv_data);
        out.emplace_back(Bytes(kp, kp + k.mv_size), Bytes(vp, vp + v.mv_size));
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
      }
      mdb_cursor_close(c);
      if (rc != MDB_NOTFOUND) check(rc, "mdb_cursor_get");
    });
    return out;
  }

  // The stored record value of `seq` in `events`; throws when there is none.
  Bytes record(eventlog::Seq seq) {
    auto v = get("events", seq_key(seq));
    if (!v) throw std::runtime_error("no record " + std::to_string(seq));
    return *v;
  }
  void set_record(eventlog::Seq seq, ByteView value) { put("events", seq_key(seq), value); }

  // XORs one byte of record `seq` (offset from the start of the stored value) with `mask`.
  void flip_record_byte(eventlog::Seq seq, std::size_t offset, std::uint8_t mask = 0x01) {
    Bytes r = record(seq);
    if (offset >= r.size()) throw std::runtime_error("offset beyond record " + std::to_string(seq));
    r[offset] ^= mask;
    set_record(seq, r);
  }

  static Bytes seq_key(eventlog::Seq seq) {
    Bytes k(8);
    put_u64_be(k.data(), seq);
    return k;
  }

 private:
  static void check(int rc, const std::string& what) {
    if (rc != MDB_SUCCESS) throw std::runtime_error(what + ": " + mdb_strerror(rc));
  }
  static MDB_val val(ByteView b) { return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())}; }

  template <class F>
  void txn(const char* db, unsigned flags, F&& body) {
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env_, nullptr, flags, &t), "mdb_txn_begin");
    try {
      MDB_dbi dbi;
      check(mdb_dbi_open(t, db, 0, &dbi), std::string("mdb_dbi_open ") + db);
      body(t, dbi);
    } catch (...) {
      mdb_txn_abort(t);
      throw;
    }
    if (flags & MDB_RDONLY)
      mdb_txn_abort(t);
    else
      check(mdb_txn_commit(t), "mdb_txn_commit");
  }

  MDB_env* env_ = nullptr;
};

// Flips one bit of byte `payload_offset` of record `seq`'s payload, in the log in `dir`
// (which must not be open). The record's stored hash then no longer matches.
inline void flip_payload_byte(const fs::path& dir, eventlog::Seq seq, std::size_t payload_offset = 0) {
  RawLmdb raw(dir);
  raw.flip_record_byte(seq, eventlog::kRecordHeaderSize + payload_offset);
}

}  // namespace croupier::test
