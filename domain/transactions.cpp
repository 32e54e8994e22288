#include "domain/transactions.hpp"

#include <cassert>
#include <tuple>

namespace croupier {

namespace {
constexpr std::uint8_t kind_byte(TxKind k) { return static_cast<std::uint8_t>(k); }

Hash32 id_of(const Bytes& signed_bytes, const Signature& sig) {
  return Blake2b256().update(signed_bytes).update(sig).finish();
}
}  // namespace

Bytes signing_bytes(const Deposit& d) {
  auto out = encode(std::make_tuple(kTxFormatVersion, kind_byte(TxKind::deposit), d.deposit_id,
                                    d.account, d.amount, d.operator_key));
  assert(out.size() == 90);
  return out;
}

Bytes signing_bytes(const Bet& b) {
  auto out = encode(std::make_tuple(kTxFormatVersion, kind_byte(TxKind::bet), b.bet_id, b.account,
                                    b.nonce, b.game, b.wager, b.choice, b.client_seed));
  assert(out.size() == 100);
  return out;
}

Bytes signing_bytes(const Settlement& s) {
  return settlement::public_inputs_signing_bytes(s.inputs, s.sequencer_key);
}

Hash32 tx_id(const Deposit& d) { return id_of(signing_bytes(d), d.signature); }
Hash32 tx_id(const Bet& b) { return id_of(signing_bytes(b), b.signature); }
Hash32 tx_id(const Settlement& s) { return id_of(signing_bytes(s), s.proof); }
Hash32 tx_id(const Tx& tx) {
  return std::visit([](const auto& t) { return tx_id(t); }, tx);
}

void sign_tx(Deposit& d, const KeyPair& key) {
  assert(key.public_key == d.operator_key);
  d.signature = sign(key, signing_bytes(d));
}
void sign_tx(Bet& b, const KeyPair& key) {
  assert(key.public_key == b.account);
  b.signature = sign(key, signing_bytes(b));
}
void sign_tx(Settlement& s, const KeyPair& key) {
  assert(key.public_key == s.sequencer_key);
  s.proof = sign(key, signing_bytes(s));
}

bool verify_tx_signature(const Tx& tx) {
  struct Visitor {
    bool operator()(const Deposit& d) const { return verify(d.operator_key, signing_bytes(d), d.signature); }
    bool operator()(const Bet& b) const { return verify(b.account, signing_bytes(b), b.signature); }
    bool operator()(const Settlement& s) const { return verify(s.sequencer_key, signing_bytes(s), s.proof); }
  };
  return std::visit(Visitor{}, tx);
}

TxKind tx_kind(const Tx& tx) {
  static_assert(std::variant_size_v<Tx> == 3);
  return static_cast<TxKind>(tx.index() + 1);
}

std::string_view tx_kind_name(TxKind k) {
  switch (k) {
    case TxKind::deposit: return "deposit";
    case TxKind::bet: return "bet";
    case TxKind::settlement: return "settlement";
  }
  return "unknown";
}

Bytes conflict_key(const Tx& tx) {
  struct Visitor {
    Bytes operator()(const Deposit& d) const { return Bytes(d.deposit_id.begin(), d.deposit_id.end()); }
    Bytes operator()(const Bet& b) const {
      Bytes k(b.account.begin(), b.account.end());
      k.resize(40);
      put_u64_le(k.data() + 32, b.nonce);
      return k;
    }
    Bytes operator()(const Settlement& s) const {
      return Bytes(s.inputs.batch_id.begin(), s.inputs.batch_id.end());
    }
  };
  return std::visit(Visitor{}, tx);
}

std::string conflict_key_string(const Tx& tx) {
  Bytes key = conflict_key(tx);
  return std::string(key.begin(), key.end());
}

}  // namespace croupier
