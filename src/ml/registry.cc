#include "ml/registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/file.h"
#include "core/time.h"

namespace opspilot::ml {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void FsyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

bool IsVersion(const std::string& n) {
  return n.size() == 5 && n[0] == 'v' && std::all_of(n.begin() + 1, n.end(), ::isdigit);
}

std::string VersionName(int v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "v%04d", v);
  return buf;
}

}  // namespace

Status ValidateTaskName(const std::string& t) {
  if (t.empty() || t.size() > 64) return InvalidArgument("task name must be 1 to 64 characters");
  for (char c : t) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':' || c == '.')) {
      return InvalidArgument("task name '" + t + "' may hold only a-z, 0-9, _ - : .");
    }
  }
  if (t == "." || t == "..") return InvalidArgument("bad task name");
  return Status::Ok();
}

ModelRegistry::ModelRegistry(std::string root) : root_(std::move(root)) {}

std::string ModelRegistry::TaskDir(const std::string& task) const { return (fs::path(root_) / task).string(); }

StatusOr<ModelInfo> ModelRegistry::Register(const Context& ctx, const std::string& task, json metadata,
                                            const std::function<Status(const std::string& dir)>& write) {
  RETURN_IF_ERROR(ValidateTaskName(task));
  const fs::path tdir = TaskDir(task);
  std::error_code ec;
  fs::create_directories(tdir, ec);
  if (ec) return FailedPrecondition("cannot create " + tdir.string() + ": " + ec.message());
  std::mt19937_64 rng(static_cast<uint64_t>(ctx.clock().MonotonicMicros()) ^ static_cast<uint64_t>(::getpid()));
  const fs::path staging = tdir / (".staging-" + std::to_string(rng() % 1000000000));
  fs::create_directories(staging, ec);
  if (ec) return FailedPrecondition("cannot create " + staging.string());
  Status st = write(staging.string());
  if (st.ok()) {
    metadata["task"] = task;
    metadata["created_at"] = FormatTimestamp(ctx.clock().NowUnix());
    metadata["code_version"] = kCodeVersion;
    st = WriteFileAtomic((staging / "metadata.json").string(), metadata.dump(2));
  }
  if (!st.ok()) {
    fs::remove_all(staging, ec);
    return st;
  }
  FsyncDir(staging);
  // Take the next free version number; rename fails if another writer won it.
  ASSIGN_OR_RETURN(auto existing, List(task));
  int next = 1;
  for (const auto& m : existing) next = std::max(next, std::stoi(m.version.substr(1)) + 1);
  std::string version;
  for (int attempt = 0; attempt < 100; ++attempt, ++next) {
    version = VersionName(next);
    if (::rename(staging.c_str(), (tdir / version).c_str()) == 0 && !fs::exists(staging)) break;
    version.clear();
  }
  if (version.empty()) {
    fs::remove_all(staging, ec);
    return Unavailable("could not allocate a version for " + task);
  }
  FsyncDir(tdir);
  ASSIGN_OR_RETURN(auto history, History(task));
  if (history.empty()) RETURN_IF_ERROR(Promote(task, version));
  return Show(task, version);
}

StatusOr<std::vector<std::string>> ModelRegistry::Tasks() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::vector<ModelInfo>> ModelRegistry::List(const std::string& task) const {
  RETURN_IF_ERROR(ValidateTaskName(task));
  std::vector<ModelInfo> out;
  std::error_code ec;
  if (!fs::exists(TaskDir(task), ec)) return out;
  std::vector<std::string> versions;
  for (const auto& e : fs::directory_iterator(TaskDir(task), ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && IsVersion(n)) versions.push_back(n);
  }
  std::sort(versions.begin(), versions.end());
  for (const auto& v : versions) {
    ASSIGN_OR_RETURN(ModelInfo m, Show(task, v));
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<ModelInfo> ModelRegistry::Show(const std::string& task, const std::string& version) const {
  RETURN_IF_ERROR(ValidateTaskName(task));
  if (!IsVersion(version)) return InvalidArgument("version must look like v0001, got '" + version + "'");
  ModelInfo m;
  m.task = task;
  m.version = version;
  m.dir = (fs::path(TaskDir(task)) / version).string();
  std::ifstream in(fs::path(m.dir) / "metadata.json");
  if (!in) return NotFound("no model " + task + "/" + version);
  m.metadata = json::parse(in, nullptr, false);
  if (m.metadata.is_discarded()) return Internal(m.dir + "/metadata.json is corrupt");
  ASSIGN_OR_RETURN(auto history, History(task));
  m.serving = !history.empty() && history.back() == version;
  return m;
}

StatusOr<ModelInfo> ModelRegistry::Serving(const std::string& task) const {
  ASSIGN_OR_RETURN(auto history, History(task));
  if (history.empty()) return NotFound("no model serves task '" + task + "'");
  return Show(task, history.back());
}

StatusOr<std::vector<std::string>> ModelRegistry::History(const std::string& task) const {
  std::vector<std::string> out;
  std::ifstream in(fs::path(TaskDir(task)) / "SERVING");
  std::string line;
  while (std::getline(in, line)) {
    if (IsVersion(line)) out.push_back(line);
  }
  return out;
}

Status ModelRegistry::WriteHistory(const std::string& task, const std::vector<std::string>& history) {
  std::string content;
  for (const auto& v : history) content += v + "\n";
  return WriteFileAtomic((fs::path(TaskDir(task)) / "SERVING").string(), content);
}

Status ModelRegistry::Promote(const std::string& task, const std::string& version) {
  ASSIGN_OR_RETURN(ModelInfo m, Show(task, version));
  ASSIGN_OR_RETURN(auto history, History(task));
  if (!history.empty() && history.back() == version) return Status::Ok();
  history.push_back(version);
  return WriteHistory(task, history);
}

StatusOr<std::string> ModelRegistry::Rollback(const std::string& task) {
  ASSIGN_OR_RETURN(auto history, History(task));
  // Drop the current version and any earlier entries that no longer exist.
  if (!history.empty()) history.pop_back();
  while (!history.empty() && !fs::exists(fs::path(TaskDir(task)) / history.back() / "metadata.json")) {
    history.pop_back();
  }
  if (history.empty()) return FailedPrecondition("nothing to roll back to for task '" + task + "'");
  RETURN_IF_ERROR(WriteHistory(task, history));
  return history.back();
}

Status ModelRegistry::Delete(const std::string& task, const std::string& version) {
  ASSIGN_OR_RETURN(ModelInfo m, Show(task, version));
  if (m.serving) return FailedPrecondition(task + "/" + version + " is serving; promote another version first");
  std::error_code ec;
  fs::remove_all(m.dir, ec);
  if (ec) return Internal("cannot delete " + m.dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace opspilot::ml
