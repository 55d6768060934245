#include "core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/json_writer.h"

namespace coffer::log {
namespace {

std::atomic<bool> g_json{false};

std::string timestamp(spdlog::log_clock::time_point tp) {
  auto t = spdlog::log_clock::to_time_t(tp);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// {"time":..., "level":..., "msg": <escaped message>} for the application logger; for the access
// logger the message already is the object's members.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(bool raw_fields) : raw_fields_(raw_fields) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"" + timestamp(msg.time) + "\",\"level\":\"" +
                       std::string(spdlog::level::to_string_view(msg.level).data(),
                                   spdlog::level::to_string_view(msg.level).size()) +
                       "\",";
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (raw_fields_) {
      line += "\"type\":\"access\",";
      line += payload;
    } else {
      line += "\"msg\":\"" + json_escape(payload) + "\"";
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(raw_fields_);
  }

 private:
  bool raw_fields_;
};

std::shared_ptr<spdlog::logger> make_logger(const std::string& name) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return std::make_shared<spdlog::logger>(name, sink);
}

// Access lines are many and small: they are gathered and written together (at 64 KiB, every
// 100 ms, and at shutdown), so a request costs no write(2) of its own. The application logger
// still writes each line as it comes.
class BatchedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    buffer_.append(formatted.data(), formatted.size());
    if (buffer_.size() >= kBatchBytes) flush_();
  }

  void flush_() override {
    std::size_t done = 0;
    while (done < buffer_.size()) {
      ssize_t n = ::write(STDERR_FILENO, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr is gone: the lines are dropped, the server goes on
      done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  std::string buffer_;
};

// Flushes the access log every 100 ms until stopped.
class PeriodicFlush {
 public:
  explicit PeriodicFlush(std::shared_ptr<spdlog::logger> logger)
      : thread_([this, logger = std::move(logger)](std::stop_token stop) {
          std::mutex mu;
          std::unique_lock lock(mu);
          while (!stop.stop_requested()) {
            wake_.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
            logger->flush();
          }
        }) {}

 private:
  std::condition_variable_any wake_;
  std::jthread thread_;
};

std::shared_ptr<spdlog::logger>& app_ptr() {
  static std::shared_ptr<spdlog::logger> l = make_logger("coffer");
  return l;
}
std::shared_ptr<spdlog::logger>& access_ptr() {
  static std::shared_ptr<spdlog::logger> l =
      std::make_shared<spdlog::logger>("access", std::make_shared<BatchedStderrSink>());
  return l;
}

std::unique_ptr<PeriodicFlush>& access_flusher() {
  static std::unique_ptr<PeriodicFlush> flusher;
  return flusher;
}

}  // namespace

void setup(const std::string& level, const std::string& format) {
  g_json = format == "json";
  auto lvl = spdlog::level::from_str(level);
  app_ptr()->set_level(lvl);
  access_ptr()->set_level(lvl == spdlog::level::off ? lvl : spdlog::level::info);
  if (g_json) {
    app_ptr()->set_formatter(std::make_unique<JsonFormatter>(false));
    access_ptr()->set_formatter(std::make_unique<JsonFormatter>(true));
  } else {
    app_ptr()->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    access_ptr()->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ access %v", spdlog::pattern_time_type::utc);
  }
  app_ptr()->flush_on(spdlog::level::warn);
  if (!access_flusher()) access_flusher() = std::make_unique<PeriodicFlush>(access_ptr());
}

void flush() {
  access_flusher().reset();
  access_ptr()->flush();
  app_ptr()->flush();
}

bool json_format() { return g_json; }

spdlog::logger& app() { return *app_ptr(); }

void access(std::string_view fields) { access_ptr()->info(fields); }

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  append_json_escaped(out, s);
  return out;
}

}  // namespace coffer::log
