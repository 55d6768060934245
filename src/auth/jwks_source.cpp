#include "auth/jwks_source.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "auth/https_get.h"
#include "core/log.h"

namespace coffer::auth {
namespace {

Error bad_jwks(std::string detail) {
  return Error{ErrorCode::kBadRequest, "invalid JWKS", std::move(detail)};
}

}  // namespace

Result<KeySet> parse_jwks(std::string_view text, std::span<const JwsAlg> allowed,
                          std::vector<std::string>* skipped) {
  auto jwks = JwkSet::parse(text);
  if (!jwks) return bad_jwks("not a JWK Set: " + jwks.error().detail);
  auto keys = KeySet::from_jwks(*jwks, allowed, skipped);
  if (!keys) return bad_jwks(keys.error().detail);
  return std::move(*keys);
}

Result<std::shared_ptr<StaticJwksSource>> load_jwks_file(const std::string& path,
                                                         std::span<const JwsAlg> allowed) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_jwks("cannot read JWKS file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return bad_jwks("cannot read JWKS file " + path);
  std::vector<std::string> skipped;
  auto keys = parse_jwks(text.str(), allowed, &skipped);
  if (!keys) return bad_jwks("JWKS file " + path + ": " + keys.error().detail);
  for (const std::string& why : skipped) log::app().warn("JWKS file {}: {}", path, why);
  return std::make_shared<StaticJwksSource>(std::move(*keys));
}

// ---- RefreshingJwksSource ---------------------------------------------------------------------

RefreshingJwksSource::RefreshingJwksSource(std::string name, JwksFetch fetch,
                                           std::vector<JwsAlg> allowed, JwksRefreshPolicy policy)
    : name_(std::move(name)),
      fetch_(std::move(fetch)),
      allowed_(std::move(allowed)),
      policy_(policy),
      retry_delay_(policy.retry_min) {
  started_ = 1;
  const bool ok = fetch_once({});
  ended_ = 1;
  next_due_ = schedule_after(ok, SteadyClock::now());
  if (!ok) {
    log::app().warn("JWKS of {}: no keys yet; its tokens are refused until a fetch succeeds",
                    name_);
  }
  thread_ = std::jthread([this](std::stop_token stop) { run(std::move(stop)); });
}

RefreshingJwksSource::~RefreshingJwksSource() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const KeySet> RefreshingJwksSource::keys() const {
  std::lock_guard lock(keys_mu_);
  return keys_;
}

std::uint64_t RefreshingJwksSource::fetches_started() const {
  std::lock_guard lock(mu_);
  return started_;
}

std::shared_ptr<const KeySet> RefreshingJwksSource::keys_for_unknown_kid(const KeySet* seen) {
  std::unique_lock lock(mu_);
  auto newer = [&]() -> std::shared_ptr<const KeySet> {
    auto current = keys();
    return current && current.get() != seen ? current : nullptr;
  };
  if (auto current = newer()) return current;  // another fetch already brought new keys
  if (stopped_) return nullptr;
  const auto now = SteadyClock::now();
  if (ended_ >= refetch_target_) {  // no unknown-kid refetch pending: may this call ask for one?
    if (last_unknown_kid_refetch_ &&
        now - *last_unknown_kid_refetch_ < policy_.unknown_kid_interval) {
      return nullptr;
    }
    last_unknown_kid_refetch_ = now;
    refetch_target_ = started_ + 1;  // the next fetch to start begins after this request
    wake_.notify_all();
  }
  const std::uint64_t target = refetch_target_;
  done_.wait_until(lock, now + policy_.unknown_kid_wait,
                   [&] { return ended_ >= target || stopped_; });
  return newer();
}

void RefreshingJwksSource::run(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    const bool wanted =
        wake_.wait_until(lock, stop, next_due_, [&] { return refetch_target_ > started_; });
    if (stop.stop_requested()) break;
    if (!wanted && SteadyClock::now() < next_due_) continue;
    ++started_;
    lock.unlock();
    const bool ok = fetch_once(stop);
    lock.lock();
    ++ended_;
    next_due_ = schedule_after(ok, SteadyClock::now());
    done_.notify_all();
  }
  stopped_ = true;
  done_.notify_all();
}

RefreshingJwksSource::SteadyClock::time_point RefreshingJwksSource::schedule_after(
    bool ok, SteadyClock::time_point now) {
  if (ok) {
    retry_delay_ = policy_.retry_min;
    return now + policy_.refresh_interval;
  }
  const auto delay = std::min(retry_delay_, policy_.refresh_interval);
  retry_delay_ = std::min(retry_delay_ * 2, policy_.retry_max);
  return now + delay;
}

bool RefreshingJwksSource::fetch_once(std::stop_token stop) {
  Result<std::string> text = fetch_(stop);
  if (stop.stop_requested()) return false;
  if (!text) {
    log::app().warn("JWKS of {}: fetch failed: {}", name_, text.error().detail);
    return false;
  }
  if (keys() && *text == document_) return true;
  std::vector<std::string> skipped;
  auto keys = parse_jwks(*text, allowed_, &skipped);
  if (!keys) {
    log::app().warn("JWKS of {} refused, keys unchanged: {}", name_, keys.error().detail);
    return false;
  }
  for (const std::string& why : skipped) log::app().warn("JWKS of {}: {}", name_, why);
  const std::size_t count = keys->keys().size();
  document_ = std::move(*text);
  auto fresh = std::make_shared<const KeySet>(std::move(*keys));
  {
    std::lock_guard lock(keys_mu_);
    keys_.swap(fresh);
  }  // the old set is freed here, outside the lock, when no reader holds it
  log::app().info("JWKS of {}: {} key{} loaded", name_, count, count == 1 ? "" : "s");
  return true;
}

// ---- open_jwks_source -------------------------------------------------------------------------

Result<std::shared_ptr<JwksSource>> open_jwks_source(const TrustedIssuer& issuer,
                                                     const AuthConfig& auth,
                                                     std::span<const JwsAlg> allowed) {
  if (!issuer.jwks_file.empty()) {
    COFFER_TRY(std::shared_ptr<StaticJwksSource> source, load_jwks_file(issuer.jwks_file, allowed));
    return std::shared_ptr<JwksSource>(std::move(source));
  }
  HttpsGetOptions options;
  options.ca_file = auth.jwks_ca_file;
  COFFER_TRY_VOID(check_https_get(issuer.jwks_url, options));
  JwksRefreshPolicy policy;
  policy.refresh_interval = auth.jwks_refresh;
  policy.unknown_kid_interval = auth.jwks_refresh;
  policy.unknown_kid_wait = options.timeout;
  JwksFetch fetch = [url = issuer.jwks_url, options](std::stop_token stop) {
    return https_get(url, options, std::move(stop));
  };
  return std::shared_ptr<JwksSource>(std::make_shared<RefreshingJwksSource>(
      issuer.issuer + " (" + issuer.jwks_url + ")", std::move(fetch),
      std::vector<JwsAlg>(allowed.begin(), allowed.end()), policy));
}

}  // namespace coffer::auth
