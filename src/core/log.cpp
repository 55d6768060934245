#include "core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace coffer::log {
namespace {

std::atomic<bool> g_json{false};

std::string timestamp(spdlog::log_clock::time_point tp) {
  auto t = spdlog::log_clock::to_time_t(tp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
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
                                   spdlog::level::to_string_view(msg.level).size()) + "\",";
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

std::shared_ptr<spdlog::logger>& app_ptr() {
  static std::shared_ptr<spdlog::logger> l = make_logger("coffer");
  return l;
}
std::shared_ptr<spdlog::logger>& access_ptr() {
  static std::shared_ptr<spdlog::logger> l = make_logger("access");
  return l;
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
}

bool json_format() { return g_json; }

spdlog::logger& app() { return *app_ptr(); }

void access(std::string_view fields) { access_ptr()->info(fields); }

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace coffer::log
