#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "core/encoding.h"

namespace coffer {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

namespace {
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// Fetched once: an implicit fetch on every EVP_DigestInit costs a lock and a lookup.
const EVP_MD* fetched_md(HashAlg alg) {
  static EVP_MD* sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static EVP_MD* sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (alg) {
    case HashAlg::kSha256:
      return sha256_md();
    case HashAlg::kSha384:
      return sha384;
    case HashAlg::kSha512:
      return sha512;
  }
  return sha256_md();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The hash states after absorbing key^ipad and key^opad.
struct HmacPads {
  HashAlg alg;
  std::string key;
  MdCtx inner;
  MdCtx outer;
};

HmacPads make_pads(HashAlg alg, std::string_view key) {
  const EVP_MD* md = fetched_md(alg);
  const auto block = static_cast<std::size_t>(EVP_MD_get_block_size(md));
  std::string k(key);
  if (k.size() > block) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(k.data(), k.size(), digest, &len, md, nullptr);
    k.assign(reinterpret_cast<const char*>(digest), len);
  }
  k.resize(block, '\0');
  std::string ipad(block, '\0'), opad(block, '\0');
  for (std::size_t i = 0; i < block; ++i) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  HmacPads p{alg, std::string(key), MdCtx(EVP_MD_CTX_new()), MdCtx(EVP_MD_CTX_new())};
  if (!p.inner || !p.outer || EVP_DigestInit_ex(p.inner.get(), md, nullptr) != 1 ||
      EVP_DigestInit_ex(p.outer.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(p.inner.get(), ipad.data(), ipad.size()) != 1 ||
      EVP_DigestUpdate(p.outer.get(), opad.data(), opad.size()) != 1) {
    throw std::runtime_error("HMAC set-up failed");
  }
  OPENSSL_cleanse(k.data(), k.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  return p;
}

// A handful of keys per thread: Coffer's own token key, S3 signing keys, the blob key.
const HmacPads& pads_for(HashAlg alg, std::string_view key) {
  thread_local std::vector<HmacPads> cache;
  for (const auto& p : cache) {
    if (p.alg == alg && p.key == key) return p;
  }
  if (cache.size() >= 16) cache.clear();
  cache.push_back(make_pads(alg, key));
  return cache.back();
}

}  // namespace

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, sha256_md(), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex(SHA256) failed");
  }
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::byte> data) {
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}
void Sha256::update(std::string_view data) { EVP_DigestUpdate(ctx_->md, data.data(), data.size()); }

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out.data(), &len);
  return out;
}

Sha256Digest sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, sha256_md(), nullptr);
  return out;
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac(HashAlg alg, std::string_view key, std::string_view data) {
  const HmacPads& pads = pads_for(alg, key);
  thread_local MdCtx work(EVP_MD_CTX_new());
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned char tag[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0, tag_len = 0;
  if (EVP_MD_CTX_copy_ex(work.get(), pads.inner.get()) != 1 ||
      EVP_DigestUpdate(work.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(work.get(), inner, &inner_len) != 1 ||
      EVP_MD_CTX_copy_ex(work.get(), pads.outer.get()) != 1 ||
      EVP_DigestUpdate(work.get(), inner, inner_len) != 1 ||
      EVP_DigestFinal_ex(work.get(), tag, &tag_len) != 1) {
    throw std::runtime_error("HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(tag), tag_len);
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  std::string tag = hmac(HashAlg::kSha256, key, data);
  Sha256Digest out{};
  std::copy(tag.begin(), tag.end(), out.begin());
  return out;
}

void random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  random_bytes(std::span(reinterpret_cast<std::uint8_t*>(s.data()), n));
  return s;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace coffer
