#include "actors/gateway.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/api_json.hpp"
#include "actors/batch_submission.hpp"
#include "actors/event_json.hpp"
#include "actors/openapi_document.hpp"
#include "actors/receipt_json.hpp"

namespace croupier::actors {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using ErrorCode = beast::error_code;

namespace detail {

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;           // Request line and fields.
constexpr std::size_t kFirstRead = 4096;                    // The read that ends a connection's idle wait.
constexpr std::size_t kDrainLimit = 1024 * 1024;            // Read and dropped before a close.
constexpr std::chrono::seconds kDrainTime{2};               // ... for at most this long.
constexpr std::chrono::milliseconds kAcceptRetry{100};      // After a failed accept (EMFILE, ...).
constexpr std::chrono::milliseconds kFeedPoll{25};         // A caught-up feed looks for new events.
constexpr std::size_t kFeedPageEvents = 256;                // Events per read of the log ...
constexpr std::size_t kFeedPageRecords = 4096;              // ... and records (a filtered feed).
constexpr std::size_t kFeedPagesPerFill = 8;                // Then the feed thread serves the next feed.
// A feed socket's kernel send buffer: fixed, so that what a slow consumer holds in the kernel is
// bounded too (autotuning would let it grow to tcp_wmem's maximum, 4 MiB here).
constexpr int kFeedSendBuffer = 256 * 1024;
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kPrometheus = "text/plain; version=0.0.4";

// 64 random bits in hex: names one internal error in the answer and in the log.
std::string new_error_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(rng()));
  return text;
}

