#pragma once
// Amounts are unsigned 64-bit integers in minor units (cents, satoshis, ...). Every
// operation that could overflow or go negative is checked and throws MoneyError; no
// floating point ever touches an amount.

#include <cstdint>
#include <stdexcept>
#include <string>

namespace croupier {

using Amount = std::uint64_t;

// 128-bit intermediates for exact products and sums (GCC/Clang extension, hence __extension__).
__extension__ using UInt128 = unsigned __int128;
__extension__ using Int128 = __int128;

class MoneyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline Amount checked_add(Amount a, Amount b, const char* what) {
  Amount r;
  if (__builtin_add_overflow(a, b, &r)) throw MoneyError(std::string(what) + ": amount overflow");
  return r;
}

inline Amount checked_sub(Amount a, Amount b, const char* what) {
  if (b > a) throw MoneyError(std::string(what) + ": amount would go negative");
  return a - b;
}

// a * num / den, rounded down, exact (128-bit intermediate); throws if the result does
// not fit in 64 bits.
inline Amount mul_div_floor(Amount a, std::uint64_t num, std::uint64_t den, const char* what) {
  if (den == 0) throw MoneyError(std::string(what) + ": division by zero");
  UInt128 r = static_cast<UInt128>(a) * num / den;
  if (r > UINT64_MAX) throw MoneyError(std::string(what) + ": amount overflow");
  return static_cast<Amount>(r);
}

// Signed running totals (the house's result can be negative).
inline std::int64_t checked_add_signed(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw MoneyError(std::string(what) + ": overflow");
  return r;
}

inline std::int64_t to_signed(Amount a, const char* what) {
  if (a > static_cast<Amount>(INT64_MAX)) throw MoneyError(std::string(what) + ": overflow");
  return static_cast<std::int64_t>(a);
}

}  // namespace croupier
