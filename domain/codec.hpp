#pragma once
// Cereal binary (little-endian, fixed-width integers, u64 length prefixes) into and out
// of byte vectors without iostream copies. This is the canonical encoding of every
// transaction and event payload; the layouts are written out in the README.

#include <bit>
#include <cstring>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>

#include <cereal/archives/binary.hpp>
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

// A payload that does not decode: truncated, trailing bytes, an unknown version or tag.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
class VectorWriteBuf : public std::streambuf {
 public:
  explicit VectorWriteBuf(Bytes& out) : out_(out) {}
 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.insert(out_.end(), reinterpret_cast<const std::uint8_t*>(s),
                reinterpret_cast<const std::uint8_t*>(s) + n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_.push_back(static_cast<std::uint8_t>(c));
    return c;
  }
 private:
  Bytes& out_;
};

class ViewReadBuf : public std::streambuf {
 public:
  explicit ViewReadBuf(ByteView in) {
    char* b = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
    setg(b, b, b + in.size());
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};
}  // namespace detail

template <class T>
void encode_into(Bytes& out, const T& value) {
  detail::VectorWriteBuf buf(out);
  std::ostream os(&buf);
  cereal::BinaryOutputArchive ar(os);
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
  detail::ViewReadBuf buf(in);
  std::istream is(&buf);
  T value{};
  try {
    cereal::BinaryInputArchive ar(is);
    ar(value);
  } catch (const DecodeError&) {
    throw;
  } catch (const std::exception& e) {
    throw DecodeError(std::string(what) + ": " + e.what());
  }
  if (buf.remaining() != 0)
    throw DecodeError(std::string(what) + ": " + std::to_string(buf.remaining()) + " trailing bytes");
  return value;
}

// Checks a format-version byte written at the start of a versioned structure.
inline void expect_version(std::uint8_t got, std::uint8_t supported, const char* what) {
  if (got != supported)
    throw DecodeError(std::string(what) + ": unknown format version " + std::to_string(got) +
                      " (this build reads version " + std::to_string(supported) + ")");
}

}  // namespace croupier
