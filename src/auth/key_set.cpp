#include "auth/key_set.h"

#include <algorithm>
#include <map>
#include <utility>

namespace coffer::auth {
namespace {

Error unfit(std::string detail) {
  return Error{ErrorCode::kBadRequest, "invalid key", std::move(detail)};
}

std::string describe(const Jwk& key) {
  return key.kid().empty() ? std::string("key without kid") : "key " + key.kid();
}

}  // namespace

Result<BoundKey> BoundKey::make(Jwk key, JwsAlg alg, std::optional<std::string> kid) {
  const std::string_view alg_name = jws_alg_name(alg);
  if (!key.use().empty() && key.use() != "sig") {
    return unfit(describe(key) + " has use " + key.use() + ", not sig");
  }
  if (key.key_ops() &&
      std::find(key.key_ops()->begin(), key.key_ops()->end(), "verify") == key.key_ops()->end()) {
    return unfit(describe(key) + " has key_ops without verify");
  }
  if (!key.alg().empty() && key.alg() != alg_name) {
    return unfit(describe(key) + " is for alg " + key.alg() + ", not " + std::string(alg_name));
  }
  if (auto fit = check_key_for_alg(key, alg); !fit) {
    return unfit(describe(key) + ": " + fit.error().detail);
  }
  std::string id = kid ? std::move(*kid) : key.kid();
  return BoundKey(std::move(key), alg, std::move(id));
}

Result<KeySet> KeySet::make(std::vector<BoundKey> keys) {
  if (keys.empty()) return unfit("key set: no usable key");
  std::vector<std::string_view> kids;
  for (const BoundKey& k : keys) {
    if (!k.kid().empty()) kids.push_back(k.kid());
  }
  std::sort(kids.begin(), kids.end());
  if (auto dup = std::adjacent_find(kids.begin(), kids.end()); dup != kids.end()) {
    return unfit("key set has two keys with kid " + std::string(*dup));
  }
  return KeySet(std::move(keys));
}

Result<KeySet> KeySet::from_jwks(const JwkSet& jwks, std::span<const JwsAlg> allowed,
                                 std::vector<std::string>* skipped) {
  auto skip = [&](std::string why) {
    if (skipped != nullptr) skipped->push_back(std::move(why));
  };

  bool any_symmetric = false;
  bool any_public = false;
  bool any_private = false;
  for (const Jwk& key : jwks.keys()) {
    if (key.is_symmetric()) {
      any_symmetric = true;
    } else if (key.has_secret()) {
      any_private = true;
    } else {
      any_public = true;
    }
  }
  if (any_symmetric && (any_public || any_private)) {
    return unfit("JWKS mixes symmetric and asymmetric keys");
  }
  if (any_public && any_private) return unfit("JWKS mixes public and private keys");

  std::map<std::string_view, int> kid_count;
  for (const Jwk& key : jwks.keys()) {
    if (!key.kid().empty()) ++kid_count[key.kid()];
  }
  for (const JwkSet::Rejected& r : jwks.rejected()) {
    if (!r.kid.empty()) ++kid_count[r.kid];
    skip((r.kid.empty() ? std::string("key without kid") : "key " + r.kid) + ": " + r.reason);
  }

  std::vector<BoundKey> bound;
  for (const Jwk& key : jwks.keys()) {
    if (!key.kid().empty() && kid_count[key.kid()] > 1) {
      skip(describe(key) + ": kid shared with another key of the set");
      continue;
    }
    std::optional<JwsAlg> alg;
    if (!key.alg().empty()) {
      alg = jws_alg_from_name(key.alg());
      if (!alg || std::find(allowed.begin(), allowed.end(), *alg) == allowed.end()) {
        skip(describe(key) + ": alg " + key.alg() + " is not an allowed JWS algorithm");
        continue;
      }
    } else {
      int fitting = 0;
      for (JwsAlg candidate : allowed) {
        if (check_key_for_alg(key, candidate)) {
          alg = candidate;
          ++fitting;
        }
      }
      if (fitting != 1) {
        skip(describe(key) + (fitting == 0 ? ": fits no allowed algorithm"
                                           : ": has no alg and fits several allowed ones"));
        continue;
      }
    }
    Result<BoundKey> b = BoundKey::make(key, *alg);
    if (!b) {
      skip(b.error().detail);
      continue;
    }
    bound.push_back(std::move(*b));
  }
  return make(std::move(bound));
}

Result<VerifiedJws> verify_compact(std::string_view token, const KeySet& keys) {
  COFFER_TRY(JwsParts parts, parse_compact(token));
  const std::string_view signing_input = token.substr(0, parts.signing_input_size);
  if (parts.kid) {
    const auto& all = keys.keys();
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const BoundKey& k) { return k.kid() == *parts.kid; });
    if (it == all.end()) return Error::Unauthenticated("unknown kid");
    if (parts.alg != jws_alg_name(it->alg())) {
      return Error::Unauthenticated("alg " + parts.alg + " not allowed for kid " + it->kid() +
                                    " (pinned to " + std::string(jws_alg_name(it->alg())) + ")");
    }
    COFFER_TRY_VOID(verify_signature(it->alg(), it->key(), signing_input, parts.signature));
    return VerifiedJws{std::move(parts), &*it};
  }
  // No kid: any key pinned to the header's algorithm may have signed it.
  bool any_for_alg = false;
  for (const BoundKey& k : keys.keys()) {
    if (parts.alg != jws_alg_name(k.alg())) continue;
    any_for_alg = true;
    if (verify_signature(k.alg(), k.key(), signing_input, parts.signature)) {
      return VerifiedJws{std::move(parts), &k};
    }
  }
  if (!any_for_alg) return Error::Unauthenticated("alg " + parts.alg + " not allowed");
  return Error::Unauthenticated("signature does not verify");
}

}  // namespace coffer::auth
