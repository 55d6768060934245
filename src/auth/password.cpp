#include "auth/password.h"

#include <sodium.h>

#include <stdexcept>

namespace coffer::auth {

// Holds one of the hasher's slots for the duration of a hash.
class PasswordHasher::Slot {
 public:
  explicit Slot(PasswordHasher& h) : h_(h) {
    std::unique_lock lock(h_.mu_);
    h_.cv_.wait(lock, [&] { return h_.free_slots_ > 0; });
    --h_.free_slots_;
  }
  ~Slot() {
    {
      std::lock_guard lock(h_.mu_);
      ++h_.free_slots_;
    }
    h_.cv_.notify_one();
  }

 private:
  PasswordHasher& h_;
};

PasswordHasher::PasswordHasher(int max_concurrent) : free_slots_(max_concurrent) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  auto dummy = hash("coffer dummy password for timing");
  if (!dummy) throw std::runtime_error("argon2id failed");
  dummy_hash_ = std::move(*dummy);
}

Result<std::string> PasswordHasher::hash(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  Slot slot(*this);
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::Internal("argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool PasswordHasher::verify(std::string_view password, std::string_view hash) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);  // needs a NUL-terminated string
  Slot slot(*this);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::verify_dummy(std::string_view password) { (void)verify(password, dummy_hash_); }

Result<void> check_password_policy(std::string_view password) {
  if (password.size() < 8) return Error::BadRequest("password must be at least 8 characters");
  if (password.size() > 1024) return Error::BadRequest("password must be at most 1024 bytes");
  return Ok();
}

}  // namespace coffer::auth
