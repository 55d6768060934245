// Throughput against the test RGW, for the record rather than as a gate (DISABLED_: run with
// --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'). Compares Coffer's client with
// curl on presigned URLs for the same object, and reports the peak RSS the transfers added.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/crypto.h"
#include "core/encoding.h"
#include "s3_test_env.h"

namespace coffer::storage::testing {
namespace {

using namespace std::chrono_literals;
constexpr std::size_t kMiB = 1024 * 1024;

// `size` bytes cycled from a 1 MiB block: costs a memcpy, no memory of its own.
class GeneratedSource final : public ByteSource {
 public:
  explicit GeneratedSource(std::uint64_t size) : block_(kMiB, '\0'), left_(size) {
    for (std::size_t i = 0; i < block_.size(); ++i) block_[i] = static_cast<char>(i * 131 + i / 7);
  }
  Result<std::size_t> read(std::span<char> out) override {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left_));
    for (std::size_t done = 0; done < n;) {
      const std::size_t at = static_cast<std::size_t>(offset_ % block_.size());
      const std::size_t m = std::min(n - done, block_.size() - at);
      std::memcpy(out.data() + done, block_.data() + at, m);
      done += m;
      offset_ += m;
    }
    left_ -= n;
    return n;
  }

 private:
  std::string block_;
  std::uint64_t left_;
  std::uint64_t offset_ = 0;
};

long rss_hwm_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void reset_hwm() { std::ofstream("/proc/self/clear_refs") << "5"; }

double seconds_of(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(S3Throughput, DISABLED_PutAndGetVersusCurlOnPresignedUrls) {
  const std::uint64_t size = 256 * kMiB;
  S3Backend backend;
  S3ObjectStore& store = backend.s3_store();
  const double mib = static_cast<double>(size) / kMiB;

  struct Row {
    std::string what;
    double seconds;
    long rss_added_kib;
  };
  std::vector<Row> rows;
  auto measure = [&](const std::string& what, auto&& f) {
    reset_hwm();
    const long before = rss_hwm_kib();
    const auto start = std::chrono::steady_clock::now();
    f();
    rows.push_back(
        {what, seconds_of(std::chrono::steady_clock::now() - start), rss_hwm_kib() - before});
  };

  for (int round = 0; round < 2; ++round) {
    measure("coffer put, size known (streaming PUT, sha256)", [&] {
      GeneratedSource source(size);
      PutOptions options;
      options.size = size;
      store.client().set_multipart_threshold(UINT64_MAX);
      auto put = store.put("bench/streamed", source, options);
      ASSERT_TRUE(put.has_value()) << put.error().detail;
    });
    measure("coffer put, size unknown (multipart: 5 MiB parts, 2 in flight, sha256)", [&] {
      GeneratedSource source(size);
      auto put = store.put("bench/multipart", source, PutOptions{});
      ASSERT_TRUE(put.has_value()) << put.error().detail;
    });
    measure("coffer get (1 MiB reads, no hashing)", [&] {
      auto reader = store.get("bench/streamed", std::nullopt);
      ASSERT_TRUE(reader.has_value());
      std::vector<char> buffer(kMiB);
      std::uint64_t total = 0;
      for (;;) {
        auto n = (*reader)->read(buffer);
        ASSERT_TRUE(n.has_value()) << n.error().detail;
        if (*n == 0) break;
        total += *n;
      }
      ASSERT_EQ(total, size);
    });

    const auto file = std::filesystem::temp_directory_path() / "coffer-s3-bench.bin";
    {
      std::ofstream out(file, std::ios::binary);
      GeneratedSource source(size);
      std::vector<char> buffer(kMiB);
      for (;;) {
        auto n = source.read(buffer);
        if (*n == 0) break;
        out.write(buffer.data(), static_cast<std::streamsize>(*n));
      }
    }
    PresignRequest put_request;
    put_request.method = PresignMethod::kPut;
    put_request.key = "bench/curl";
    put_request.now = std::chrono::system_clock::now();
    put_request.content_length = size;
    auto put_url = store.presign(put_request);
    ASSERT_TRUE(put_url.has_value());
    measure("curl PUT on a presigned URL (from a file)", [&] {
      auto r = run_command("curl -sS -o /dev/null -w '%{http_code}' -X PUT --data-binary @" +
                           shell_quote(file.string()) + " " + shell_quote(put_url->url));
      ASSERT_EQ(r.out, "200");
    });
    PresignRequest get_request;
    get_request.key = "bench/curl";
    get_request.now = std::chrono::system_clock::now();
    auto get_url = store.presign(get_request);
    measure("curl GET on a presigned URL (to /dev/null)", [&] {
      auto r = run_command("curl -sS -o /dev/null -w '%{http_code}' " + shell_quote(get_url->url));
      ASSERT_EQ(r.out, "200");
    });
    std::filesystem::remove(file);
  }
  std::printf("\n%-58s %8s %9s %12s\n", "256 MiB", "seconds", "MiB/s", "+RSS KiB");
  for (const auto& r : rows) {
    std::printf("%-58s %8.2f %9.1f %12ld\n", r.what.c_str(), r.seconds, mib / r.seconds,
                r.rss_added_kib);
  }
}

}  // namespace
}  // namespace coffer::storage::testing
