// Where a trusted issuer's signing keys come from, and how they are kept fresh: a JWKS file read
// once at start, or a JWKS fetched over HTTPS, cached and refreshed by one background thread.
// Key sets are immutable and swapped whole, so a reader holds either the old or the new set.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/jws.h"
#include "auth/key_set.h"
#include "core/config.h"
#include "core/error.h"

namespace coffer::auth {

// The keys a JWKS document yields under `allowed` (JwkSet::parse, then KeySet::from_jwks; keys
// left out are described in `skipped`). Errors are kBadRequest: not a JWK Set, or no usable key.
Result<KeySet> parse_jwks(std::string_view text, std::span<const JwsAlg> allowed,
                          std::vector<std::string>* skipped = nullptr);

// One issuer's keys. Thread-safe.
class JwksSource {
 public:
  virtual ~JwksSource() = default;

  // The keys to verify with now; null while none could be loaded. Never blocks.
  virtual std::shared_ptr<const KeySet> keys() const = 0;

  // Called when a token names a kid that `seen` (an earlier keys(); null when there was none)
  // lacks. Returns a newer key set than `seen` if there is one, possibly after waiting a bounded
  // time for a refetch this call triggers or that is already under way; null otherwise.
  virtual std::shared_ptr<const KeySet> keys_for_unknown_kid(const KeySet* seen) = 0;
};

// Keys that never change (a JWKS file read at start); an unknown kid stays unknown.
class StaticJwksSource final : public JwksSource {
 public:
  explicit StaticJwksSource(KeySet keys) : keys_(std::make_shared<const KeySet>(std::move(keys))) {}

  std::shared_ptr<const KeySet> keys() const override { return keys_; }
  std::shared_ptr<const KeySet> keys_for_unknown_kid(const KeySet*) override { return nullptr; }

 private:
  std::shared_ptr<const KeySet> keys_;
};

// Reads a JWKS file. Errors are kBadRequest: unreadable, not a JWK Set, or no usable key.
Result<std::shared_ptr<StaticJwksSource>> load_jwks_file(const std::string& path,
                                                         std::span<const JwsAlg> allowed);

// Fetches the JWKS document, and must return promptly once `stop` is requested.
using JwksFetch = std::function<Result<std::string>(std::stop_token stop)>;

struct JwksRefreshPolicy {
  // After a successful fetch, the next one is due this much later.
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(10)};
  // Unknown kids trigger at most one refetch per this interval (from one trigger to the next),
  // whatever the scheduled refreshes do.
  std::chrono::milliseconds unknown_kid_interval{std::chrono::minutes(10)};
  // How long a request that met an unknown kid may wait for the refetch.
  std::chrono::milliseconds unknown_kid_wait{std::chrono::seconds(10)};
  // After a failed fetch (or a refused document) the next try comes after retry_min, doubling
  // on each further failure up to retry_max, and never later than refresh_interval.
  std::chrono::milliseconds retry_min{std::chrono::seconds(1)};
  std::chrono::milliseconds retry_max{std::chrono::minutes(1)};
};

// A JWKS fetched through `fetch` and cached. All fetches run one at a time: the first in the
// constructor, the rest on one background thread — scheduled refreshes, retries after a
// failure, and the refetches that unknown kids ask for (rate-limited, and shared by every
// request that waits for one, so concurrent requests never start fetches of their own).
// A fetch that fails, or a document that is not a usable JWKS, leaves the current keys as they
// are (and logs a warning); an unchanged document keeps the very same KeySet object.
class RefreshingJwksSource final : public JwksSource {
 public:
  // Fetches once before returning (on failure the keys stay null and the thread keeps retrying),
  // then starts the thread. `name` names the source in the log.
  RefreshingJwksSource(std::string name, JwksFetch fetch, std::vector<JwsAlg> allowed,
                       JwksRefreshPolicy policy);
  // Stops the thread, cancelling a fetch under way through its stop_token.
  ~RefreshingJwksSource() override;
  RefreshingJwksSource(const RefreshingJwksSource&) = delete;
  RefreshingJwksSource& operator=(const RefreshingJwksSource&) = delete;

  std::shared_ptr<const KeySet> keys() const override;
  std::shared_ptr<const KeySet> keys_for_unknown_kid(const KeySet* seen) override;

  // Fetches begun so far, the constructor's included.
  std::uint64_t fetches_started() const;

 private:
  using SteadyClock = std::chrono::steady_clock;

  void run(std::stop_token stop);
  // One fetch; installs the keys it yields. False when it failed or the document was refused.
  bool fetch_once(std::stop_token stop);
  // When the next scheduled fetch is due after one that ended at `now`.
  SteadyClock::time_point schedule_after(bool ok, SteadyClock::time_point now);

  const std::string name_;
  const JwksFetch fetch_;
  const std::vector<JwsAlg> allowed_;
  const JwksRefreshPolicy policy_;

  // Swapped whole under keys_mu_ (held only to copy the pointer). Not std::atomic<shared_ptr>:
  // libstdc++ 12 unlocks it with relaxed order after a load, which ThreadSanitizer reports.
  mutable std::mutex keys_mu_;
  std::shared_ptr<const KeySet> keys_;
  std::string document_;  // the text behind keys_; the fetching thread's only

  mutable std::mutex mu_;
  std::condition_variable_any wake_;  // the thread: a refetch is wanted, or stop
  std::condition_variable done_;      // waiters: a fetch ended
  // Guarded by mu_. Fetches are numbered from 1 in the order they start; they end in order.
  std::uint64_t started_ = 0;
  std::uint64_t ended_ = 0;
  std::uint64_t refetch_target_ = 0;  // the unknown-kid refetch is fetch number >= this
  std::optional<SteadyClock::time_point> last_unknown_kid_refetch_;
  SteadyClock::time_point next_due_;
  std::chrono::milliseconds retry_delay_;
  bool stopped_ = false;

  std::jthread thread_;  // last: starts when everything above is ready
};

// The source that a trusted issuer's configuration names: its jwks_file (read now; any error is
// a start-up error), or its jwks_url (the URL and auth.jwks_ca_file checked now, then fetched
// with https_get; an unreachable URL is only logged, the source keeps trying), refreshed every
// auth.jwks_refresh, with at most one unknown-kid refetch per auth.jwks_refresh.
Result<std::shared_ptr<JwksSource>> open_jwks_source(const TrustedIssuer& issuer,
                                                     const AuthConfig& auth,
                                                     std::span<const JwsAlg> allowed);

}  // namespace coffer::auth