// The whole answer to a connection beyond max_connections, written without reading its
// request (so it costs no session).
std::string too_many_connections_response(std::size_t max_connections) {
  std::string body = api::dump(api::error_json(
      "busy", "the node serves " + std::to_string(max_connections) + " connections at most; retry later"));
  return "HTTP/1.1 503 Service Unavailable\r\nServer: croupier\r\nContent-Type: application/json\r\n"
         "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

// The node's callbacks may outlive the gateway, so they hold this rather than anything of
// Asio: while `open` (read under the mutex) the io_context exists and posting to it is safe.
struct Liveness {
  std::mutex mutex;
  bool open = true;
};

class Session;

struct GatewayImpl {
  GatewayImpl(NodeApi& node, GatewayOptions options);

  void accept();
  void on_accept(ErrorCode ec, tcp::socket socket);
  void refuse(tcp::socket& socket);
  void log(const std::string& line) const;
  void stop_accepting();
  void stop();
  void close_sessions();
  std::vector<std::shared_ptr<Session>> live_sessions();

  NodeApi& node;
  const GatewayOptions options;
  const api::WaitLimits limits;
  const std::string too_many_connections;
  const std::shared_ptr<Liveness> liveness = std::make_shared<Liveness>();
  std::atomic<bool> stopping{false};  // stop_accepting() ran: no new request is served.
  std::atomic<std::size_t> feeds{0};   // Sessions serving GET /v1/events.
  // The live sessions, for the connection limit and stop(). Declared before the io_context:
  // sessions that the io_context destroys with its queued handlers unregister themselves here.
  std::mutex sessions_mutex;
  std::condition_variable sessions_gone;  // Notified when `sessions` becomes empty.
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  net::io_context ioc;
  // Where feeds read the log and write their chunks' JSON: one thread at the lowest priority,
  // so that a consumer reading the whole log takes the CPU that bets leave idle, not theirs.
  // After ioc: the sessions its queued work holds go before the io_context does.
  net::thread_pool feed_thread{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  // The acceptor, its retry timer and stop_accepting() share a strand: on_accept never runs
  // while the acceptor closes.
  net::strand<net::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;
  bool at_limit_logged = false;  // On accept_strand: the limit was logged since the last accept.
  std::uint16_t port = 0;
  std::mutex state_mutex;  // started, stopped, threads.
  bool started = false, stopped = false;
  std::vector<std::thread> threads;
};

// One connection: reads a request, answers it (maybe after the node calls back), reads the
// next. Every handler runs on the connection's strand.
//
// Reads have deadlines of their own (`deadline_`, not the stream's timeout, which would close
// the socket before a 408 could be written): `idle_timeout` for the first byte of a request,
// `header_timeout` from there to the end of the headers, `body_timeout` from there to the
// end of the body. A deadline that passes cuts the read: it cancels it and shuts the
// socket's receiving side, so that a composed read that was between two reads cannot start
// another and wait on.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(GatewayImpl& gw, tcp::socket socket)
      : gw_(gw), stream_(std::move(socket)), deadline_(stream_.get_executor()), feed_timer_(stream_.get_executor()) {}

  ~Session() {
    if (feed_counted_) --gw_.feeds;
    std::lock_guard lock(gw_.sessions_mutex);
    gw_.sessions.erase(this);
    if (gw_.sessions.empty()) gw_.sessions_gone.notify_all();
  }

  void start() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read_request, shared_from_this())); }

  // For stop_accepting(), posted to the session's strand: a connection between requests
  // closes; a request still arriving is answered 503 unavailable. A request being handled is answered as usual,
  // and the connection closes after that answer.
  static void stop_reading(const std::shared_ptr<Session>& s) {
    net::post(s->stream_.get_executor(), [s] {
      if (s->phase_ == Phase::idle || s->phase_ == Phase::streaming) return s->close_socket();
      if (s->phase_ == Phase::header || s->phase_ == Phase::body) s->cut(Cut::stopping);
    });
  }

  // From GatewayImpl::stop(), when no io thread runs any more.
  void close_now() {
    close_socket();
    waiting_self_.reset();
  }

 private:
  using Request = http::request<http::string_body>;
  // busy: handling, waiting, writing or closing; streaming: serving the event feed.
  enum class Phase { idle, header, body, busy, streaming };
  enum class Cut { none, timeout, stopping };     // Why our side ended a read.

  // --- reading ----------------------------------------------------------------------------

  static constexpr std::string_view kBatchPath = "/v1/bets/batch";
  static bool is_batch_target(std::string_view target) { return target.substr(0, target.find('?')) == kBatchPath; }
  // A batch's body may hold batch_max_bets bets of up to 1 KiB each (a bet's JSON is ~450 bytes).
  std::size_t body_limit() const {
    return batch_body_ ? std::max(gw_.options.max_body_bytes, gw_.options.batch_max_bets * 1024) : gw_.options.max_body_bytes;
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The larger limit, a batch's, until the header names the route (the parser checks a
    // Content-Length against it as soon as it reads that header); on_header narrows it.
    batch_body_ = true;
    parser_->body_limit(body_limit());
    if (gw_.stopping) return close_socket();
    if (buffer_.size() > 0) return read_header();  // A pipelined request has begun.
    begin_read(Phase::idle, gw_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(ErrorCode ec, std::size_t n) {
    end_read();
    if (ec || cut_ != Cut::none) return close_socket();  // Idle too long, closed, or stopping: nothing to answer.
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    begin_read(Phase::header, gw_.options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(ErrorCode ec, std::size_t) {
    end_read();
    if (ec || cut_ != Cut::none) return on_read_error(ec);
    phase_ = Phase::busy;
    const Request& req = parser_->get();
    batch_body_ = is_batch_target(std::string_view(req.target().data(), req.target().size()));
    if (const auto length = parser_->content_length(); length && *length > body_limit())
      return on_read_error(http::error::body_limit);
    parser_->body_limit(body_limit());
    if (!parser_->is_done() && beast::iequals(req[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, req.version());
      stream_.expires_after(gw_.options.write_timeout);
      http::async_write(stream_, *continue_, beast::bind_front_handler(&Session::on_continue_sent, shared_from_this()));
      return;
    }
    read_body();
  }

  void on_continue_sent(ErrorCode ec, std::size_t) {
    if (ec) return close_socket();
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return handle(parser_->release());
    if (gw_.stopping) {  // Past stop_reading() (this session was busy with 100 Continue).
      version_ = parser_->get().version();
      return answer_stopping();
    }
    begin_read(Phase::body, gw_.options.body_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(ErrorCode ec, std::size_t) {
    end_read();
    if (ec || cut_ != Cut::none) return on_read_error(ec);
    handle(parser_->release());
  }

  // Arms the deadline of a read in `phase`. The stream's own timeout is off for reads.
  void begin_read(Phase phase, std::chrono::milliseconds limit) {
    phase_ = phase;
    cut_ = Cut::none;
    stream_.expires_never();
    deadline_.expires_after(limit);
    deadline_.async_wait([weak = weak_from_this(), armed = ++deadline_armed_](ErrorCode ec) {
      auto s = weak.lock();
      if (ec || !s || s->deadline_armed_ != armed) return;  // Cancelled, gone, or another read's.
      s->cut(Cut::timeout);
    });
  }

  // A read ended (its handler runs): its deadline no longer applies.
  void end_read() {
    ++deadline_armed_;
    deadline_.cancel();
  }

  void cut(Cut why) {
    cut_ = why;
    ErrorCode ec;
    stream_.socket().cancel(ec);
    stream_.socket().shutdown(tcp::socket::shutdown_receive, ec);
  }

  void on_read_error(ErrorCode ec) {
    // A request we cannot read to its end: answer once (the rest of the stream cannot be
    // trusted), then close.
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    keep_alive_ = false;
    const Phase phase = phase_;
    phase_ = Phase::busy;
    if (cut_ == Cut::timeout) return send_error(timeout_error(phase));
    if (cut_ == Cut::stopping) return answer_stopping();
    if (ec == net::error::operation_aborted) return;  // stop() closed the socket.
    if (ec == http::error::body_limit)
      return send_error(api::ApiError(413, "too_large", "request body over " + std::to_string(body_limit()) + " bytes"));
    if (ec == http::error::header_limit)
      return send_error(api::ApiError(413, "too_large", "request header over " + std::to_string(kHeaderLimit) + " bytes"));
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return graceful_close();
    if (&ec.category() == &http::make_error_code(http::error::bad_method).category())
      return send_error(api::bad_request("malformed HTTP request: " + ec.message()));
    close_socket();  // Reset, ...
  }

  // A request that arrives while the gateway stops: refused, and the connection closes.
  void answer_stopping() {
    keep_alive_ = false;
    send_error(api::ApiError(503, "unavailable", "the node is stopping"));
  }

  api::ApiError timeout_error(Phase phase) const {
    const bool header = phase != Phase::body;
    const auto limit = header ? gw_.options.header_timeout : gw_.options.body_timeout;
    std::string what = header ? "the request's headers" : "the request's body";
    std::string since = header ? " of its first byte" : " of its headers";
    return api::ApiError(408, "request_timeout",
                         what + " did not arrive within " + std::to_string(limit.count()) + " ms" + since);
  }

  // --- routing ----------------------------------------------------------------------------

  void handle(Request req) {
    phase_ = Phase::busy;
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    numbers_as_strings_ = false;
    if (gw_.stopping) return answer_stopping();
    try {
      const auto numbers = req["Croupier-Numbers"];
      numbers_as_strings_ = api::numbers_as_strings(std::string_view(numbers.data(), numbers.size()));
      route(req);
    } catch (const api::ApiError& e) {
      send_error(e);
    } catch (const NodeUnavailable& e) {
      send_error(api::ApiError(503, "unavailable", e.what()));
    } catch (const std::exception& e) {
      send_internal_error("on " + std::string(req.method_string()) + " " + std::string(req.target().substr(0, 200)),
                          e.what());
    }
  }

  // True when `req` uses `want`; otherwise answers 405 and returns false.
  bool method_is(const Request& req, http::verb want) {
    if (req.method() == want) return true;
    std::string allow(http::to_string(want));
    send_reply(api::Reply{405, api::error_json("method_not_allowed", std::string(req.method_string()) +
                                                                          " is not allowed here; use " + allow), 0},
               allow);
    return false;
  }

  void route(const Request& req) {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    // /v1/<collection>/<id>: the id, or nullopt when `path` is not of that collection.
    auto member = [&](std::string_view prefix) -> std::optional<std::string_view> {
      if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return std::nullopt;
      std::string_view id = path.substr(prefix.size());
      if (id.find('/') != std::string_view::npos) return std::nullopt;
      return id;
    };
    if (path == "/v1/bets") {
      if (method_is(req, http::verb::post)) post_bet(req.body());
    } else if (path == kBatchPath) {
      if (method_is(req, http::verb::post)) post_bet_batch(req.body());
    } else if (path == "/v1/deposits") {
      if (method_is(req, http::verb::post)) post_deposit(req.body());
    } else if (auto id = member("/v1/bets/")) {
      if (method_is(req, http::verb::get)) get_bet(api::parse_hex_param<16>(*id, "bet_id"));
    } else if (auto id = member("/v1/deposits/")) {
      if (method_is(req, http::verb::get)) get_deposit(api::parse_hex_param<16>(*id, "deposit_id"));
    } else if (auto id = member("/v1/accounts/")) {
      if (method_is(req, http::verb::get)) get_account(api::parse_hex_param<32>(*id, "account"));
    } else if (auto id = member("/v1/batches/")) {
      if (method_is(req, http::verb::get)) get_batch(api::parse_hex_param<16>(*id, "batch_id"));
    } else if (auto id = member("/v1/blocks/")) {
      if (method_is(req, http::verb::get)) get_block(api::parse_u64_param(*id, "height"));
    } else if (path == "/v1/events") {
      if (method_is(req, http::verb::get)) get_events(req, target.size() > path.size() ? target.substr(path.size() + 1) : "");
    } else if (path == "/v1/health") {
      if (method_is(req, http::verb::get)) get_health();
    } else if (path == "/v1/openapi.json") {
      if (method_is(req, http::verb::get)) send(200, "application/json", std::string(openapi_document()), 0);
    } else if (path == "/metrics") {
      if (method_is(req, http::verb::get)) get_metrics();
    } else {
      throw api::ApiError(404, "not_found", "no route " + std::string(path.substr(0, 200)));
    }
  }

  // --- the routes -------------------------------------------------------------------------

  void post_bet(const std::string& body) {
    api::BetRequest r = api::parse_bet_request(body, gw_.limits);
    submit(std::move(r.bet), r.wait);
  }

  void post_deposit(const std::string& body) {
    api::DepositRequest r = api::parse_deposit_request(body, gw_.limits);
    submit(std::move(r.deposit), r.wait);
  }

  void submit(Tx tx, std::chrono::milliseconds wait) {
    submitted_key_ = tx_key(tx);
    try {
      gw_.node.submit(std::move(tx), wait, resume<SubmitOutcome>(&Session::on_submitted));
    } catch (...) {
      waiting_self_.reset();  // The node will not call back.
      throw;
    }
  }

  void on_submitted(SubmitOutcome o) {
    waiting_self_.reset();
    try {
      send_reply(submitted_reply(o, submitted_key_));
    } catch (const NodeUnavailable& e) {
      send_error(api::ApiError(503, "unavailable", e.what()));
    } catch (const std::exception& e) {
      send_internal_error("answering a submission", e.what());
    }
  }

  // The answer to a submission of the tx with `key`, as POST /v1/bets or /v1/deposits gives it.
  api::Reply submitted_reply(const SubmitOutcome& o, const TxKey& key) {
    if (o.kind == SubmitOutcome::Kind::refused && o.code == "internal") {  // The mempool's bug report.
      const std::string id = new_error_id();
      gw_.log("gateway: internal error " + id + " admitting tx " + to_hex(o.tx_id) + ": " + o.message);
      return api::internal_error_reply(id);
    }
    if (o.kind != SubmitOutcome::Kind::admitted && o.kind != SubmitOutcome::Kind::duplicate)
      return api::submit_error_reply(o);
    std::optional<api::TxView> view;
    gw_.node.read([&](const Projections& p) { view = api::tx_view(p, o.tx_id); });
    if (!view) view = cold_view(key.kind, key.id);  // A resend of an old one.
    if (!view || view->tx_id != o.tx_id)
      throw std::runtime_error("the node answered with tx " + to_hex(o.tx_id) + ", which neither its memory nor its log holds");
    return tx_reply(std::move(*view), true);
  }

  // --- POST /v1/bets/batch: many bets, one wait --------------------------------------------

  void post_bet_batch(const std::string& body) {
    batch_ = api::parse_bet_batch_request(body, gw_.options.batch_max_bets, gw_.limits);
    std::vector<std::optional<Bet>> bets;
    for (const auto& b : batch_.bets) bets.push_back(std::holds_alternative<Bet>(b) ? std::optional(std::get<Bet>(b)) : std::nullopt);
    // The last answer brings the session back (actors/batch_submission.hpp: one wait for all,
    // one account's bets admitted in nonce order).
    submit_bet_batch(gw_.node, std::move(bets), batch_.wait,
                     resume<std::vector<BatchElementOutcome>>(&Session::on_batch_answered));
  }

  void on_batch_answered(std::vector<BatchElementOutcome> outcomes) {
    waiting_self_.reset();
    api::Json results = api::Json::array();
    for (std::size_t i = 0; i < batch_.bets.size(); ++i) {
      api::Reply r;
      if (const auto* refused = std::get_if<api::ApiError>(&batch_.bets[i])) {
        r = api::error_reply(*refused);
      } else if (!outcomes.at(i).outcome) {
        const std::string id = new_error_id();
        gw_.log("gateway: internal error " + id + " " + outcomes[i].bug + " (bet " + std::to_string(i) + ")");
        r = api::internal_error_reply(id);
      } else {
        try {
          r = submitted_reply(*outcomes[i].outcome, tx_key(Tx{std::get<Bet>(batch_.bets[i])}));
        } catch (const NodeUnavailable& e) {
          r = api::error_reply(api::ApiError(503, "unavailable", e.what()));
        } catch (const std::exception& e) {
          const std::string id = new_error_id();
          gw_.log("gateway: internal error " + id + " answering bet " + std::to_string(i) + " of a batch: " + e.what());
          r = api::internal_error_reply(id);
        }
      }
      api::Json element{{"status", r.status}, {"body", std::move(r.body)}};
      if (r.retry_after_s) element["retry_after_s"] = r.retry_after_s;
      results.push_back(std::move(element));
    }
    batch_ = {};
    send_reply(api::Reply{200, api::Json{{"results", std::move(results)}}, 0});
  }

  void get_bet(const Id128& bet_id) {
    std::optional<api::TxView> view;
    gw_.node.read([&](const Projections& p) { view = api::bet_view(p, bet_id); });
    if (!view) view = cold_view(TxKind::bet, bet_id);
    if (!view) throw api::ApiError(404, "not_found", "no bet " + to_hex(bet_id));
    send_tx(*view, false);
  }

  void get_deposit(const Id128& deposit_id) {
    std::optional<api::TxView> view;
    gw_.node.read([&](const Projections& p) { view = api::deposit_view(p, deposit_id); });
    if (!view) view = cold_view(TxKind::deposit, deposit_id);
    if (!view) throw api::ApiError(404, "not_found", "no deposit " + to_hex(deposit_id));
    send_tx(*view, false);
  }

  // A bet or deposit the node's memory has forgotten, from its log: the same view.
  std::optional<api::TxView> cold_view(TxKind kind, const Id128& id) {
    auto cold = gw_.node.cold_tx(kind, id);
    if (!cold) return std::nullopt;
    PublicKey house{};
    gw_.node.read([&](const Projections& p) { house = p.keys.house_key; });
    return api::TxView{cold->tx_id, std::move(cold->record), house, cold->batch_status};
  }

  void send_tx(api::TxView view, bool answering_post) { send_reply(tx_reply(std::move(view), answering_post)); }

  api::Reply tx_reply(api::TxView view, bool answering_post) {
    // Its batch ended and was forgotten before it was: the batch's status from the log.
    if (view.record.batch_id && !view.batch_status) view.batch_status = gw_.node.cold_batch_status(*view.record.batch_id);
    std::optional<BetProof> proof;
    if (api::needs_bet_proof(view))  // Outside the read lock.
      proof = gw_.node.bet_proof(view.tx_id, std::get<Bet>(view.record.tx).bet_id);
    api::Reply reply = api::tx_reply(view, proof, answering_post);
    if (api::needs_bet_proof(view)) {  // A final bet: its finality receipt (README "Finality receipts").
      auto block = gw_.node.signed_block(view.record.block_height);
      reply.body["receipt"] = block && block->index_of(view.tx_id)
                                  ? api::render_receipt(std::get<Bet>(view.record.tx), view.tx_id, *block)
                                  : api::Json(nullptr);
    }
    return reply;
  }

  void get_account(const PublicKey& account) {
    std::optional<api::Json> body;
    gw_.node.read([&](const Projections& p) {
      if (const Account* a = p.accounts.find(account)) body = api::render_account(account, *a);
    });
    if (!body) throw api::ApiError(404, "not_found", "no account " + to_hex(account));
    send_reply(api::Reply{200, std::move(*body), 0});
  }

  void get_batch(const Id128& batch_id) {
    std::optional<api::Json> body;
    gw_.node.read([&](const Projections& p) {
      auto it = p.batches.find(batch_id);
      if (it != p.batches.end()) body = api::render_batch(batch_id, it->second);
    });
    if (!body)
      if (auto cold = gw_.node.cold_batch(batch_id)) body = api::render_batch(batch_id, *cold);
    if (!body) throw api::ApiError(404, "not_found", "no batch " + to_hex(batch_id));
    send_reply(api::Reply{200, std::move(*body), 0});
  }

  void get_block(std::uint64_t height) {
    std::optional<BlockCommitted> b = height == 0 ? std::nullopt : gw_.node.block(height);
    if (!b) throw api::ApiError(404, "not_found", "no block at height " + std::to_string(height));
    send_reply(api::Reply{200, api::render_block(*b), 0});
  }

  void get_health() {
    NodeHealth h = gw_.node.health();
    send_reply(api::Reply{h.ready ? 200u : 503u, api::render_health(h), 0});
  }

  void get_metrics() {
    try {
      gw_.node.metrics(resume<std::string>(&Session::on_metrics));
    } catch (...) {
      waiting_self_.reset();
      throw;
    }
  }

  void on_metrics(std::string text) {
    waiting_self_.reset();
    send(200, kPrometheus, std::move(text), 0);
  }

  // --- GET /v1/events: the event feed (see the header comment) -------------------------------

  void get_events(const Request& req, std::string_view query) {
    const auto last_id = req["Last-Event-ID"];
    feed_ = api::parse_feed_request(query, std::string_view(last_id.data(), last_id.size()));
    // A position this log never reached: the consumer followed another log (a replaced or
    // restored data directory), and resuming here would skip events silently.
    if (const auto head = gw_.node.health().log_head; feed_.after > head)
      throw api::ApiError(409, "beyond_head", "after " + std::to_string(feed_.after) + " is beyond this log's head, seq " +
                                                  std::to_string(head) + ": the consumer followed another log");
    feed_delivered_ = feed_.after;
    if (gw_.feeds.fetch_add(1) >= std::max<std::size_t>(1, gw_.options.feed_max_consumers)) {
      --gw_.feeds;
      return send_reply(api::Reply{503,
                                   api::error_json("busy", "the node serves " + std::to_string(gw_.options.feed_max_consumers) +
                                                               " event feeds at most (croupier.feed-max-consumers); retry later"),
                                   1});
    }
    feed_counted_ = true;
    phase_ = Phase::streaming;
    keep_alive_ = false;
    ErrorCode ignored;  // Without it the kernel's own (larger) limit applies: no reason to refuse.
    stream_.socket().set_option(net::socket_base::send_buffer_size(kFeedSendBuffer), ignored);
    feed_out_ = "HTTP/1.1 200 OK\r\nServer: croupier\r\nContent-Type: text/event-stream\r\n"
                "Cache-Control: no-cache\r\nConnection: close\r\n\r\n: croupier event feed after seq " +
                std::to_string(feed_.after) + "\n\n";
    feed_write();
  }

  void feed_write() {
    feed_last_write_ = std::chrono::steady_clock::now();
    feed_chunk_end_ = feed_.after;
    stream_.expires_after(gw_.options.feed_stall_timeout);
    net::async_write(stream_, net::buffer(feed_out_), beast::bind_front_handler(&Session::on_feed_written, shared_from_this()));
  }

  void on_feed_written(ErrorCode ec, std::size_t) {
    if (ec == beast::error::timeout)
      gw_.log("gateway: event feed consumer disconnected after seq " + std::to_string(feed_delivered_) + ": it took no " +
              std::to_string(feed_out_.size()) + "-byte chunk within " +
              std::to_string(gw_.options.feed_stall_timeout.count()) + " ms (croupier.feed-stall-timeout)");
    if (ec || gw_.stopping) return close_socket();
    feed_delivered_ = feed_chunk_end_;
    feed_out_.clear();
    feed_pump();
  }

  // Reads what follows feed_.after into one chunk, on the feed thread, and writes it; caught up,
  // waits kFeedPoll (or writes a heartbeat) and looks again.
  void feed_pump() { net::post(gw_.feed_thread, [self = shared_from_this()] { self->feed_fill(); }); }

  // On the feed thread, while the session's strand waits for it (so feed_ and feed_out_ are
  // this thread's until it posts back). At most kFeedPagesPerFill pages a time, so that a
  // filtered feed far behind shares the thread with the others and keeps its heartbeats.
  void feed_fill() {
    bool readable = true, caught_up = false;
    try {
      for (std::size_t pages = 0; pages < kFeedPagesPerFill && feed_out_.size() < gw_.options.feed_chunk_bytes &&
                                  !gw_.stopping;
           ++pages) {
        EventPage page = gw_.node.events_after(feed_.after, feed_.types, kFeedPageEvents, kFeedPageRecords);
        caught_up = page.read_to == feed_.after;
        if (caught_up) break;
        feed_.after = page.read_to;
        for (const auto& e : page.events) api::append_sse_event(feed_out_, e, numbers_as_strings_);
      }
    } catch (const std::exception& e) {  // The log cannot be read: the feed ends; the consumer retries.
      gw_.log("gateway: event feed stopped after seq " + std::to_string(feed_.after) + ": " + e.what());
      readable = false;
    }
    net::post(stream_.get_executor(),
              [self = shared_from_this(), readable, caught_up] { self->feed_filled(readable, caught_up); });
  }

  void feed_filled(bool readable, bool caught_up) {
    if (!readable || gw_.stopping) return close_socket();
    if (!feed_out_.empty()) return feed_write();
    if (std::chrono::steady_clock::now() - feed_last_write_ >= gw_.options.feed_heartbeat) {
      feed_out_ = ": heartbeat\n\n";
      return feed_write();
    }
    if (!caught_up) return feed_pump();  // Skipped records of other types: read on.
    feed_timer_.expires_after(kFeedPoll);
    feed_timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
      if (!ec && !self->gw_.stopping) self->feed_pump();
    });
  }

  // A callback for the node that brings its argument back to this session's strand, into
  // `member`. Until then the session keeps itself alive (no pending I/O holds it). The
  // callback holds only a weak reference and the liveness token: after stop() it does nothing.
  template <class Arg>
  std::function<void(Arg)> resume(void (Session::*member)(Arg)) {
    waiting_self_ = shared_from_this();
    return [weak = std::weak_ptr<Session>(waiting_self_), liveness = gw_.liveness, member](Arg arg) {
      std::lock_guard lock(liveness->mutex);
      if (!liveness->open) return;
      if (auto s = weak.lock())
        net::post(s->stream_.get_executor(), [s, member, arg = std::move(arg)]() mutable { ((*s).*member)(std::move(arg)); });
    };
  }

  // --- writing ----------------------------------------------------------------------------

  void send_error(const api::ApiError& e) { send_reply(api::error_reply(e)); }

  // A bug: the client gets an id, the log gets the id and the detail.
  void send_internal_error(const std::string& context, const std::string& detail) {
    std::string id = new_error_id();
    gw_.log("gateway: internal error " + id + " " + context + ": " + detail);
    send_reply(api::internal_error_reply(id));
  }

  void send_reply(const api::Reply& r, std::string_view allow = {}) {
    allow_ = std::string(allow);
    if (!numbers_as_strings_) return send(r.status, kJson, api::dump(r.body), r.retry_after_s);
    api::Json body = r.body;
    api::integers_to_strings(body);
    send(r.status, kJson, api::dump(body), r.retry_after_s);
  }

  void send(unsigned status, std::string_view content_type, std::string body, std::uint64_t retry_after_s) {
    res_ = {};
    res_.result(status);
    res_.version(version_);
    res_.set(http::field::server, "croupier");
    res_.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
    if (retry_after_s) res_.set(http::field::retry_after, std::to_string(retry_after_s));
    if (!allow_.empty()) res_.set(http::field::allow, allow_);
    allow_.clear();
    if (gw_.stopping) keep_alive_ = false;  // The last answer on this connection.
    res_.keep_alive(keep_alive_);
    res_.body() = std::move(body);
    res_.prepare_payload();
    stream_.expires_after(gw_.options.write_timeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&Session::on_written, shared_from_this()));
  }

  void on_written(ErrorCode ec, std::size_t) {
    if (ec) return close_socket();
    if (!keep_alive_ || gw_.stopping) return graceful_close();
    read_request();
  }

  // Closes our side, then reads and drops what the client still sends (a body we refused,
  // say) for a short while, so that the client reads our answer instead of a reset.
  void graceful_close() {
    ErrorCode ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_socket();
    drain_left_ = kDrainLimit;
    stream_.expires_after(kDrainTime);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_), beast::bind_front_handler(&Session::on_drained, shared_from_this()));
  }

  void on_drained(ErrorCode ec, std::size_t n) {
    if (ec || n >= drain_left_) return close_socket();
    drain_left_ -= n;
    drain();
  }

  void close_socket() {
    ErrorCode ec;
    stream_.socket().close(ec);
    deadline_.cancel();
    feed_timer_.cancel();
  }

  GatewayImpl& gw_;
  beast::tcp_stream stream_;
  net::steady_timer deadline_;        // Of the read under way (see the class comment).
  std::uint64_t deadline_armed_ = 0;  // Counts arms and ends: a stale expiry is ignored.
  Phase phase_ = Phase::idle;
  Cut cut_ = Cut::none;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool numbers_as_strings_ = false;  // The request asked for Croupier-Numbers: string.
  std::string allow_;
  std::shared_ptr<Session> waiting_self_;  // Set while the node holds our callback.
  TxKey submitted_key_;                     // Of the tx being submitted (a cold answer's key).
  bool batch_body_ = false;                 // The request is POST /v1/bets/batch: its body limit.
  api::BetBatchRequest batch_;              // The batch being submitted, and its answers.
  std::size_t drain_left_ = 0;
  std::array<char, 4096> drain_buffer_{};
  api::FeedRequest feed_;  // Streaming: the feed's types, and the last seq read (sent or skipped).
  std::string feed_out_;   // The chunk being written.
  net::steady_timer feed_timer_;
  std::chrono::steady_clock::time_point feed_last_write_{};
  std::uint64_t feed_chunk_end_ = 0;  // The last seq read into the chunk being written.
  std::uint64_t feed_delivered_ = 0;  // ... into the last chunk written whole.
  bool feed_counted_ = false;         // Counted in gw_.feeds until the session ends.
};

GatewayImpl::GatewayImpl(NodeApi& n, GatewayOptions o)
    : node(n),
      options(std::move(o)),
      limits{options.default_wait, options.max_wait},
      too_many_connections(too_many_connections_response(options.max_connections)),
      ioc(static_cast<int>(std::max(1u, options.threads))),
      accept_strand(net::make_strand(ioc)),
      acceptor(accept_strand),
      accept_retry(accept_strand) {
  std::string where = options.host + ":" + std::to_string(options.port);
  ErrorCode ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  for (const auto& entry : endpoints) {
    tcp::endpoint ep = entry.endpoint();
    ec = {};
    if (acceptor.is_open()) acceptor.close();
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) break;
  }
  if (!ec && !acceptor.is_open()) ec = net::error::host_not_found;
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  port = acceptor.local_endpoint().port();
  net::post(feed_thread, [] {  // Linux's nice is per thread. Best effort: at worst it runs as others do.
    [[maybe_unused]] int rc = ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
  });
}

