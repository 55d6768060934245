#include "service/collector.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "meta/sqlite/sqlite_store.h"
#include "storage/fs/fs_object_store.h"

namespace coffer::service {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const SystemTime kNow = from_unix_seconds(1'800'000'000);

// An empty migrated SQLite database and an empty directory store, removed at the end.
class CollectorTest : public ::testing::Test {
 protected:
  CollectorTest() : root_(make_temp_dir()), store_(root_ / "objects", signer()) {
    db_ = meta::sqlite::SqliteStore::open((root_ / "coffer.db").string(), {}).value();
    db_->migrate().value();
  }
  ~CollectorTest() override {
    db_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static fs::path make_temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "coffer-collector-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
  }
  static storage::BlobSigner signer() {
    return storage::BlobSigner(std::string(32, 's'), "http://127.0.0.1:8080");
  }

  fs::path root_;
  storage::FsObjectStore store_;
  std::unique_ptr<meta::sqlite::SqliteStore> db_;
  ManualClock clock_{kNow};
};

TEST_F(CollectorTest, SweepsIncompleteUploadsOlderThanTheUploadTtl) {
  std::vector<SystemTime> asked;
  CollectorOptions options;
  options.upload_ttl = 3600s;
  options.sweep_incomplete_uploads = [&](SystemTime older_than) -> Result<int> {
    asked.push_back(older_than);
    return 3;
  };
  Collector collector(*db_, store_, clock_, options);
  auto stats = collector.collect_due();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->stale_uploads, 3);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], kNow - 3600s);

  clock_.advance(10s);
  ASSERT_TRUE(collector.collect_due());
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1], kNow + 10s - 3600s);
}

TEST_F(CollectorTest, ASweeperFailureIsTheCollectionsFailure) {
  CollectorOptions options;
  options.sweep_incomplete_uploads = [](SystemTime) -> Result<int> {
    return Error{ErrorCode::kStorageUnavailable, "storage unavailable", "refused", 1};
  };
  Collector collector(*db_, store_, clock_, options);
  auto stats = collector.collect_due();
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::kStorageUnavailable);
}

TEST_F(CollectorTest, WithoutASweeperNothingIsSwept) {
  Collector collector(*db_, store_, clock_);
  auto stats = collector.collect_due();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->stale_uploads, 0);
}

}  // namespace
}  // namespace coffer::service
