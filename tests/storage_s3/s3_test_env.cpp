#include "s3_test_env.h"

#include <strings.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crypto.h"
#include "core/encoding.h"

namespace coffer::storage::testing {
namespace {

std::string required(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) +
                             " is not set: run the s3 tests with ctest (label s3), whose fixture "
                             "starts Ceph RGW and sets it");
  }
  return value;
}

}  // namespace

const S3TestEnv& s3_test_env() {
  static const S3TestEnv env = [] {
    S3TestEnv e;
    e.endpoint = required("COFFER_TEST_S3_ENDPOINT");
    e.bucket = required("COFFER_TEST_S3_BUCKET");
    e.access_key_id = required("AWS_ACCESS_KEY_ID");
    e.secret_access_key = required("AWS_SECRET_ACCESS_KEY");
    const char* region = std::getenv("AWS_REGION");
    e.region = region && *region ? region : "us-east-1";
    return e;
  }();
  return env;
}

S3Config s3_test_config() {
  const S3TestEnv& env = s3_test_env();
  S3Config c;
  c.access_key_id = env.access_key_id;
  c.secret_access_key = env.secret_access_key;
  c.region = env.region;
  c.endpoint_url = env.endpoint;
  c.path_style = true;
  c.part_size = 5 * 1024 * 1024;
  c.parts_in_flight = 2;
  c.max_connections = 16;
  c.connect_timeout = std::chrono::seconds(2);
  c.request_timeout = std::chrono::seconds(10);
  c.max_attempts = 3;
  return c;
}

S3Config virtual_hosted_config() {
  S3Config c = s3_test_config();
  // Same server, by name: RGW's `rgw dns name = localhost` serves <bucket>.localhost.
  const std::string& ep = c.endpoint_url;
  const auto host_start = ep.find("://") + 3;
  const auto port_start = ep.find(':', host_start);
  c.endpoint_url = ep.substr(0, host_start) + "localhost" + ep.substr(port_start);
  c.path_style = false;
  return c;
}

std::string fresh_key_prefix() { return "coffer-test/" + hex_encode(random_bytes(8)) + "/"; }

S3Backend::S3Backend(S3Config config) : ca_file_(config.ca_file) {
  store_ = std::make_unique<S3ObjectStore>(config,
                                           S3StorageUrl{s3_test_env().bucket, fresh_key_prefix()});
  auto reachable = store_->check();
  if (!reachable) {
    throw std::runtime_error("Ceph RGW at " + config.endpoint_url +
                             " does not answer: " + reachable.error().detail);
  }
}

S3Backend::~S3Backend() {
  // Best effort: the prefix is fresh, so anything left is this test's own.
  auto& client = store_->client();
  (void)client.abort_incomplete_uploads(store_->key_prefix(), SystemTime::max());
  for (int pages = 0; pages < 100; ++pages) {
    s3::ListObjectsRequest request;
    request.prefix = store_->key_prefix();
    auto page = client.list_objects_v2(request);
    if (!page || page->objects.empty()) break;
    std::vector<std::string> keys;
    for (const auto& o : page->objects) keys.push_back(o.key);
    if (!client.delete_objects(keys)) break;
  }
}

Result<std::string> S3Backend::put_part(const PresignedUrl& url, std::string_view body) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("coffer-s3-part-" + hex_encode(random_bytes(8)));
  fs::create_directories(dir);
  const fs::path body_file = dir / "body";
  const fs::path head_file = dir / "headers";
  {
    std::ofstream out(body_file, std::ios::binary);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  std::string command = "curl -sS -X PUT --data-binary @" + shell_quote(body_file.string()) +
                        " -D " + shell_quote(head_file.string()) +
                        " -o /dev/null -w '%{http_code}' -H 'Content-Type:'";
  if (!ca_file_.empty()) command += " --cacert " + shell_quote(ca_file_);
  for (const auto& [name, value] : url.headers) {
    if (name == "Content-Length") continue;  // curl sets it from the body
    command += " -H " + shell_quote(name + ": " + value);
  }
  command += " " + shell_quote(url.url);
  auto r = run_command(command);
  std::string headers;
  {
    std::ifstream in(head_file, std::ios::binary);
    headers.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (r.status != 0) return Error::Internal("curl failed: " + std::to_string(r.status));
  const int status = std::atoi(r.out.c_str());
  switch (status) {
    case 200: break;
    case 400: return Error::BadRequest("400 from the store");
    case 403: return Error::Forbidden("403 from the store");
    case 404: return Error::NotFound("404 from the store");
    case 409: return Error::Conflict("409 from the store");
    default: return Error::Internal("status " + std::to_string(status) + " from the store");
  }
  // The ETag header, case-insensitively.
  std::istringstream lines(headers);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 5 && strncasecmp(line.c_str(), "etag:", 5) == 0) {
      std::string value = line.substr(5);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
      return value;
    }
  }
  return Error::Internal("200 without an ETag");
}

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[65536];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

}  // namespace coffer::storage::testing