void GatewayImpl::log(const std::string& line) const {
  if (options.log) options.log(line);
}

void GatewayImpl::accept() {
  acceptor.async_accept(net::make_strand(ioc), beast::bind_front_handler(&GatewayImpl::on_accept, this));
}

void GatewayImpl::on_accept(ErrorCode ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Out of file descriptors, say: try again shortly rather than spin.
    log("gateway: accept failed: " + ec.message());
    accept_retry.expires_after(kAcceptRetry);
    accept_retry.async_wait([this](ErrorCode e) {
      if (!e) accept();
    });
    return;
  }
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(sessions_mutex);
    if (sessions.size() < std::max<std::size_t>(1, options.max_connections)) {
      s = std::make_shared<Session>(*this, std::move(socket));
      sessions.emplace(s.get(), s);
    }
  }
  if (s) {
    at_limit_logged = false;
    s->start();
  } else {
    refuse(socket);
  }
  accept();
}

// A connection beyond the limit: 503 at once, written without blocking (a new socket's send
// buffer holds it whole), and closed. What the client had already sent is read and dropped
// first, so that the close does not reset the connection under our answer.
void GatewayImpl::refuse(tcp::socket& socket) {
  if (!at_limit_logged) {
    log("gateway: " + std::to_string(options.max_connections) +
        " connections open (croupier.http-max-connections): new ones get 503 until some close");
    at_limit_logged = true;
  }
  ErrorCode ec;
  socket.non_blocking(true, ec);
  socket.write_some(net::buffer(too_many_connections), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink;
  for (int i = 0; i < 16 && !ec; ++i) socket.read_some(net::buffer(sink), ec);  // Until would_block.
  socket.close(ec);
}

std::vector<std::shared_ptr<Session>> GatewayImpl::live_sessions() {
  std::vector<std::shared_ptr<Session>> live;
  std::lock_guard lock(sessions_mutex);
  for (auto& [ptr, weak] : sessions)
    if (auto s = weak.lock()) live.push_back(std::move(s));
  return live;
}

void GatewayImpl::stop_accepting() {
  if (stopping.exchange(true)) return;
  net::post(accept_strand, [this] {
    ErrorCode ec;
    acceptor.close(ec);
    accept_retry.cancel();
    for (auto& s : live_sessions()) Session::stop_reading(s);
  });
}

void GatewayImpl::stop() {
  std::vector<std::thread> running;
  bool serving = false;
  {
    std::lock_guard lock(state_mutex);
    if (stopped) return;
    stopped = true;
    serving = started;
    running.swap(threads);
  }
  if (serving) {
    // Phase one (unless it ran), then the wait: every request handed to the node is answered
    // and its answer written while the io threads run; a client that never reads (or a node
    // that never answers) is cut off at the drain deadline.
    stop_accepting();
    std::unique_lock lock(sessions_mutex);
    sessions_gone.wait_for(lock, options.drain_timeout, [this] { return sessions.empty(); });
  }
  {
    std::lock_guard lock(liveness->mutex);
    liveness->open = false;  // From here node callbacks do nothing.
  }
  work.reset();
  ioc.stop();
  for (auto& t : running) t.join();
  feed_thread.stop();
  feed_thread.join();
  close_sessions();
}

// The end of phase two, once no io thread runs: the acceptor and the sessions can be touched
// from here.
void GatewayImpl::close_sessions() {
  ErrorCode ec;
  acceptor.close(ec);
  accept_retry.cancel();
  auto live = live_sessions();
  for (auto& s : live) s->close_now();
  live.clear();  // Sessions still referenced by queued handlers go with the io_context.
}

}  // namespace detail

Gateway::Gateway(NodeApi& node, GatewayOptions options)
    : impl_(std::make_unique<detail::GatewayImpl>(node, std::move(options))) {}

Gateway::~Gateway() { stop(); }

std::uint16_t Gateway::port() const { return impl_->port; }

void Gateway::start() {
  detail::GatewayImpl& gw = *impl_;
  std::lock_guard lock(gw.state_mutex);
  if (gw.started || gw.stopped) return;
  gw.started = true;
  gw.work.emplace(gw.ioc.get_executor());
  gw.accept();
  unsigned n = std::max(1u, gw.options.threads);
  for (unsigned i = 0; i < n; ++i) {
    gw.threads.emplace_back([&gw] {
      for (;;) {
        try {
          gw.ioc.run();
          return;
        } catch (const std::exception& e) {  // A handler threw: log it and keep serving.
          gw.log(std::string("gateway: unexpected exception in an io thread: ") + e.what());
        }
      }
    });
  }
}

void Gateway::stop_accepting() { impl_->stop_accepting(); }

void Gateway::stop() { impl_->stop(); }

}  // namespace croupier::actors
