#pragma once
// The three transactions, their canonical signed bytes and their ids.
//
// Signed bytes (all integers little-endian; see README "Signing"):
//   Deposit    = 0x01 version | 0x01 kind | deposit_id[16] | account[32] | amount u64
//                | operator_key[32]                                          (90 bytes)
//   Bet        = 0x01 version | 0x02 kind | bet_id[16] | account[32] | nonce u64 | game u8
//                | wager u64 | choice u8 | client_seed[32]                   (100 bytes)
//   Settlement = 0x01 version | 0x03 kind | public inputs (settlement.hpp) | sequencer_key[32]
// tx_id = BLAKE2b-256(signed bytes || signature[64]). A settlement's "signature" is its
// proof: the sequencer's Ed25519 signature over the signed bytes; its witness is evidence
// that travels with it and is not part of the id.

#include <string>
#include <variant>

#include "domain/crypto.hpp"
#include "domain/ids.hpp"
#include "domain/money.hpp"
#include "domain/settlement.hpp"

namespace croupier {

inline constexpr std::uint8_t kTxFormatVersion = 1;
enum class TxKind : std::uint8_t { deposit = 1, bet = 2, settlement = 3 };

struct Deposit {
  Id128 deposit_id{};
  PublicKey account{};
  Amount amount = 0;
  PublicKey operator_key{};  // Must be the operator key in force when it is admitted.
  Signature signature{};
  friend bool operator==(const Deposit&, const Deposit&) = default;
};

struct Bet {
  Id128 bet_id{};          // The client's idempotency key.
  PublicKey account{};     // The player's Ed25519 public key; signs the bet.
  std::uint64_t nonce = 0; // Must be the account's last nonce + 1.
  std::uint8_t game = 0;   // Game enum value.
  Amount wager = 0;
  std::uint8_t choice = 0; // coinflip: 0 heads / 1 tails; dice: target 2..99.
  FixedBytes<32> client_seed{};
  Signature signature{};
  friend bool operator==(const Bet&, const Bet&) = default;
};

struct Settlement {
  settlement::PublicInputs inputs;
  PublicKey sequencer_key{};
  Signature proof{};
  settlement::Witness witness;
  friend bool operator==(const Settlement&, const Settlement&) = default;
};

using Tx = std::variant<Deposit, Bet, Settlement>;

Bytes signing_bytes(const Deposit& d);
Bytes signing_bytes(const Bet& b);
Bytes signing_bytes(const Settlement& s);

Hash32 tx_id(const Deposit& d);
Hash32 tx_id(const Bet& b);
Hash32 tx_id(const Settlement& s);
Hash32 tx_id(const Tx& tx);

// Fills in the signature (for a settlement: the proof) with `key`.
void sign_tx(Deposit& d, const KeyPair& key);
void sign_tx(Bet& b, const KeyPair& key);
void sign_tx(Settlement& s, const KeyPair& key);

// Checks the Ed25519 signature against the key the tx names (account, operator_key or
// sequencer_key). It does not check that key's authority nor a settlement's witness.
bool verify_tx_signature(const Tx& tx);

TxKind tx_kind(const Tx& tx);
std::string_view tx_kind_name(TxKind k);

// The conflict key: txs with the same key compete in one Snowball instance.
//   bet: account || nonce (LE);  deposit: deposit_id;  settlement: batch_id.
Bytes conflict_key(const Tx& tx);
// The same bytes in a std::string: how validators, votes and maps key conflict sets.
std::string conflict_key_string(const Tx& tx);

// Reads/writes the version and kind bytes that open every transaction's encoding and
// refuses any other version or kind.
template <class Archive>
void serialize_tx_header(Archive& ar, TxKind expected, const char* name) {
  std::uint8_t version = kTxFormatVersion, kind = static_cast<std::uint8_t>(expected);
  ar(version, kind);
  expect_version(version, kTxFormatVersion, name);
  if (kind != static_cast<std::uint8_t>(expected))
    throw DecodeError(std::string(name) + ": kind byte " + std::to_string(kind) + " is not " +
                      std::to_string(static_cast<int>(expected)));
}

// Cereal serialization of the full transactions (signed bytes, then signature/witness).
template <class Archive>
void serialize(Archive& ar, Deposit& d) {
  serialize_tx_header(ar, TxKind::deposit, "deposit");
  ar(d.deposit_id, d.account, d.amount, d.operator_key, d.signature);
}

template <class Archive>
void serialize(Archive& ar, Bet& b) {
  serialize_tx_header(ar, TxKind::bet, "bet");
  ar(b.bet_id, b.account, b.nonce, b.game, b.wager, b.choice, b.client_seed, b.signature);
}

template <class Archive>
void serialize(Archive& ar, Settlement& s) {
  serialize_tx_header(ar, TxKind::settlement, "settlement");
  ar(s.inputs, s.sequencer_key, s.proof, s.witness);
}

}  // namespace croupier
