// Hashes, MACs and randomness on OpenSSL EVP. Pure functions of their inputs (random_bytes aside).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace coffer {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256, for hashing bodies as they stream past.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  // Ends the hash; the object may not be updated afterwards.
  Sha256Digest finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Sha256Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

enum class HashAlg { kSha256, kSha384, kSha512 };

// HMAC (RFC 2104). The key's padded inner and outer hash states are computed once per thread and
// key and then copied, so a key used over and over (a token key, a signing key) costs two hash
// finishes per MAC instead of a full set-up. Returns the tag's bytes.
std::string hmac(HashAlg alg, std::string_view key, std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// Cryptographically secure random bytes (OpenSSL RAND_bytes); throws only if the RNG fails.
void random_bytes(std::span<std::uint8_t> out);
std::string random_bytes(std::size_t n);

// Compares in time that depends only on the lengths, for secrets and MACs.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace coffer
