#include "cli/app.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "auth/external_issuer.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "storage/fs/blob_signer.h"
#include "storage/fs/fs_object_store.h"
#include "storage/s3/s3_object_store.h"

namespace coffer::cli {
namespace {

std::string data_path(const Config& config, const std::string& name) {
  return (std::filesystem::path(config.data_dir) / name).string();
}

}  // namespace

std::optional<Config> load_configuration(const GlobalOptions& global) {
  std::string text;
  if (!global.config_file.empty()) {
    std::ifstream in(global.config_file);
    if (!in) {
      std::cerr << "coffer: configuration: cannot read " << global.config_file << "\n";
      return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto config = load_config(text, environment_map());
  if (!config) {
    std::cerr << "coffer: " << config.error().message << "\n";
    return std::nullopt;
  }
  log::setup(config->log_level, config->log_format);
  return std::move(*config);
}

Result<std::unique_ptr<meta::MetadataStore>> open_database(const Config& config) {
  std::string url = config.database_url;
  if (url.empty()) {
    url = "sqlite:" + data_path(config, "coffer.db");
  }
  COFFER_TRY(auto db, meta::open_metadata_store(url, config.db_pool_size));
  COFFER_TRY_VOID(db->migrate());
  return db;
}

Result<Storage> open_object_store(const Config& config) {
  std::string url = config.storage_url.empty() ? "file:" + data_path(config, "objects")
                                               : config.storage_url;
  if (url.rfind("file:", 0) == 0) {
    std::string dir = url.substr(5);
    if (dir.rfind("//", 0) == 0) dir = dir.substr(2);  // file:///abs → /abs
    COFFER_TRY(std::string key, load_or_create_secret(data_path(config, "blob.key"), 32));
    storage::BlobSigner signer(key, public_base_url(config, 0));
    try {
      Storage s;
      auto fs_store = std::make_unique<storage::FsObjectStore>(dir, signer);
      s.fs_store = fs_store.get();
      s.store = std::move(fs_store);
      s.blob_signer = std::move(signer);
      return s;
    } catch (const std::exception& e) {
      return Error::Internal(std::string("object store: ") + e.what());
    }
  }
  COFFER_TRY(storage::S3StorageUrl location, storage::parse_s3_storage_url(url));
  try {
    Storage s;
    s.store = std::make_unique<storage::S3ObjectStore>(config.s3, std::move(location));
    return s;
  } catch (const std::exception& e) {
    return Error::Internal(std::string("object store: ") + e.what());
  }
}

service::IncompleteUploadSweeper incomplete_upload_sweeper(storage::ObjectStore& store) {
  auto* s3 = dynamic_cast<storage::S3ObjectStore*>(&store);
  if (s3 == nullptr) return {};
  return [s3](SystemTime older_than) { return s3->abort_stale_uploads(older_than); };
}

Result<std::unique_ptr<auth::TokenAuthority>> make_token_authority(const Config& config,
                                                                  const Clock& clock,
                                                                  bool trust_external_issuers) {
  COFFER_TRY(auth::SigningKey key, auth::load_signing_key(config.auth, config.data_dir));
  auto authority = std::make_unique<auth::TokenAuthority>(std::move(key), config.auth, clock);
  if (!trust_external_issuers) return authority;
  std::set<std::string> seen;
  for (const TrustedIssuer& trusted : config.auth.issuers) {
    // Tokens are routed by their "iss": one issuer per name, and never Coffer's own.
    if (!seen.insert(trusted.issuer).second || trusted.issuer == config.auth.issuer) {
      return Error::BadRequest("trusted issuer " + trusted.issuer +
                               " is configured twice or is Coffer's own issuer");
    }
    COFFER_TRY(auto issuer, auth::make_external_issuer(trusted, config.auth));
    authority->add_external_issuer(std::move(issuer));
  }
  return authority;
}

std::string public_base_url(const Config& config, std::uint16_t bound_port) {
  if (!config.http.public_url.empty()) return config.http.public_url;
  std::string listen = config.http.listen;
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  std::string port = listen.substr(colon + 1);
  if (host == "0.0.0.0" || host == "::" || host == "[::]") host = "127.0.0.1";
  if (port == "0" && bound_port != 0) port = std::to_string(bound_port);
  return "http://" + host + ":" + port;
}

}  // namespace coffer::cli
