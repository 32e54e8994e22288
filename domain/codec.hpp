#pragma once
// Cereal binary (little-endian, fixed-width integers, u64 length prefixes) into and out
// of byte vectors without iostream copies. This is the canonical encoding of every
// transaction and event payload; the layouts are written out in the README.

#include <bit>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <string>

#include <cereal/cereal.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include "domain/bytes.hpp"

namespace croupier {

static_assert(std::endian::native == std::endian::little,
              "cereal's binary archive writes host byte order; the canonical encoding is little-endian");

// A payload that does not decode: truncated, trailing bytes, an unknown version or tag,
// a bool byte other than 0 or 1.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace croupier

namespace cereal {

// cereal's BinaryOutputArchive/BinaryInputArchive writing into a byte vector and reading
// from a byte span directly, without iostreams (which cost more than the decoding itself
// on the replay path). The bytes are identical to cereal's binary archives: raw
// little-endian arithmetic values, u64 size tags, no names.
class VectorOutputArchive : public OutputArchive<VectorOutputArchive, AllowEmptyClassElision> {
 public:
  explicit VectorOutputArchive(croupier::Bytes& out)
      : OutputArchive<VectorOutputArchive, AllowEmptyClassElision>(this), out_(out) {}
  void saveBinary(const void* data, std::size_t size) {
    auto* p = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }

 private:
  croupier::Bytes& out_;
};

class SpanInputArchive : public InputArchive<SpanInputArchive, AllowEmptyClassElision> {
 public:
  explicit SpanInputArchive(croupier::ByteView in)
      : InputArchive<SpanInputArchive, AllowEmptyClassElision>(this), in_(in) {}
  void loadBinary(void* data, std::size_t size) {
    if (size > in_.size() - pos_)
      throw croupier::DecodeError("truncated: needed " + std::to_string(size) + " more bytes at offset " +
                                  std::to_string(pos_) + " of " + std::to_string(in_.size()));
    std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  croupier::ByteView in_;
  std::size_t pos_ = 0;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(VectorOutputArchive& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(SpanInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}
// A bool is one byte, 0 or 1 (as cereal writes it). Any other byte is refused, so that
// every payload has one decoding and re-encodes to the same bytes. Being a non-template,
// this overload wins over the arithmetic template above for bool (and optional's flag).
inline void CEREAL_LOAD_FUNCTION_NAME(SpanInputArchive& ar, bool& b) {
  static_assert(sizeof(bool) == 1);
  std::uint8_t byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1) throw croupier::DecodeError("a bool byte of " + std::to_string(byte) + " is not 0 or 1");
  b = byte == 1;
}
template <class Archive, class T>
inline CEREAL_ARCHIVE_RESTRICT(SpanInputArchive, VectorOutputArchive)
    CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(VectorOutputArchive& ar, const SizeTag<T>& t) {
  ar(t.size);
}
// Every element of our containers takes at least one byte, so a size larger than what is
// left is a lie; refusing it here keeps a forged record from allocating gigabytes.
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(SpanInputArchive& ar, SizeTag<T>& t) {
  ar(t.size);
  if (static_cast<std::uint64_t>(t.size) > ar.remaining())
    throw croupier::DecodeError("a size of " + std::to_string(t.size) + " elements exceeds the " +
                                std::to_string(ar.remaining()) + " bytes left");
}
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(VectorOutputArchive& ar, const BinaryData<T>& bd) {
  ar.saveBinary(bd.data, static_cast<std::size_t>(bd.size));
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(SpanInputArchive& ar, BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace cereal

CEREAL_SETUP_ARCHIVE_TRAITS(cereal::SpanInputArchive, cereal::VectorOutputArchive)

namespace croupier {

template <class T>
void encode_into(Bytes& out, const T& value) {
  cereal::VectorOutputArchive ar(out);
  ar(value);
}

template <class T>
Bytes encode(const T& value) {
  Bytes out;
  out.reserve(128);
  encode_into(out, value);
  return out;
}

// Decodes exactly `in` into a T; throws DecodeError naming `what` on a short or long input.
template <class T>
T decode(ByteView in, const char* what) {
  T value{};
  std::size_t remaining = 0;
  try {
    cereal::SpanInputArchive ar(in);
    ar(value);
    remaining = ar.remaining();
  } catch (const DecodeError& e) {
    throw DecodeError(std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    throw DecodeError(std::string(what) + ": " + e.what());
  }
  if (remaining != 0) throw DecodeError(std::string(what) + ": " + std::to_string(remaining) + " trailing bytes");
  return value;
}

// Checks a format-version byte written at the start of a versioned structure.
inline void expect_version(std::uint8_t got, std::uint8_t supported, const char* what) {
  if (got != supported)
    throw DecodeError(std::string(what) + ": unknown format version " + std::to_string(got) +
                      " (this build reads version " + std::to_string(supported) + ")");
}

}  // namespace croupier
