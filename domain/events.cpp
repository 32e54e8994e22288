#include "domain/events.hpp"

namespace croupier {

Hash32 block_hash(std::uint64_t height, const Hash32& prev_hash, std::uint64_t time_ms,
                  const std::vector<Hash32>& tx_ids) {
  Blake2b256 h;
  h.update_u8(1).update_u64_le(height).update(prev_hash).update_u64_le(time_ms).update_u64_le(tx_ids.size());
  for (const auto& id : tx_ids) h.update(id);
  return h.finish();
}

TxKey tx_key(const Tx& tx) {
  if (const auto* b = std::get_if<Bet>(&tx)) return {TxKind::bet, b->bet_id};
  if (const auto* d = std::get_if<Deposit>(&tx)) return {TxKind::deposit, d->deposit_id};
  return {TxKind::settlement, std::get<Settlement>(tx).inputs.batch_id};
}

TxFinalized finalized(const Hash32& tx_id, const Tx& tx, bool accepted, std::uint64_t block_height) {
  return TxFinalized{tx_id, accepted, accepted ? block_height : 0, tx_key(tx)};
}

EventType event_type(const Event& e) { return static_cast<EventType>(e.index() + 1); }

std::optional<Id128> batch_id_of(const Event& e) {
  return std::visit(
      [](const auto& x) -> std::optional<Id128> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, BatchCreated> || std::is_same_v<T, BatchProved> ||
                      std::is_same_v<T, BatchSubmitted> || std::is_same_v<T, BatchConfirmed> ||
                      std::is_same_v<T, BatchFailed>)
          return x.batch_id;
        return std::nullopt;
      },
      e);
}

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


}  // namespace croupier
