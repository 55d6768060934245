// The pure pieces every request goes through: token verification, the permission decision,
// SigV4 signing, path validation, and rendering a File as JSON.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "access/decide.h"
#include "api/render.h"
#include "auth/jwt_verifier.h"
#include "auth/signing_key.h"
#include "auth/token_authority.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/path.h"
#include "storage/s3/sigv4.h"

namespace coffer {
namespace {

auth::TokenAuthority& authority() {
  static SystemClock clock;
  static AuthConfig config = [] {
    AuthConfig c;
    c.jwt_secret = std::string(32, 'k');
    return c;
  }();
  static auth::TokenAuthority a(*auth::load_signing_key(config, "/nonexistent"), config, clock);
  return a;
}

// A token the server has not seen: signature (HS256), header, claims and times, all checked.
void BM_VerifyNewToken(benchmark::State& state) {
  SystemClock clock;
  auto& tokens = authority();
  const std::string token = *tokens.issue_user_token(
      "tenanttenanttenanttenant01", "useruseruseruseruser00001", std::chrono::hours(1));
  AuthConfig config;
  config.jwt_secret = std::string(32, 'k');
  auto verifier = auth::Verifier::make(auth::load_signing_key(config, "/nonexistent")->verify_keys,
                                       auth::VerifierConfig{});
  for (auto _ : state) {
    auto claims = verifier->verify(token, clock.now());
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_VerifyNewToken);

// What every request of a client pays after its first: the token was verified before.
void BM_AuthenticateRepeatedToken(benchmark::State& state) {
  auto& tokens = authority();
  const std::string header =
      "Bearer " + *tokens.issue_user_token("tenanttenanttenanttenant01",
                                           "useruseruseruseruser00001", std::chrono::hours(1));
  for (auto _ : state) {
    auto subject = tokens.authenticate(header);
    benchmark::DoNotOptimize(subject);
  }
}
BENCHMARK(BM_AuthenticateRepeatedToken);

void BM_Decide(benchmark::State& state) {
  const access::Principal who{"tenant-a", "user-1", access::TenantRole::kEditor};
  const access::FileFacts file{"tenant-a", "user-2", access::FileRole::kViewer,
                               access::FileRole::kEditor};
  for (auto _ : state) {
    benchmark::DoNotOptimize(access::decide(who, access::FileAction::kOverwrite, file));
  }
}
BENCHMARK(BM_Decide);

void BM_SigV4SignHeaders(benchmark::State& state) {
  s3::SigningKeyCache cache;
  s3::SigningParams params;
  params.creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  params.region = "us-east-1";
  params.time = from_unix_seconds(1'800'000'000);
  s3::RequestToSign request;
  request.method = "GET";
  request.path =
      "/bucket/" + s3::uri_encode("tenanttenanttenanttenant01/objectobjectobjectobject", false);
  request.headers = {{"Host", "127.0.0.1:7480"}, {"Range", "bytes=0-1023"}};
  request.payload_hash = std::string(s3::kUnsignedPayload);
  for (auto _ : state) {
    auto signed_request = s3::sign_with_headers(request, params, &cache);
    benchmark::DoNotOptimize(signed_request);
  }
}
BENCHMARK(BM_SigV4SignHeaders);

void BM_SigV4Presign(benchmark::State& state) {
  s3::SigningKeyCache cache;
  s3::SigningParams params;
  params.creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  params.region = "us-east-1";
  params.time = from_unix_seconds(1'800'000'000);
  s3::RequestToSign request;
  request.method = "GET";
  request.path = "/bucket/tenanttenanttenanttenant01/objectobjectobjectobject";
  request.headers = {{"Host", "127.0.0.1:7480"}};
  request.payload_hash = std::string(s3::kUnsignedPayload);
  for (auto _ : state) {
    auto url = s3::presign(request, params, std::chrono::seconds(900), &cache);
    benchmark::DoNotOptimize(url);
  }
}
BENCHMARK(BM_SigV4Presign);

void BM_ValidatePath(benchmark::State& state) {
  const std::string path = "reports/2026/q1/\xF0\x9F\x93\x88 revenue by region (final).pdf";
  for (auto _ : state) {
    auto p = FilePath::parse(path);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_ValidatePath);

void BM_RenderFileJson(benchmark::State& state) {
  meta::FileRecord f;
  f.id = "i5x3fuaeyqvwgjoaopd5mr6nhm";
  f.tenant_id = "yfqef5nu34ljq2rbgwiglunmea";
  f.path = "reports/2026/q1.pdf";
  f.size = 1048576;
  f.content_type = "application/pdf";
  f.sha256 = std::string(64, 'a');
  f.object_key = "yfqef5nu34ljq2rbgwiglunmea/m6gpg4c4yarw3eig6fuk4rybiq";
  f.version = 3;
  f.owner_id = "dzwtbj7xyjjxnlrvcewqjzwegq";
  f.created_at = from_unix_seconds(1'790'000'000);
  f.updated_at = from_unix_seconds(1'790'000'500);
  for (auto _ : state) {
    std::string body = api::render_file(f, access::FileRole::kAdmin).text;
    benchmark::DoNotOptimize(body);
  }
}
BENCHMARK(BM_RenderFileJson);

}  // namespace
}  // namespace coffer
