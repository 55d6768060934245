// Password hashing with argon2id (libsodium). Slow on purpose (~100 ms, 64 MiB): never call it
// on an I/O thread; PasswordHasher bounds how many hashes run at once.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.h"

namespace coffer::auth {

class PasswordHasher {
 public:
  // `max_concurrent`: hashes computed at the same time (each takes 64 MiB while it runs).
  explicit PasswordHasher(int max_concurrent = 2);

  // An argon2id string ($argon2id$v=19$m=65536,t=2,p=1$...) for `password`.
  Result<std::string> hash(std::string_view password);
  // True when `password` matches `hash`. A malformed hash is a mismatch.
  bool verify(std::string_view password, std::string_view hash);
  // Takes as long as verify() of a real hash: answers for unknown users cost the same.
  void verify_dummy(std::string_view password);

 private:
  class Slot;
  std::mutex mu_;
  std::condition_variable cv_;
  int free_slots_;
  std::string dummy_hash_;
};

// Passwords must be 8 to 1024 bytes.
Result<void> check_password_policy(std::string_view password);

}  // namespace coffer::auth
