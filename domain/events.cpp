#include "domain/events.hpp"

namespace croupier {

Hash32 block_hash(std::uint64_t height, const Hash32& prev_hash, std::uint64_t time_ms,
                  const std::vector<Hash32>& tx_ids) {
  Blake2b256 h;
  h.update_u8(1).update_u64_le(height).update(prev_hash).update_u64_le(time_ms).update_u64_le(tx_ids.size());
  for (const auto& id : tx_ids) h.update(id);
  return h.finish();
}

EventType event_type(const Event& e) { return static_cast<EventType>(e.index() + 1); }

std::string_view event_type_name(EventType t) {
  static constexpr std::array<std::string_view, kEventTypeCount> kNames{
      "NodeStarted",    "TxAdmitted",     "TxFinalized", "BlockCommitted", "BetResolved",          "BatchCreated",
      "BatchProved",    "BatchSubmitted", "BatchConfirmed", "BatchFailed",   "ReconciliationReport", "SnapshotTaken"};
  auto i = static_cast<std::size_t>(t);
  return i >= 1 && i <= kEventTypeCount ? kNames[i - 1] : std::string_view{"Unknown"};
}

std::optional<EventType> event_type_from_number(std::uint16_t n) {
  if (n < 1 || n > kEventTypeCount) return std::nullopt;
  return static_cast<EventType>(n);
}

void encode_event_into(Bytes& out, const Event& e) {
  std::visit([&](const auto& ev) { encode_into(out, ev); }, e);
}

Bytes encode_event(const Event& e) {
  Bytes out;
  out.reserve(160);
  encode_event_into(out, e);
  return out;
}

namespace {
template <std::size_t I>
Event decode_as(std::size_t index, ByteView payload) {
  if constexpr (I == kEventTypeCount) {
    throw DecodeError("unknown event type " + std::to_string(index + 1));
  } else {
    if (index == I) {
      using T = std::variant_alternative_t<I, Event>;
      return Event{std::in_place_index<I>,
                   decode<T>(payload, std::string(event_type_name(static_cast<EventType>(I + 1))).c_str())};
    }
    return decode_as<I + 1>(index, payload);
  }
}
}  // namespace

Event decode_event(std::uint16_t type, ByteView payload) {
  if (!event_type_from_number(type)) throw DecodeError("unknown event type " + std::to_string(type));
  return decode_as<0>(type - 1u, payload);
}

IndexKeys index_keys(const Event& e, const std::optional<Hash32>& known_tx_id) {
  IndexKeys k;
  if (auto* a = std::get_if<TxAdmitted>(&e)) {
    k.tx_id = known_tx_id ? *known_tx_id : tx_id(a->tx);
    if (auto* b = std::get_if<Bet>(&a->tx)) k.bet_id = b->bet_id;
    if (auto* d = std::get_if<Deposit>(&a->tx)) k.deposit_id = d->deposit_id;
  } else if (auto* c = std::get_if<BatchCreated>(&e)) {
    k.batch_id = c->batch_id;
  } else if (auto* p = std::get_if<BatchProved>(&e)) {
    k.batch_id = p->batch_id;
  } else if (auto* s = std::get_if<BatchSubmitted>(&e)) {
    k.batch_id = s->batch_id;
  } else if (auto* cf = std::get_if<BatchConfirmed>(&e)) {
    k.batch_id = cf->batch_id;
  } else if (auto* f = std::get_if<BatchFailed>(&e)) {
    k.batch_id = f->batch_id;
  }
  return k;
}

}  // namespace croupier
